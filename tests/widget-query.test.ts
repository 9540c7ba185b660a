// The kernel's query code (search, filters, sort, facets, windows) on its own,
// and the query protocol through a session over the in-memory comm pair with a
// real library on disk.
import { join } from 'node:path';
import { show } from '../src/kernel';
import type { GridCard, GridQuery, ModelCard } from '../src/kernel/protocol';
import { QueryIndex, haystackOf, toGridCard } from '../src/kernel/widget/query';
import { PageView } from '../src/kernel/widget/view';
import { loraBytes, writeModel } from './helpers/library';
import { MemoryFrontEnd } from './helpers/memory-comm';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-query-');
const ALL: GridQuery = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };

function card(i: number, over: Partial<ModelCard> = {}): ModelCard {
  return {
    id: `0:m/${i}.safetensors`,
    root: 0,
    path: `m/${i}.safetensors`,
    file: `${i}.safetensors`,
    name: `model ${i}`,
    kind: 'lora',
    baseModel: 'sdxl',
    folderKind: null,
    size: 1000 - i,
    addedAt: i,
    mtimeMs: 0,
    status: ['pending'],
    verified: true,
    hashes: { SHA256: 'A'.repeat(64) },
    hashSources: { SHA256: 'computed' },
    civitai: { state: 'unknown', modelId: null, versionId: null, modelName: null, versionName: null, type: null, baseModel: null, nsfwLevel: null, pageUrl: null, matchedBy: null, checkedAt: null, lastError: null },
    trainedWords: [],
    manualLink: null,
    preview: null,
    warnings: ['a warning'],
    conflicts: [],
    ...over,
  };
}

describe('QueryIndex', () => {
  const cards = [
    card(1, { name: 'Sunset Lora', trainedWords: ['golden_hour'] }),
    card(2, { name: 'Portrait', file: 'faces-v2.safetensors', kind: 'checkpoint', baseModel: 'sd1', status: ['identified'] }),
    card(10, { name: 'model 10', civitai: { ...card(10).civitai, type: 'TextualInversion', modelName: 'Ink Wash', versionName: 'v3' }, kind: 'embedding', status: ['identified', 'manual'] }),
    card(9, { name: 'model 9', baseModel: 'pony', status: ['not_found', 'error'] }),
  ];
  const index = new QueryIndex();
  index.reset(cards);
  const ids = (q: Partial<GridQuery>) => index.run({ ...ALL, ...q }).ids;

  test('search matches names, file names, trained words and Civitai tags (type), every word, any case', () => {
    expect(ids({ search: 'sunset' })).toEqual([cards[0].id]);
    expect(ids({ search: 'FACES-v2' })).toEqual([cards[1].id]);
    expect(ids({ search: 'golden_hour' })).toEqual([cards[0].id]);
    expect(ids({ search: 'textualinversion' })).toEqual([cards[2].id]);
    expect(ids({ search: 'ink v3' })).toEqual([cards[2].id]);
    expect(ids({ search: 'ink v4' })).toEqual([]);
    expect(haystackOf(cards[2])).toContain('embedding');
  });

  test('sorts by name (numbers as numbers, Civitai title first), added, size, base; desc reverses', () => {
    // Titles: "Ink Wash" (Civitai's), "model 9", "Portrait", "Sunset Lora".
    expect(ids({})).toEqual([cards[2].id, cards[3].id, cards[1].id, cards[0].id]);
    expect(ids({ desc: true })).toEqual([cards[0].id, cards[1].id, cards[3].id, cards[2].id]);
    expect(ids({ sort: 'added' })).toEqual([cards[0].id, cards[1].id, cards[3].id, cards[2].id]);
    expect(ids({ sort: 'size' })).toEqual([cards[2].id, cards[3].id, cards[1].id, cards[0].id]);
    // Label order: Pony, SD 1.x, SDXL; ties by name.
    expect(ids({ sort: 'base' })).toEqual([cards[3].id, cards[1].id, cards[2].id, cards[0].id]);
  });

  test('filters and facets: each menu counts the matches of the search and the other filters', () => {
    expect(ids({ status: 'identified' })).toEqual([cards[2].id, cards[1].id]);
    const r = index.run({ ...ALL, status: 'identified', kind: 'checkpoint' });
    expect(r.ids).toEqual([cards[1].id]);
    // Kinds among the identified; statuses among the checkpoints.
    expect(r.facets.kinds).toEqual({ checkpoint: 1, embedding: 1 });
    expect(r.facets.statuses).toEqual({ identified: 1 });
    expect(r.facets.bases).toEqual({ sd1: 1 });
  });

  test('updates: the update filter and sort', () => {
    index.setUpdates([[cards[3].id, '2024-01-01'], [cards[0].id, '2025-01-01']]);
    expect(ids({ status: 'update' })).toEqual([cards[3].id, cards[0].id]);
    expect(ids({ sort: 'update' }).slice(0, 2)).toEqual([cards[0].id, cards[3].id]);
    expect(index.run(ALL).facets.statuses.update).toBe(2);
    index.setUpdates([]);
  });

  test('a change re-sorts and re-counts; a removal leaves', () => {
    const local = new QueryIndex();
    local.reset(cards);
    local.apply([{ ...cards[0], name: 'Aardvark', kind: 'vae' }], [cards[1].id]);
    const r = local.run(ALL);
    expect(r.ids).toEqual([cards[0].id, cards[2].id, cards[3].id]);
    expect(r.facets.kinds).toEqual({ vae: 1, embedding: 1, lora: 1 });
  });

  test('grid cards carry what a card shows, not hashes, warnings or Civitai details', () => {
    const g = toGridCard(cards[2]) as unknown as Record<string, unknown>;
    expect(g).not.toHaveProperty('hashes');
    expect(g).not.toHaveProperty('warnings');
    expect(g.civitai).toEqual({ state: 'unknown', modelName: 'Ink Wash', versionName: 'v3', baseModel: null, nsfwLevel: null, pageUrl: null });
  });
});

