// The panel's first window kept beside the index (src/kernel/widget/first-window.ts over
// src/core/library/index-cache.ts): a new panel answers its first window from it before the
// library has loaded, only while the index on disk is the version it was kept from, and the
// library's own answer replaces it once loaded. Real libraries on disk, the in-memory comm pair.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Library, readIndexCache, writeIndexCache } from '../src/core/library';
import { show } from '../src/kernel';
import type { GridCard, GridQuery } from '../src/kernel/protocol';
import { ModelSession } from '../src/kernel/widget';
import { servePreview } from '../src/serve/previews-route';
import { tinyPng } from './fake-civitai';
import { runCli } from './helpers/cli';
import { loraBytes, writeModel } from './helpers/library';
import { MemoryFrontEnd } from './helpers/memory-comm';
import { useTmpDir } from './helpers/tmpdir';
import { WAIT_MS } from './helpers/wait';

const tmp = useTmpDir('mdk-first-window-');
const ALL: GridQuery = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };
const CACHE = join('.modeldeck', 'panel-first-window.cache.json');
let serial = 0;

async function scannedLibrary(models: number): Promise<string> {
  const root = join(tmp.path, `lib-${++serial}`);
  for (let i = 0; i < models; i++) writeModel(root, `Lora/fw-${String(i).padStart(3, '0')}.safetensors`, loraBytes({}, i));
  const lib = await Library.open([root], { civitai: false });
  await lib.scan({ offline: true });
  await lib.close();
  return root;
}

/** A library that opens only when the test says so. */
function heldLibrary(root: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const library = released.then(() => Library.open([root], { civitai: false }));
  return { library, release };
}

/** Shows a panel that asks for its first window and waits until that window is kept. */
async function keepFirstWindow(root: string, limit: number): Promise<GridCard[]> {
  const fe = new MemoryFrontEnd();
  const panel = show(root, { host: fe.host, civitai: false, colab: false });
  await panel.ready;
  const answer = await fe.request(panel.id, { type: 'window', query: ALL, offset: 0, limit, seq: 1 });
  await fe.waitFor(() => (existsSync(join(root, CACHE)) ? true : undefined));
  panel.close();
  return answer.result.cards;
}

function sendWindow(fe: MemoryFrontEnd, commId: string, requestId: string, offset: number, limit: number, seq: number) {
  fe.send(commId, { method: 'custom', content: { type: 'window', requestId, query: ALL, offset, limit, seq } });
}

