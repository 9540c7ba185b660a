// The card tracker keeps entries, not cards: full cards are built when asked
// for, and the query index is fed slim sources built straight from entries.
// These must agree with the full card path, or a card would look different
// depending on whether it came from the first look or from a change.
import type { ModelEntry } from '../src/core/library';
import { CardTracker, civitaiTypeOf, gridCardOf, toCard, toIndexSource } from '../src/kernel/widget/cards';
import { QueryIndex, haystackOf, toGridCard } from '../src/kernel/widget/query';

const ROOT = '/lib';

function entry(i: number, over: Partial<ModelEntry> = {}): ModelEntry {
  return {
    path: `models/Lora/set/m-${i}.safetensors`,
    size: 1000 + i,
    mtimeMs: 5,
    fingerprint: `${1000 + i}:abc`,
    hashes: { SHA256: 'B'.repeat(64), AutoV2: 'B'.repeat(10) },
    hashSources: { SHA256: 'computed' },
    verified: i % 2 === 0,
    kind: 'lora',
    baseModel: 'sdxl',
    evidence: [],
    conflicts: i % 3 === 0 ? ['folder says checkpoint'] : [],
    civitai:
      i % 2 === 0
        ? {
            status: 'found',
            checkedAt: 7,
            link: { modelId: i, versionId: 100 + i, modelName: `Night ${i}`, versionName: 'v2', type: 'LORA', baseModel: 'SDXL 1.0', trainedWords: ['glow_style'], nsfwLevel: 2, pageUrl: `https://civitai.com/models/${i}`, matchedBy: 'SHA256' },
          }
        : { status: 'not_found', checkedAt: 7 },
    preview: i % 2 === 0 ? `models/Lora/set/m-${i}.preview.png` : undefined,
    addedAt: 10 + i,
    warnings: i === 3 ? ['unreadable sidecar'] : [],
    ...over,
  } as ModelEntry;
}

const full = (e: ModelEntry) => toCard({ ...e, root: ROOT, absolute: `${ROOT}/${e.path}` }, 0);

test('the index source of an entry is the grid card of its full card, and searches the same haystack', () => {
  for (const i of [0, 1, 2, 3]) {
    const e = entry(i);
    const source = toIndexSource(e, 0);
    expect(gridCardOf(source)).toEqual(toGridCard(full(e)));
    expect(civitaiTypeOf(source)).toBe(full(e).civitai.type);
  }
  // An index fed sources and one fed full cards answer alike.
  const a = new QueryIndex();
  const b = new QueryIndex();
  const entries = [0, 1, 2, 3, 4, 5].map((i) => entry(i));
  a.reset(entries.map((e) => toIndexSource(e, 0)));
  b.reset(entries.map(full));
  for (const search of ['', 'night', 'lora', 'glow_style', 'm-3', 'sdxl 1.0']) {
    const q = { search, kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false } as const;
    expect(a.run(q)).toEqual(b.run(q));
    expect(a.run(q).ids.map((id) => a.card(id))).toEqual(b.run(q).ids.map((id) => b.card(id)));
  }
  expect(haystackOf(full(entries[0]))).toContain('lora');
});

test('the tracker builds full cards on demand and passes on a changed entry as a changed card', () => {
  const tracker = new CardTracker();
  const entries = [entry(0), entry(1)];
  tracker.update(entries.map((e) => ({ root: ROOT, entry: e })), [ROOT]);
  const taken = [...tracker.takeAll()];
  expect(taken.map((s) => s.id)).toEqual(entries.map((e) => `0:${e.path}`));
  // Details need the full card: hashes, sources, warnings, conflicts, Civitai ids.
  const card = tracker.card(`0:${entries[0].path}`)!;
  expect(card).toEqual(full(entries[0]));
  expect(card.hashes.SHA256).toBe('B'.repeat(64));
  expect(card.civitai.modelId).toBe(0);
  expect(tracker.lookup(`0:${entries[1].path}`)?.absolute).toBe(`${ROOT}/${entries[1].path}`);
  expect(tracker.card('0:nope')).toBeUndefined();

  // Same entry objects: nothing changed.
  tracker.update(entries.map((e) => ({ root: ROOT, entry: e })), [ROOT]);
  expect(tracker.takeDelta()).toEqual({ upsert: [], remove: [] });

  // One entry replaced (as IndexStore.put does), one gone.
  const changed = entry(0, { baseModel: 'pony' });
  tracker.update([{ root: ROOT, entry: changed }], [ROOT]);
  const delta = tracker.takeDelta();
  expect(delta.upsert).toEqual([full(changed)]);
  expect(delta.remove).toEqual([`0:${entries[1].path}`]);
  expect(tracker.card(`0:${changed.path}`)?.baseModel).toBe('pony');
});