describe('PageView', () => {
  const many = Array.from({ length: 100 }, (_, i) => card(i, { name: `n ${String(i).padStart(3, '0')}` }));

  test('changes: nothing when a change is outside the window and the counts stay; the changed card when inside', () => {
    const index = new QueryIndex();
    index.reset(many);
    const view = new PageView(index);
    const answer = view.answer({ type: 'window', requestId: 1, query: ALL, offset: 10, limit: 5, seq: 7 });
    expect(answer.cards.map((c: GridCard) => c.id)).toEqual(many.slice(10, 15).map((c) => c.id));
    expect(answer).toMatchObject({ seq: 7, total: 100, library: 100, offset: 10 });
    expect(view.changes()).toBeNull();
    index.apply([{ ...many[50], size: 1 }], []);
    expect(view.changes()).toBeNull();
    index.apply([{ ...many[12], size: 1 }], []);
    const change = view.changes()!;
    expect(change.upsert.map((c) => c.id)).toEqual([many[12].id]);
    expect(change).toMatchObject({ type: 'window', seq: 7, offset: 10, ids: many.slice(10, 15).map((c) => c.id) });
    // A card before the window leaves: positions shift by one, counts change; the newly shown card is sent.
    index.apply([], [many[0].id]);
    const shifted = view.changes()!;
    expect(shifted.ids).toEqual(many.slice(11, 16).map((c) => c.id));
    expect(shifted.upsert.map((c) => c.id)).toEqual([many[15].id]);
    expect(shifted.total).toBe(99);
  });
});

describe('the query protocol through a session', () => {
  test('windows, counts and facets; the page view is the last window asked for; no card before a request', async () => {
    const root = join(tmp.path, 'lib');
    for (let i = 0; i < 12; i++) writeModel(root, `Lora/q-${String(i).padStart(2, '0')}${i % 4 === 0 ? '-night' : ''}.safetensors`, loraBytes({}, i));
    const fe = new MemoryFrontEnd();
    const panel = show(root, { host: fe.host, civitai: false, colab: false });
    await panel.ready;
    await panel.scan({ offline: true });
    expect(fe.customs(panel.id, 'models')).toEqual([]);
    expect(fe.customs(panel.id, 'window')).toEqual([]);

    const first = await fe.request(panel.id, { type: 'window', query: ALL, offset: 0, limit: 4, seq: 1 });
    expect(first.result.cards.map((c: GridCard) => c.file)).toEqual(['q-00-night.safetensors', 'q-01.safetensors', 'q-02.safetensors', 'q-03.safetensors']);
    expect(first.result).toMatchObject({ total: 12, library: 12 });
    const night = await fe.request(panel.id, { type: 'window', query: { ...ALL, search: 'night' }, offset: 0, limit: 60, seq: 2 });
    expect(night.result.total).toBe(3);
    expect(night.result.query.search).toBe('night');
    expect(Object.values(night.result.facets.kinds as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(3);

    // A change now is pushed for the last window asked for (the night search), with its seq.
    const from = fe.received.length;
    writeModel(root, 'Lora/q-99-night.safetensors', loraBytes({}, 99));
    await panel.scan({ offline: true });
    const pushes = fe.customs(panel.id, 'window', from).map((m) => m.content);
    expect(pushes.at(-1)).toMatchObject({ seq: 2, query: { search: 'night' }, total: 4, library: 13 });
    expect(pushes.flatMap((p) => p.upsert).map((c: GridCard) => c.file)).toEqual(['q-99-night.safetensors']);
    panel.close();
  });
});
