// The quick first window (src/kernel/widget/quick-window.ts over src/core/library/index-peek.ts):
// with no first window kept beside the index, the session looks at the index itself before
// opening the library and answers the page's opening window from that look. Checked against the
// library's own answer on real index files (snapshot and journal) in several roots, with rows
// the store refuses, other layouts, a planted link, and through a session on the in-memory comm.
import { mkdirSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Library, ReadSnapshots, peekIndex, type ModelEntry } from '../src/core/library';
import { encodeEntry } from '../src/core/library/index-codec';
import { INDEX_FORMAT } from '../src/core/library/index-store';
import type { GridCard, GridQuery } from '../src/kernel/protocol';
import { ModelSession } from '../src/kernel/widget';
import { CardTracker, gridCardOf } from '../src/kernel/widget/cards';
import { FIRST_WINDOW_CARDS, firstWindowOf } from '../src/kernel/widget/first-window';
import { DEFAULT_GRID_QUERY, QueryIndex } from '../src/kernel/widget/query';
import { quickFirstWindow } from '../src/kernel/widget/quick-window';
import { summaryCountsOf } from '../src/kernel/widget/state';
import { MemoryFrontEnd } from './helpers/memory-comm';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-quick-window-');
let serial = 0;
const WORDS = ['aurora', 'brush', 'cyber', 'dune', 'ember', 'frost', 'glow'];

/** A varied entry: found (named by Civitai), not found or never looked up; unverified, with warnings, a manual link, an error. */
function entryOf(i: number, over: Partial<ModelEntry> = {}): ModelEntry {
  const sha = i.toString(16).toUpperCase().padStart(64, 'A');
  const word = WORDS[i % WORDS.length];
  const kind = (['lora', 'checkpoint', 'embedding', 'vae'] as const)[i % 4];
  const found = i % 3 === 0;
  return {
    path: `models/${kind}/${word}-${i}.safetensors`,
    size: 1000 + i,
    mtimeMs: 1_700_000_000_000 + i,
    fingerprint: `${1000 + i}:${sha.slice(0, 24).toLowerCase()}`,
    hashes: { SHA256: sha, AutoV1: sha.slice(0, 8), AutoV2: sha.slice(0, 10) },
    hashSources: { SHA256: 'computed', AutoV1: 'computed', AutoV2: 'computed' },
    verified: i % 7 !== 0,
    kind,
    baseModel: (['sdxl', 'sd1', 'pony', 'flux', 'unknown'] as const)[i % 5],
    evidence: [],
    conflicts: [],
    civitai: found
      ? {
          status: 'found',
          checkedAt: 1_700_000_000_000,
          // Digit runs of several lengths (the name key pads them) and repeated names (the id breaks ties).
          link: { modelId: 10 + i, versionId: 1000 + i, modelName: `${word} ${i % 50}`, versionName: 'v1', type: 'LORA', baseModel: 'SDXL 1.0', trainedWords: [], nsfwLevel: 1, pageUrl: `https://civitai.com/models/${10 + i}`, matchedBy: 'SHA256' },
        }
      : i % 3 === 1
        ? { status: 'not_found', checkedAt: 1_700_000_000_000, ...(i % 11 === 0 ? { lastError: { code: 'http_500', message: 'Civitai failed', at: 1 } } : {}) }
        : { status: 'unknown' },
    addedAt: 1_700_000_000_000 + i,
    warnings: i % 13 === 0 ? ['a warning'] : [],
    ...(i % 17 === 0 ? { manual: { link: { input: 'civitai.com/models/1', modelId: 1, versionId: 2, at: 1 } } } : {}),
    ...over,
  };
}