/** Polls an async check until it gives a value (and gives up after the suite's usual wait). */
async function waitForAsync<T>(get: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`no value after ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const replyTo = (fe: MemoryFrontEnd, commId: string, requestId: string) => fe.customs(commId, 'reply').find((r) => r.content.requestId === requestId)?.content;

describe('the kept first window', () => {
  test('answers the first window before the library loads; rows not kept wait for the library; nothing differs after', async () => {
    const root = await scannedLibrary(250);
    const live = await keepFirstWindow(root, 60);

    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    // The summary says the page may ask, with the kept counts, while the library is still held back.
    await fe.waitFor(() => (fe.state(session.id).summary?.preview ? true : undefined));
    expect(fe.state(session.id).summary).toMatchObject({ ready: false, preview: true, models: 250 });

    sendWindow(fe, session.id, 'first', 0, 60, 1);
    const first = await fe.waitFor(() => replyTo(fe, session.id, 'first'));
    expect(session.library).toBeNull();
    expect(first.result).toMatchObject({ seq: 1, offset: 0, total: 250, library: 250 });
    expect(first.result.cards).toEqual(live);

    // 240 rows are kept: rows 240-299 need the library.
    sendWindow(fe, session.id, 'far', 240, 60, 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(replyTo(fe, session.id, 'far')).toBeUndefined();

    const before = fe.received.length;
    held.release();
    const far = await fe.waitFor(() => replyTo(fe, session.id, 'far'));
    expect(far.result.cards.map((c: GridCard) => c.file)).toEqual(['fw-240.safetensors', 'fw-241.safetensors', 'fw-242.safetensors', 'fw-243.safetensors', 'fw-244.safetensors', 'fw-245.safetensors', 'fw-246.safetensors', 'fw-247.safetensors', 'fw-248.safetensors', 'fw-249.safetensors']);
    const state = fe.state(session.id);
    expect(state.summary.ready).toBe(true);
    expect(state.summary.preview).toBeUndefined();
    // The kept window was the library's own: no card of it is sent again.
    expect(fe.customs(session.id, 'window', before).flatMap((m) => m.content.upsert)).toEqual([]);
    session.close();
  });

  test('a first window asked for at once, before the kept one was read, is answered from it while the library is held', async () => {
    const root = await scannedLibrary(30);
    const live = await keepFirstWindow(root, 60);

    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    // As the page does now: in the same turn as the comm opened, before the summary said anything.
    expect(fe.state(session.id).summary?.preview).toBeUndefined();
    sendWindow(fe, session.id, 'at-once', 0, 60, 1);
    const first = await fe.waitFor(() => replyTo(fe, session.id, 'at-once'));
    expect(session.library).toBeNull();
    expect(first.ok).toBe(true);
    expect(first.result.cards).toEqual(live);
    held.release();
    await session.ready;
    session.close();
  });

  test('with nothing kept, a first window asked for at once is answered when the library has loaded', async () => {
    const root = await scannedLibrary(5);
    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    sendWindow(fe, session.id, 'at-once', 0, 60, 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(replyTo(fe, session.id, 'at-once')).toBeUndefined();
    held.release();
    const first = await fe.waitFor(() => replyTo(fe, session.id, 'at-once'));
    expect(first.result).toMatchObject({ total: 5, library: 5 });
    expect(first.result.cards).toHaveLength(5);
    session.close();
  });

  test("the kept cards' previews asked for before the library loads are sent once it has loaded, not refused", async () => {
    const root = join(tmp.path, `lib-${++serial}`);
    for (let i = 0; i < 3; i++) {
      writeModel(root, `Lora/pv-${i}.safetensors`, loraBytes({}, 300 + i));
      writeFileSync(join(root, `Lora/pv-${i}.preview.png`), tinyPng());
    }
    const lib = await Library.open([root], { civitai: false });
    await lib.scan({ offline: true });
    await lib.close();
    const live = await keepFirstWindow(root, 60);
    expect(live.map((c) => c.preview)).toEqual(['pv-0.preview.png', 'pv-1.preview.png', 'pv-2.preview.png']);

    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    await fe.waitFor(() => (fe.state(session.id).summary?.preview ? true : undefined));
    sendWindow(fe, session.id, 'w', 0, 60, 1);
    const first = await fe.waitFor(() => replyTo(fe, session.id, 'w'));
    // As the page does when it paints the kept cards: their previews, while the library is still loading.
    const ids: string[] = first.result.cards.map((c: GridCard) => c.id);
    fe.send(session.id, { method: 'custom', content: { type: 'previews', requestId: 'p', ids: [...ids, 'made-up'] } });
    const previewOf = (id: string) => fe.customs(session.id, 'preview').find((m) => m.content.id === id);
    await new Promise((r) => setTimeout(r, 200));
    expect(ids.map(previewOf)).toEqual([undefined, undefined, undefined]);
    held.release();
    const reply = await fe.waitFor(() => replyTo(fe, session.id, 'p'));
    expect(reply.result).toEqual({ sent: 3, missing: ['made-up'] });
    for (const id of ids) {
      const m = previewOf(id)!;
      expect(m.content).toMatchObject({ mime: 'image/png', preview: expect.stringMatching(/^pv-\d\.preview\.png$/) });
      expect(Buffer.from(m.buffers[0]).equals(tinyPng())).toBe(true);
    }
    expect(previewOf('made-up')!.content.error).toBe('no such model');
    session.close();
  });

  test("serve's preview GET of a kept card while the library loads waits for it (it was a 404 before)", async () => {
    const root = join(tmp.path, `lib-${++serial}`);
    writeModel(root, 'Lora/sv-0.safetensors', loraBytes({}, 400));
    writeFileSync(join(root, 'Lora/sv-0.preview.png'), tinyPng());
    const lib = await Library.open([root], { civitai: false });
    await lib.scan({ offline: true });
    await lib.close();
    const [card] = await keepFirstWindow(root, 60);

    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    await fe.waitFor(() => (fe.state(session.id).summary?.preview ? true : undefined));
    const server = createServer((req, res) => void servePreview(req, res, session, encodeURIComponent(card.id)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      let status = 0;
      const got = fetch(`http://127.0.0.1:${port}/`).then(async (res) => ((status = res.status), Buffer.from(await res.arrayBuffer())));
      await new Promise((r) => setTimeout(r, 200));
      expect(status).toBe(0);
      held.release();
      const bytes = await got;
      expect(status).toBe(200);
      expect(bytes.equals(tinyPng())).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      session.close();
    }
  });

  test('a kept card the library has differently is replaced when the library has loaded', async () => {
    const root = await scannedLibrary(5);
    const lib = await Library.open([root], { civitai: false });
    const models = lib.models().sort((a, b) => a.path.localeCompare(b.path));
    const altered = { ...models[0], size: models[0].size + 1 };
    const query = ALL;
    const data = { query, total: 5, library: 5, facets: { kinds: { lora: 5 }, bases: {}, statuses: {} }, counts: { models: 5, bytes: 1, byStatus: {}, byKind: { lora: 5 } } };
    expect(await writeIndexCache(lib, 'panel-first-window', { entries: [altered, ...models.slice(1)].map((entry) => ({ rootIndex: 0, entry })), data })).toBe(true);
    await lib.close();

    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    await fe.waitFor(() => (fe.state(session.id).summary?.preview ? true : undefined));
    sendWindow(fe, session.id, 'w', 0, 60, 1);
    const answer = await fe.waitFor(() => replyTo(fe, session.id, 'w'));
    expect(answer.result.cards[0].size).toBe(models[0].size + 1);

    const before = fe.received.length;
    held.release();
    const push = await fe.waitFor(() => fe.customs(session.id, 'window', before)[0]?.content);
    expect(push.seq).toBe(1);
    expect(push.upsert.map((c: GridCard) => c.id)).toEqual([answer.result.cards[0].id]);
    expect(push.upsert[0].size).toBe(models[0].size);
    expect(fe.state(session.id).summary).toMatchObject({ ready: true, bytes: models.reduce((n, m) => n + m.size, 0) });
    session.close();
  });

  test('a scan in the panel rewrites the index; the panel keeps its window again for the new version', async () => {
    const root = await scannedLibrary(3);
    const fe = new MemoryFrontEnd();
    const panel = show(root, { host: fe.host, civitai: false, colab: false });
    await panel.ready;
    await fe.request(panel.id, { type: 'window', query: ALL, offset: 0, limit: 60, seq: 1 });
    await waitForAsync(() => readIndexCache([root], 'panel-first-window'));
    const before = statSync(join(root, '.modeldeck', 'index.json')).ino;
    // Nothing new: the window does not change, but the scan writes a new snapshot.
    await panel.scan({ offline: true });
    expect(statSync(join(root, '.modeldeck', 'index.json')).ino).not.toBe(before);
    const kept = await waitForAsync(() => readIndexCache([root], 'panel-first-window'));
    expect(kept.entries).toHaveLength(3);
    panel.close();
  });

  test('another process changed the index since: no kept window, the page waits for the library', async () => {
    const root = await scannedLibrary(3);
    await keepFirstWindow(root, 60);
    // A scan elsewhere (the CLI, another notebook) adds a model: the journal grows.
    writeModel(root, 'Lora/fw-new.safetensors', loraBytes({}, 99));
    const other = await Library.open([root], { civitai: false });
    await other.scan({ offline: true });
    await other.close();
    expect(await readIndexCache([root], 'panel-first-window')).toBeNull();

    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    sendWindow(fe, session.id, 'w', 0, 60, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(replyTo(fe, session.id, 'w')).toBeUndefined();
    expect(fe.updates(session.id).some((u) => u.summary?.preview)).toBe(false);
    held.release();
    const answer = await fe.waitFor(() => replyTo(fe, session.id, 'w'));
    expect(answer.result.total).toBe(4);
    session.close();
  });
});