test('haystacks built in idle slices or at the first search give the same answers', () => {
  const entries = Array.from({ length: 50 }, (_, i) => entry(i));
  const eager = new QueryIndex();
  eager.reset(entries.map((e) => toIndexSource(e, 0)));
  const q = (search: string) => ({ search, kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false }) as const;
  // Searched before any preparation: the search builds what it needs.
  expect(eager.run(q('night 4')).ids.length).toBeGreaterThan(0);
  const sliced = new QueryIndex();
  sliced.reset(entries.map((e) => toIndexSource(e, 0)));
  // Part prepared, then a change, then the rest: every row ends up searchable.
  expect(sliced.prepare(20)).toBe(true);
  sliced.apply([toIndexSource(entry(7, { civitai: { status: 'not_found', checkedAt: 1 } }), 0), toIndexSource(entry(99), 0)], [`0:${entries[30].path}`]);
  eager.apply([toIndexSource(entry(7, { civitai: { status: 'not_found', checkedAt: 1 } }), 0), toIndexSource(entry(99), 0)], [`0:${entries[30].path}`]);
  while (sliced.prepare(7));
  for (const s of ['night', 'night 4', 'm-7', 'm-99', 'm-30', 'glow_style', 'lora']) expect(sliced.run(q(s))).toEqual(eager.run(q(s)));
  expect(sliced.run(q('m-99')).ids).toEqual([`0:${entry(99).path}`]);
  expect(sliced.run(q('m-30 ')).ids).toEqual([]);
});

test('after a change, a search reads the unchanged rows\' haystacks from the last joined text and finds the same as a fresh index', () => {
  const entries = Array.from({ length: 40 }, (_, i) => entry(i));
  const q = (search: string) => ({ search, kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false }) as const;
  const kept = new QueryIndex();
  kept.reset(entries.map((e) => toIndexSource(e, 0)));
  // Joined once (haystacks dropped from the rows), then changed: one entry renamed, one added, one removed.
  expect(kept.run(q('m-5')).ids.length).toBeGreaterThan(0);
  const renamed = entry(5, { path: 'models/Lora/set/m-5.safetensors', civitai: { status: 'not_found', checkedAt: 1 } });
  const change = () => [toIndexSource(renamed, 0), toIndexSource(entry(77), 0)];
  kept.apply(change(), [`0:${entries[12].path}`]);
  while (kept.prepare(3));
  const fresh = new QueryIndex();
  fresh.reset([...entries.filter((_, i) => i !== 12 && i !== 5), renamed].map((e) => toIndexSource(e, 0)));
  fresh.apply([toIndexSource(entry(77), 0)], []);
  for (const s of ['m-5', 'm-12', 'm-77', 'night', 'night 4', 'glow_style lora', 'm-3 sdxl', 'zzz']) expect(kept.run(q(s))).toEqual(fresh.run(q(s)));
  // And once more after a second change: the text joined after the first change serves in turn.
  kept.apply([toIndexSource(entry(78), 0)], []);
  fresh.apply([toIndexSource(entry(78), 0)], []);
  for (const s of ['m-78', 'm-77', 'm-3', 'night 1']) expect(kept.run(q(s))).toEqual(fresh.run(q(s)));
});

test('haystacks in several blocks: a join interrupted by a change, and a search across blocks, find what a plain test of each haystack finds', () => {
  // More rows than two blocks of 2,048, so that rows move between blocks after a change.
  const entries = Array.from({ length: 5000 }, (_, i) => entry(i));
  const q = (search: string) => ({ search, kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false }) as const;
  const index = new QueryIndex();
  index.reset(entries.map((e) => toIndexSource(e, 0)));
  expect(index.run(q('m-4999')).ids).toEqual([`0:${entries[4999].path}`]);
  // A change in the middle of the next join: the rows built so far lose nothing but time.
  index.apply([toIndexSource(entry(2047, { civitai: { status: 'not_found', checkedAt: 1 } }), 0)], [`0:${entries[10].path}`]);
  expect(index.prepare(3000)).toBe(true);
  index.apply([toIndexSource(entry(6000), 0)], [`0:${entries[2048].path}`]);
  while (index.prepare(1000));
  const now = [...entries.filter((_, i) => i !== 10 && i !== 2048 && i !== 2047), entry(2047, { civitai: { status: 'not_found', checkedAt: 1 } }), entry(6000)];
  for (const s of ['m-204', 'night 2047', 'm-6000', 'm-10', 'glow_style m-49', 'm-2048', 'night 4']) {
    const words = s.split(' ');
    const expected = now.filter((e) => words.every((w) => haystackOf(full(e)).includes(w))).map((e) => `0:${e.path}`).sort();
    expect([...index.run(q(s)).ids].sort()).toEqual(expected);
  }
});