/** A root whose index is this snapshot (rows as compact() writes them) and these journal lines. */
function writeIndex(rows: unknown[], journal: unknown[] = []): string {
  const root = join(tmp.path, `root-${++serial}`);
  mkdirSync(join(root, '.modeldeck'), { recursive: true });
  writeFileSync(join(root, '.modeldeck', 'index.json'), JSON.stringify({ format: INDEX_FORMAT, tool: 'modeldeck', savedAt: 1, rows }));
  if (journal.length) writeFileSync(join(root, '.modeldeck', 'journal.jsonl'), journal.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return root;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/** The library's own opening window: loaded, tracked and queried as a session does. */
async function libraryWindow(roots: string[]) {
  const lib = await Library.open(roots, { civitai: false });
  try {
    const tracker = new CardTracker();
    tracker.update(lib.entries(), lib.roots);
    const index = new QueryIndex();
    index.reset(tracker.takeAll());
    const w = firstWindowOf(DEFAULT_GRID_QUERY, index, tracker, summaryCountsOf(tracker.all()))!;
    return { cards: w.sources.map(gridCardOf), total: w.total, facets: w.facets, counts: w.counts };
  } finally {
    await lib.close();
  }
}

const ask = (offset: number, limit: number, query: GridQuery = DEFAULT_GRID_QUERY) => ({ type: 'window' as const, requestId: 'r', query, offset, limit, seq: 1 });

describe('the quick first window', () => {
  test('is the library\'s own opening window: two roots, more rows than it keeps, the journal replacing and removing rows', async () => {
    const a = writeIndex(range(0, 700).map((i) => encodeEntry(entryOf(i))), [
      // A new name that sorts first, a removed row that would have been first, a row put twice (the last counts), a damaged line.
      { put: entryOf(5, { civitai: { status: 'found', link: { ...entryOf(0).civitai.link!, modelName: '0 first of all' } } }) },
      { del: entryOf(0).path },
      { put: entryOf(701) },
      { put: entryOf(701, { size: 5 }) },
    ]);
    const b = writeIndex(range(1000, 1400).map((i) => encodeEntry(entryOf(i))));
    const own = await libraryWindow([a, b]);
    expect(own.total).toBe(1100);
    const quick = await quickFirstWindow([a, b]);
    expect(quick).not.toBeNull();
    const answer = quick!.answer(ask(0, FIRST_WINDOW_CARDS))!;
    expect(answer.cards.map((c: GridCard) => c.id)).toEqual(own.cards.map((c) => c.id));
    expect(answer.cards).toEqual(own.cards);
    expect(answer.cards[0].civitai.modelName).toBe('0 first of all');
    expect({ total: answer.total, library: answer.library, facets: answer.facets }).toEqual({ total: own.total, library: own.total, facets: own.facets });
    expect(quick!.counts).toEqual(own.counts);
    // Rows past the window, and any other query, are the library's to answer.
    expect(quick!.answer(ask(FIRST_WINDOW_CARDS, 60))).toBeNull();
    expect(quick!.answer(ask(0, 60, { ...DEFAULT_GRID_QUERY, search: 'aurora' }))).toBeNull();
  });

  test('never shows a row the store refuses (a path leaving the root, a bad hash), and takes the next ones instead', async () => {
    const rows: unknown[] = range(0, 600).map((i) => encodeEntry(entryOf(i)));
    // Both would sort first by name.
    rows.push(encodeEntry(entryOf(900, { path: '../../outside/000.safetensors', civitai: { status: 'unknown' } })));
    rows.push(encodeEntry(entryOf(901, { path: 'models/lora/000 bad hash.safetensors', civitai: { status: 'unknown' }, hashes: { SHA256: 'not hex' } })));
    // Not even a row (an array too short: a row that is no array at all is another layout, tested below).
    rows.push(['models/lora/short.safetensors', 1]);
    // Sizes that are no byte count are not counted either (the summary's bytes must stay a number).
    for (const size of [-1, 'many', 1e300]) rows.push(encodeEntry(entryOf(902, { path: `models/lora/size-${size}.safetensors`, size: size as number })));
    const root = writeIndex(rows);
    const own = await libraryWindow([root]);
    const answer = (await quickFirstWindow([root]))!.answer(ask(0, FIRST_WINDOW_CARDS))!;
    expect(answer.cards).toEqual(own.cards);
    expect(answer.cards.map((c: GridCard) => c.path).filter((p: string) => p.includes('000'))).toEqual([]);
    // The two refused rows are counted by the first look (it does not check hashes or paths), until the library's answer replaces it.
    expect(own.total).toBe(600);
    expect(answer.total).toBe(602);
    expect(Number.isSafeInteger((await quickFirstWindow([root]))!.counts.bytes)).toBe(true);
  });

  test('no first look at an index in another layout, another format, or behind a planted link', async () => {
    const pretty = join(tmp.path, `root-${++serial}`);
    mkdirSync(join(pretty, '.modeldeck'), { recursive: true });
    writeFileSync(join(pretty, '.modeldeck', 'index.json'), JSON.stringify({ format: INDEX_FORMAT, tool: 'modeldeck', savedAt: 1, rows: [encodeEntry(entryOf(1))] }, null, 2));
    expect(await quickFirstWindow([pretty])).toBeNull();
    const objectRow = writeIndex([encodeEntry(entryOf(1)), { path: 'models/lora/x.safetensors' }]);
    expect(await quickFirstWindow([objectRow])).toBeNull();

    const other = join(tmp.path, `root-${++serial}`);
    mkdirSync(join(other, '.modeldeck'), { recursive: true });
    writeFileSync(join(other, '.modeldeck', 'index.json'), JSON.stringify({ format: INDEX_FORMAT + 1, tool: 'modeldeck', savedAt: 1, rows: [encodeEntry(entryOf(1))] }));
    expect(await quickFirstWindow([other])).toBeNull();

    const good = writeIndex([encodeEntry(entryOf(1))]);
    const linked = join(tmp.path, `root-${++serial}`);
    mkdirSync(linked);
    symlinkSync(join(good, '.modeldeck'), join(linked, '.modeldeck'));
    expect(await quickFirstWindow([linked])).toBeNull();
    // One root that cannot be looked at: no first look for the panel (its counts would be short).
    expect(await quickFirstWindow([good, pretty])).toBeNull();
    expect(await quickFirstWindow([good])).not.toBeNull();
  });

  test('a session answers the opening window from it before it opens the library, which then sends nothing different', async () => {
    const root = writeIndex(range(0, 300).map((i) => encodeEntry(entryOf(i))));
    const own = await libraryWindow([root]);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let opened = 0;
    const fe = new MemoryFrontEnd();
    const session = ModelSession.open(fe.host, [root], async () => {
      opened++;
      await released;
      return Library.open([root], { civitai: false });
    });
    fe.send(session.id, { method: 'custom', content: { type: 'window', requestId: 'first', query: DEFAULT_GRID_QUERY, offset: 0, limit: 60, seq: 1 } });
    const first = await fe.waitFor(() => fe.customs(session.id, 'reply').find((r) => r.content.requestId === 'first')?.content);
    expect(session.library).toBeNull();
    expect(first.result.cards).toEqual(own.cards.slice(0, 60));
    expect(fe.state(session.id).summary).toMatchObject({ ready: false, preview: true, models: 300, bytes: own.counts.bytes });
    // The look came first: the library was asked for only after it.
    expect(opened).toBe(1);
    const before = fe.received.length;
    release();
    await session.ready;
    await fe.waitFor(() => (fe.state(session.id).summary.ready ? true : undefined));
    expect(fe.customs(session.id, 'window', before).flatMap((m) => m.content.upsert)).toEqual([]);
    session.close();
  });

  test("the library's load parses the bytes the look read, of that very file only, once", async () => {
    const root = writeIndex(range(0, 20).map((i) => encodeEntry(entryOf(i))));
    const file = join(root, '.modeldeck', 'index.json');
    // A whole-second mtime, so that setting it again gives back exactly the same one.
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    const st = statSync(file);
    const read = new ReadSnapshots();
    expect(await peekIndex(root, () => undefined, read)).toBe(true);
    // The same file (inode, size, mtime) with other bytes: only a load that used the look's bytes still sees the old ones.
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"models/lora/aurora-0.safetensors"', '"models/lora/zzzzzz-0.safetensors"'));
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect(statSync(file)).toMatchObject({ ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
    const fromLook = await Library.open([root], { civitai: false, snapshots: read });
    expect(fromLook.models().map((m) => m.path)).toContain('models/lora/aurora-0.safetensors');
    await fromLook.close();
    // Taken once: the next load reads the file.
    const again = await Library.open([root], { civitai: false, snapshots: read });
    expect(again.models().map((m) => m.path)).toContain('models/lora/zzzzzz-0.safetensors');
    await again.close();

    // A snapshot written anew since the look (another inode): its bytes are read, not the look's.
    const read2 = new ReadSnapshots();
    expect(await peekIndex(root, () => undefined, read2)).toBe(true);
    writeFileSync(`${file}.new`, readFileSync(file, 'utf8').replace('"models/lora/zzzzzz-0.safetensors"', '"models/lora/yyyyyy-0.safetensors"'));
    renameSync(`${file}.new`, file);
    const fresh = await Library.open([root], { civitai: false, snapshots: read2 });
    expect(fresh.models().map((m) => m.path)).toContain('models/lora/yyyyyy-0.safetensors');
    await fresh.close();
  });
});