describe('the first window kept by the CLI', () => {
  const env = { CIVITAI_BASE_URL: 'http://127.0.0.1:9', NODE_EXTRA_CA_CERTS: '' };
  const SOME: GridQuery = { ...ALL, search: 'fw-00' };

  test("a CLI scan that changed the index keeps the last panel's query's window; the next panel shows it before its library loads", async () => {
    const root = await scannedLibrary(30);
    // A panel that showed a search (fw-000 to fw-009) kept that window.
    const fe0 = new MemoryFrontEnd();
    const panel = show(root, { host: fe0.host, civitai: false, colab: false });
    await panel.ready;
    await fe0.request(panel.id, { type: 'window', query: SOME, offset: 0, limit: 60, seq: 1 });
    await waitForAsync(() => readIndexCache([root], 'panel-first-window'));
    panel.close();

    // A terminal's scan adds a model that the search finds: the journal grows, the old window is no longer valid.
    writeModel(root, 'Lora/fw-00new.safetensors', loraBytes({}, 77));
    const scan = await runCli(['scan', '--offline', root], env);
    expect(scan.code).toBe(0);
    const kept = await readIndexCache([root], 'panel-first-window');
    expect(kept?.entries.map((e) => e.entry.path)).toContain('Lora/fw-00new.safetensors');
    expect(kept?.data).toMatchObject({ query: SOME, total: 11, library: 31, counts: { models: 31 } });

    const fe = new MemoryFrontEnd();
    const held = heldLibrary(root);
    const session = ModelSession.open(fe.host, [root], held.library);
    await fe.waitFor(() => (fe.state(session.id).summary?.preview ? true : undefined));
    expect(fe.state(session.id).summary).toMatchObject({ ready: false, preview: true, models: 31 });
    fe.send(session.id, { method: 'custom', content: { type: 'window', requestId: 'early', query: SOME, offset: 0, limit: 60, seq: 1 } });
    const early = await fe.waitFor(() => replyTo(fe, session.id, 'early'));
    expect(session.library).toBeNull();
    expect(early.result.total).toBe(11);

    // The library's own answer is the same window: nothing is sent again once it has loaded.
    const before = fe.received.length;
    held.release();
    await fe.waitFor(() => (fe.state(session.id).summary?.ready ? true : undefined));
    const live = await fe.request(session.id, { type: 'window', query: SOME, offset: 0, limit: 60, seq: 2 });
    expect(live.result.cards).toEqual(early.result.cards);
    expect(fe.customs(session.id, 'window', before).flatMap((m) => m.content.upsert)).toEqual([]);
    session.close();
  });

  test("no panel yet: a CLI scan keeps the page's opening window; a command that changes nothing writes nothing", async () => {
    const root = join(tmp.path, `cli-${++serial}`);
    for (let i = 0; i < 5; i++) writeModel(root, `Lora/cli-${i}.safetensors`, loraBytes({}, 200 + i));
    expect((await runCli(['scan', '--offline', root], env)).code).toBe(0);
    const kept = await readIndexCache([root], 'panel-first-window');
    expect(kept?.data).toMatchObject({ query: ALL, total: 5, library: 5 });
    expect(kept?.entries.map((e) => e.entry.path)).toEqual(['Lora/cli-0.safetensors', 'Lora/cli-1.safetensors', 'Lora/cli-2.safetensors', 'Lora/cli-3.safetensors', 'Lora/cli-4.safetensors']);

    const file = join(root, CACHE);
    const { ino, mtimeMs } = statSync(file);
    expect((await runCli(['ls', root], env)).code).toBe(0);
    expect(statSync(file)).toMatchObject({ ino, mtimeMs });
  });
});

describe('the index cache file', () => {
  test('read back while the index is unchanged; refused when damaged, too large, a link, or for other roots', async () => {
    const root = await scannedLibrary(2);
    const second = join(tmp.path, 'second');
    mkdirSync(second);
    const lib = await Library.open([root, second], { civitai: false });
    const entries = lib.models().map((m) => ({ rootIndex: 0, entry: m }));
    expect(await writeIndexCache(lib, 'probe', { entries, data: { n: 1 } })).toBe(true);
    await lib.close();
    const file = join(root, '.modeldeck', 'probe.cache.json');
    const back = await readIndexCache([root, second], 'probe');
    expect(back?.data).toEqual({ n: 1 });
    expect(back?.entries.map((e) => e.entry.path).sort()).toEqual(entries.map((e) => e.entry.path).sort());
    // Other roots, or the same in another order: not this cache.
    expect(await readIndexCache([root], 'probe')).toBeNull();
    expect(await readIndexCache([second, root], 'probe')).toBeNull();

    const good = readFileSync(file, 'utf8');
    const doc = JSON.parse(good);
    doc.rows[0][1][1] = 'not a size';
    writeFileSync(file, JSON.stringify(doc));
    expect(await readIndexCache([root, second], 'probe')).toBeNull();
    writeFileSync(file, good.slice(0, good.length - 3));
    expect(await readIndexCache([root, second], 'probe')).toBeNull();
    writeFileSync(file, good.replace('"data":{"n":1}', `"data":{"n":"${'x'.repeat(5 * 1024 * 1024)}"}`));
    expect(await readIndexCache([root, second], 'probe')).toBeNull();

    // A link planted as the cache: not followed when read, not written through.
    const elsewhere = join(tmp.path, 'elsewhere.json');
    writeFileSync(elsewhere, good);
    rmSync(file);
    symlinkSync(elsewhere, file);
    expect(await readIndexCache([root, second], 'probe')).toBeNull();
    const again = await Library.open([root, second], { civitai: false });
    expect(await writeIndexCache(again, 'probe', { entries: [], data: { n: 2 } })).toBe(false);
    await again.close();
    expect(readFileSync(elsewhere, 'utf8')).toBe(good);
  });

  test('a root never scanned gets no cache (no index folder is made for it)', async () => {
    const root = join(tmp.path, 'empty');
    mkdirSync(root);
    const lib = await Library.open([root], { civitai: false });
    expect(await writeIndexCache(lib, 'probe', { entries: [], data: null })).toBe(false);
    expect(existsSync(join(root, '.modeldeck'))).toBe(false);
    await lib.close();
  });
});
