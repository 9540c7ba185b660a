// The widget's kernel side: a real Library on real files, the fake Civitai over
// HTTP, and an in-memory comm pair standing in for the Jupyter front end.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Library } from '../src/core/library';
import { isColab, show, type Panel } from '../src/kernel';
import { moduleVersionRange, type GridCard, type GridQuery, type ModelCard } from '../src/kernel/protocol';
import { FakeCivitai } from './fake-civitai';
import { TOKEN } from './helpers/civitai';
import { loraBytes, register, writeModel, type MadeFile } from './helpers/library';
import { MemoryFrontEnd } from './helpers/memory-comm';
import { useTmpDir } from './helpers/tmpdir';

const pkgVersion: string = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;
const tmp = useTmpDir('mdk-widget-');
let fake: FakeCivitai;
let serial = 0;
const savedToken = process.env.CIVITAI_TOKEN;

beforeAll(async () => {
  process.env.CIVITAI_TOKEN = TOKEN;
  fake = await new FakeCivitai({ fixturesDir: null }).start();
});
afterAll(async () => {
  await fake.stop();
  if (savedToken === undefined) delete process.env.CIVITAI_TOKEN;
  else process.env.CIVITAI_TOKEN = savedToken;
});

function civitai() {
  return { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, `cache-${++serial}`), maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 3000 };
}

function newRoot(): string {
  const root = join(tmp.path, `lib-${++serial}`);
  mkdirSync(root, { recursive: true });
  return root;
}

/** A small semver check: does `version` satisfy a caret range `^a.b.c`? */
function satisfiesCaret(version: string, range: string): boolean {
  const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  const v = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m || !v) return false;
  const [a, b, c] = m.slice(1).map(Number);
  const [x, y, z] = v.slice(1).map(Number);
  if (x !== a) return false;
  if (a === 0) return y === b && z >= c;
  return y > b || (y === b && z >= c);
}

interface Setup {
  root: string;
  fe: MemoryFrontEnd;
  panel: Panel;
  commId: string;
  known: MadeFile[];
  unknown: MadeFile;
}

/** A root with three files Civitai knows and one it does not, shown in a panel. */
async function setup(options: { scanned?: boolean; progressIntervalMs?: number } = {}): Promise<Setup> {
  const root = newRoot();
  const known = [0, 1, 2].map((i) => writeModel(root, `models/Lora/style ${i}.safetensors`, loraBytes({ ss_output_name: `s${i}` })));
  known.forEach((f, i) => register(fake, f, { name: `Style ${i}`, trainedWords: [`style${i}`], images: 1 }));
  const unknown = writeModel(root, 'models/Lora/mine/private.safetensors', loraBytes());
  const fe = new MemoryFrontEnd();
  const panel = show(root, { host: fe.host, civitai: civitai(), colab: false });
  await panel.ready;
  const commId = panel.id;
  if (options.scanned) await panel.scan();
  return { root, fe, panel, commId, known, unknown };
}

const idOf = (rel: string) => `0:${rel}`;

const ALL: GridQuery = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };
let seq = 0;
/** Asks for a window (the whole small library by default); it becomes the page's view. */
function askWindow(fe: MemoryFrontEnd, commId: string, over: { query?: Partial<GridQuery>; offset?: number; limit?: number } = {}) {
  return fe.request(commId, { type: 'window', query: { ...ALL, ...over.query }, offset: over.offset ?? 0, limit: over.limit ?? 500, seq: ++seq });
}
/** The cards sent in `window` changes since `from`. */
const windowUpserts = (fe: MemoryFrontEnd, commId: string, from: number): GridCard[] => fe.customs(commId, 'window', from).flatMap((m) => m.content.upsert);

describe('opening the widget', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(() => s.panel.close());

  test('comm_open goes to jupyter.widget with protocol 2.1.0 and the full state', () => {
    expect(s.fe.opened).toHaveLength(1);
    const open = s.fe.opened[0];
    expect(open.targetName).toBe('jupyter.widget');
    expect(open.metadata).toEqual({ version: '2.1.0' });
    expect(open.data.buffer_paths).toEqual([]);
    const state = open.data.state;
    expect(state).toMatchObject({
      _model_name: 'ModelsPanelModel',
      _model_module: 'modeldeck',
      _view_name: 'ModelsPanelView',
      _view_module: 'modeldeck',
    });
    for (const key of ['roots', 'progress', 'errors', 'summary', 'settings', 'protocol']) expect(state).toHaveProperty(key);
    expect(state.settings).toEqual({ nsfwLevel: 2, previews: true, offline: false });
  });

  test("the module version range is satisfied by package.json's version", () => {
    const state = s.fe.opened[0].data.state;
    expect(state._model_module_version).toBe(moduleVersionRange(pkgVersion));
    expect(state._view_module_version).toBe(state._model_module_version);
    expect(satisfiesCaret(pkgVersion, state._model_module_version)).toBe(true);
    // The check itself tells a range that is not satisfied.
    expect(satisfiesCaret('0.2.0', '^0.1.0')).toBe(false);
  });

  test('the display carries the widget view for this comm, protocol 2.1, and a text fallback; no Colab metadata outside Colab', () => {
    expect(s.fe.displays).toHaveLength(1);
    const { bundle, metadata } = s.fe.displays[0];
    expect(bundle['application/vnd.jupyter.widget-view+json']).toEqual({ model_id: s.commId, version_major: 2, version_minor: 1 });
    expect(bundle['text/plain']).toContain('modeldeck panel');
    expect(metadata).toEqual({});
  });

  test('under Colab the display carries the custom widget manager URL', async () => {
    const fe = new MemoryFrontEnd();
    const panel = show(s.root, { host: fe.host, civitai: civitai(), colab: true });
    await panel.ready;
    const meta = fe.displays[0].metadata['application/vnd.jupyter.widget-view+json'];
    expect(meta.colab.custom_widget_manager.url).toMatch(/^https:\/\/ssl\.gstatic\.com\/colaboratory-static\/widgets\/colab-cdn-widget-manager\/[0-9a-f]+\/manager\.min\.js$/);
    const other = new MemoryFrontEnd();
    const custom = show(s.root, { host: other.host, colab: true, colabWidgetManagerUrl: 'https://example.test/manager.js' });
    expect(other.displays[0].metadata['application/vnd.jupyter.widget-view+json'].colab.custom_widget_manager.url).toBe('https://example.test/manager.js');
    panel.close();
    custom.close();
  });

  test('once the library is open, the roots (real paths) and the summary follow; no card goes out until the page asks for a window', async () => {
    const state = s.fe.state(s.commId);
    expect(state.roots).toEqual(s.panel.library.roots);
    expect(state.summary.ready).toBe(true);
    expect(state.summary.tokenSet).toBe(true);
    expect(s.fe.customs(s.commId, 'models')).toEqual([]);
    expect(s.fe.customs(s.commId, 'window')).toEqual([]);
    const reply = await askWindow(s.fe, s.commId);
    expect(reply).toMatchObject({ ok: true, request: 'window', result: { offset: 0, cards: [], total: 0, library: 0, facets: { kinds: {}, bases: {}, statuses: {} } } });
    expect(reply.result.seq).toBe(seq);
  });

  test('request_state is answered at once with the full state, then the view again', () => {
    const from = s.fe.received.length;
    s.fe.send(s.commId, { method: 'request_state' });
    // Synchronously: nothing awaited before the answer.
    const updates = s.fe.updates(s.commId, 'update', from);
    expect(updates).toHaveLength(1);
    expect(Object.keys(updates[0]).sort()).toEqual(Object.keys(s.fe.opened[0].data.state).sort());
    const views = s.fe.customs(s.commId, 'window', from);
    expect(views).toHaveLength(1);
    expect(views[0].content).toMatchObject({ type: 'window', ids: [], upsert: [], total: 0, library: 0 });
  });

  test('an update of settings is applied and echoed; the next scan uses it', () => {
    const from = s.fe.received.length;
    s.fe.send(s.commId, { method: 'update', state: { settings: { nsfwLevel: 8, previews: false, offline: false } }, buffer_paths: [] });
    const echoes = s.fe.updates(s.commId, 'echo_update', from);
    expect(echoes).toEqual([{ settings: { nsfwLevel: 8, previews: false, offline: false } }]);
    expect(s.panel.state.settings).toEqual({ nsfwLevel: 8, previews: false, offline: false });
    // Back to the defaults for the other tests.
    s.fe.send(s.commId, { method: 'update', state: { settings: { nsfwLevel: 2, previews: true, offline: false } }, buffer_paths: [] });
    expect(s.panel.state.settings.nsfwLevel).toBe(2);
  });

  test('an invalid settings value is echoed with the kernel value, corrected by an update, and reported', () => {
    const from = s.fe.received.length;
    s.fe.send(s.commId, { method: 'update', state: { settings: { nsfwLevel: 3 } }, buffer_paths: [] });
    expect(s.fe.updates(s.commId, 'echo_update', from)).toEqual([{ settings: { nsfwLevel: 2, previews: true, offline: false } }]);
    const corrections = s.fe.updates(s.commId, 'update', from);
    expect(corrections.some((u) => u.settings?.nsfwLevel === 2)).toBe(true);
    expect(s.fe.state(s.commId).errors.at(-1).message).toMatch(/nsfwLevel/);
  });

  test('an update of a kernel-owned key is not applied: echoed with the kernel value and reported', () => {
    const from = s.fe.received.length;
    const roots = s.panel.state.roots;
    s.fe.send(s.commId, { method: 'update', state: { roots: ['/etc'], progress: { running: true } }, buffer_paths: [] });
    expect(s.panel.state.roots).toEqual(roots);
    const echo = s.fe.updates(s.commId, 'echo_update', from)[0];
    expect(echo.roots).toEqual(roots);
    expect(s.fe.state(s.commId).roots).toEqual(roots);
    expect(s.fe.state(s.commId).errors.at(-1).code).toBe('read_only');
  });
});

describe('scanning from the widget', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(() => s.panel.close());

  test('a scan request streams throttled progress and the changes of the page\'s window, then replies ok with the summary', async () => {
    await askWindow(s.fe, s.commId);
    const from = s.fe.received.length;
    const started = Date.now();
    const reply = await s.fe.request(s.commId, { type: 'scan' });
    const elapsed = Date.now() - started;
    expect(reply).toMatchObject({ type: 'reply', request: 'scan', ok: true });
    expect(reply.result.summary).toMatchObject({ files: 4, added: 4, identified: 3, notOnCivitai: 1, cancelled: false });

    const progress = s.fe.updates(s.commId, 'update', from).filter((u) => u.progress).map((u) => u.progress);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0].running).toBe(true);
    expect(progress.at(-1)).toMatchObject({ running: false, phase: 'done', cancelled: false });
    // At most one every 100 ms, plus the first and the final one.
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 3);

    const upserted = new Set(windowUpserts(s.fe, s.commId, from).map((c) => c.id));
    expect([...upserted].sort()).toEqual([...s.known, s.unknown].map((f) => idOf(f.rel)).sort());
    expect(s.fe.customs(s.commId, 'window', from).at(-1)!.content).toMatchObject({ total: 4, library: 4, facets: { kinds: { lora: 4 }, statuses: { identified: 3, not_found: 1 } } });
    // Slim cards: no hashes, sources, warnings or Civitai details besides what the card shows.
    const one = windowUpserts(s.fe, s.commId, from)[0] as unknown as Record<string, unknown>;
    for (const k of ['hashes', 'hashSources', 'warnings', 'conflicts', 'manualLink']) expect(one).not.toHaveProperty(k);
    expect(Object.keys(one.civitai as object).sort()).toEqual(['baseModel', 'modelName', 'nsfwLevel', 'pageUrl', 'state', 'versionName']);
    expect(s.fe.customs(s.commId, 'models', from)).toEqual([]);
    const summary = s.fe.state(s.commId).summary;
    expect(summary).toMatchObject({ models: 4, lastScan: expect.objectContaining({ files: 4 }) });
  });

  test('progress is throttled even when the engine reports far more often', async () => {
    const root = newRoot();
    for (let i = 0; i < 40; i++) writeModel(root, `m/f${i}.safetensors`, loraBytes({}, 256 * 1024));
    const fe = new MemoryFrontEnd();
    const panel = show(root, { host: fe.host, civitai: false, colab: false });
    await panel.ready;
    let engineReports = 0;
    const from = fe.received.length;
    const started = Date.now();
    await panel.scan({ onProgress: () => engineReports++ });
    const elapsed = Date.now() - started;
    const sent = fe.updates(panel.id, 'update', from).filter((u) => u.progress).length;
    expect(engineReports).toBeGreaterThan(40);
    expect(sent).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 3);
    expect(sent).toBeLessThan(engineReports);
    panel.close();
  });

  test('after request_state the view comes whole; a rescan after one file changed sends only that card', async () => {
    let from = s.fe.received.length;
    s.fe.send(s.commId, { method: 'request_state' });
    const reset = s.fe.customs(s.commId, 'window', from);
    expect(reset).toHaveLength(1);
    expect(reset[0].content.ids).toHaveLength(4);
    expect(reset[0].content.upsert).toHaveLength(4);
    expect(reset[0].content.total).toBe(4);

    const changed = s.known[1];
    writeFileSync(changed.path, loraBytes({ ss_output_name: 'changed' }));
    from = s.fe.received.length;
    const reply = await s.fe.request(s.commId, { type: 'scan', offline: true });
    expect(reply.ok).toBe(true);
    expect(reply.result.summary.changed).toBe(1);
    const deltas = s.fe.customs(s.commId, 'window', from).map((m) => m.content);
    const ids = deltas.flatMap((d) => d.upsert.map((c: GridCard) => c.id));
    expect(new Set(ids)).toEqual(new Set([idOf(changed.rel)]));
    expect(deltas.every((d) => d.ids.length === 4 && d.total === 4)).toBe(true);
  });

  test('a removed file leaves the window and the counts', async () => {
    const gone = writeModel(s.root, 'models/Lora/temp.safetensors', loraBytes());
    await s.fe.request(s.commId, { type: 'scan', offline: true });
    const { unlinkSync } = await import('node:fs');
    unlinkSync(gone.path);
    const from = s.fe.received.length;
    await s.fe.request(s.commId, { type: 'scan', offline: true });
    const views = s.fe.customs(s.commId, 'window', from).map((m) => m.content);
    expect(views.length).toBeGreaterThan(0);
    expect(views.at(-1)!.ids).not.toContain(idOf(gone.rel));
    expect(views.at(-1)!.total).toBe(4);
    expect(views.flatMap((v) => v.upsert)).toEqual([]);
  });

  test('a second scan while one runs is refused as busy; cancel stops the running one', async () => {
    const root = newRoot();
    for (let i = 0; i < 24; i++) writeModel(root, `big/f${i}.safetensors`, loraBytes({}, 8 * 1024 * 1024));
    const fe = new MemoryFrontEnd();
    const panel = show(root, { host: fe.host, civitai: false, colab: false });
    await panel.ready;
    const from = fe.received.length;
    const scanReply = fe.request(panel.id, { type: 'scan' });
    await fe.waitFor(() => fe.updates(panel.id, 'update', from).find((u) => u.progress?.running && u.progress.phase !== 'walk'));
    const busy = await fe.request(panel.id, { type: 'scan' });
    expect(busy).toMatchObject({ ok: false, error: { code: 'busy' } });
    await expect(panel.scan()).rejects.toMatchObject({ code: 'busy' });
    const cancel = await fe.request(panel.id, { type: 'cancel' });
    expect(cancel).toMatchObject({ ok: true, result: { cancelled: true } });
    const done = await scanReply;
    expect(done.ok).toBe(true);
    expect(done.result.summary.cancelled).toBe(true);
    expect(done.result.summary.hashed).toBeLessThan(24);
    expect(fe.state(panel.id).progress).toMatchObject({ running: false, cancelled: true });
    // Nothing runs now: cancel says so, and the panel still answers.
    expect((await fe.request(panel.id, { type: 'cancel' })).result).toEqual({ cancelled: false });
    expect((await fe.request(panel.id, { type: 'export' })).ok).toBe(true);
    panel.close();
  });
});

describe('requests on models', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({ scanned: true });
  });
  afterAll(() => s.panel.close());

  test('previews come as binary buffers equal to the preview files, only for the ids asked', async () => {
    const knownId = idOf(s.known[0].rel);
    const entry = s.panel.library.get(s.known[0].rel)!;
    expect(entry.preview).toBeTruthy();
    const from = s.fe.received.length;
    const reply = await s.fe.request(s.commId, { type: 'previews', ids: [knownId, idOf(s.unknown.rel), '0:nothing.safetensors'] });
    expect(reply.ok).toBe(true);
    expect(reply.result.sent).toBe(1);
    expect(reply.result.missing.sort()).toEqual([idOf(s.unknown.rel), '0:nothing.safetensors'].sort());
    const previews = s.fe.customs(s.commId, 'preview', from);
    expect(previews).toHaveLength(3);
    const img = previews.find((p) => p.content.id === knownId)!;
    const bytes = readFileSync(join(s.root, entry.preview!));
    expect(Buffer.from(img.buffers[0]).equals(bytes)).toBe(true);
    expect(img.content.mime).toMatch(/^image\/(jpeg|png|webp|gif)$/);
    expect(img.content.size).toBe(bytes.length);
    expect(img.content.preview).toBe(entry.preview!.split('/').pop());
    for (const p of previews.filter((p) => p.content.id !== knownId)) {
      expect(p.content.mime).toBeNull();
      expect(p.buffers).toHaveLength(0);
    }
  });

  test('a preview over the size cap or not an image is refused, never sent', async () => {
    const fe = new MemoryFrontEnd();
    const panel = show(s.root, { host: fe.host, civitai: civitai(), colab: false, previewMaxBytes: 16 });
    await panel.ready;
    const reply = await fe.request(panel.id, { type: 'previews', ids: [idOf(s.known[0].rel)] });
    expect(reply.result.sent).toBe(0);
    expect(fe.customs(panel.id, 'preview')[0].content.error).toMatch(/bytes/);
    panel.close();
  });

  test('link: a manual link by Civitai URL round-trips and the card changes', async () => {
    const v = fake.addVersion({ modelName: 'Linked by hand', files: [{ name: 'other.safetensors', hashes: { SHA256: 'AB'.repeat(32) } }] });
    const id = idOf(s.unknown.rel);
    await askWindow(s.fe, s.commId);
    const from = s.fe.received.length;
    const reply = await s.fe.request(s.commId, { type: 'link', id, ref: `https://civitai.com/models/${v.modelId}?modelVersionId=${v.versionId}` });
    expect(reply).toMatchObject({ ok: true, request: 'link' });
    expect(reply.result).toMatchObject({ id, civitai: { state: 'found', versionId: v.versionId, modelName: 'Linked by hand' } });
    expect(reply.result.manualLink.versionId).toBe(v.versionId);
    expect(reply.result.status).toContain('manual');
    const deltas = windowUpserts(s.fe, s.commId, from);
    expect(deltas.map((c) => c.id)).toEqual([id]);
    expect(s.panel.library.get(s.unknown.rel)!.manual?.link?.versionId).toBe(v.versionId);
  });

  test('link with something that is not a model reference gets an error reply', async () => {
    const reply = await s.fe.request(s.commId, { type: 'link', id: idOf(s.unknown.rel), ref: 'not a link at all' });
    expect(reply.ok).toBe(false);
    expect(reply.error.code).toMatch(/^(bad_link|invalid_reference|bad_reference)$|reference/);
  });

  test('set-hash round-trips; a malformed hash is refused', async () => {
    const id = idOf(s.known[2].rel);
    const ok = await s.fe.request(s.commId, { type: 'set-hash', id, name: 'AutoV2', value: 'abcdef0123' });
    expect(ok.ok).toBe(true);
    expect(ok.result.hashes.AutoV2).toBe('ABCDEF0123');
    expect(ok.result.hashSources.AutoV2).toBe('manual');
    const bad = await s.fe.request(s.commId, { type: 'set-hash', id, name: 'AutoV2', value: 'xyz' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_hash' } });
  });

  test('refresh asks Civitai again about one model', async () => {
    const id = idOf(s.known[2].rel);
    const before = fake.requests.length;
    const reply = await s.fe.request(s.commId, { type: 'refresh', id });
    expect(reply.ok).toBe(true);
    expect(reply.result.id).toBe(id);
    expect(fake.requests.length).toBeGreaterThan(before);
  });

  test('details carry the entry and the .civitai.info summary', async () => {
    const reply = await s.fe.request(s.commId, { type: 'details', id: idOf(s.known[0].rel) });
    expect(reply.ok).toBe(true);
    expect(reply.result.card.id).toBe(idOf(s.known[0].rel));
    expect(reply.result.fingerprint).toBeTruthy();
    expect(reply.result.info).toMatchObject({ modelName: 'Style 0', trainedWords: ['style0'] });
    expect(Array.isArray(reply.result.info.images)).toBe(true);
  });

  test('export, then import as a document and as file bytes in a buffer', async () => {
    const exp = await s.fe.request(s.commId, { type: 'export' });
    expect(exp.ok).toBe(true);
    expect(exp.result.format).toBe('modeldeck-export');
    expect(exp.result.models).toHaveLength(4);
    const imp = await s.fe.request(s.commId, { type: 'import', doc: exp.result });
    expect(imp).toMatchObject({ ok: true, result: { models: 4, matched: 4 } });
    const bytes = new TextEncoder().encode(JSON.stringify(exp.result));
    const viaBuffer = await s.fe.request(s.commId, { type: 'import' }, [bytes]);
    expect(viaBuffer).toMatchObject({ ok: true, result: { matched: 4 } });
    const bad = await s.fe.request(s.commId, { type: 'import', doc: { format: 'something else' } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_export' } });
    const notJson = await s.fe.request(s.commId, { type: 'import' }, [new TextEncoder().encode('{oops')]);
    expect(notJson).toMatchObject({ ok: false, error: { code: 'bad_export' } });
  });

  test('dismiss removes errors from the state', async () => {
    s.fe.send(s.commId, 'garbage');
    expect(s.fe.state(s.commId).errors.length).toBeGreaterThan(0);
    const reply = await s.fe.request(s.commId, { type: 'dismiss' });
    expect(reply.ok).toBe(true);
    expect(s.fe.state(s.commId).errors).toEqual([]);
  });

  test('a change made through one panel shows in another panel on the same library', async () => {
    const fe2 = new MemoryFrontEnd();
    const other = show(s.root, { host: fe2.host, civitai: civitai(), colab: false });
    await other.ready;
    expect(other.library).toBe(s.panel.library);
    await askWindow(fe2, other.id);
    const from = fe2.received.length;
    const id = idOf(s.known[1].rel);
    // The hand-set hash makes the card manual: the other panel's view gets that card; the hash itself comes with the details.
    await s.fe.request(s.commId, { type: 'set-hash', id, name: 'CRC32', value: '0badf00d' });
    const seen = windowUpserts(fe2, other.id, from);
    expect(seen.map((c) => c.id)).toEqual([id]);
    expect((await fe2.request(other.id, { type: 'details', id })).result.card.hashes.CRC32).toMatch(/^0badf00d$/i);
    other.close();
  });
});

describe('hostile and malformed messages', () => {
  let s: Setup;
  let outsideBefore: string[];
  beforeAll(async () => {
    s = await setup({ scanned: true });
    outsideBefore = listing(tmp.path, s.root);
  });
  afterAll(() => s.panel.close());

  /** Every file under `dir` with size and mtime, except inside `skip` (the library root). */
  function listing(dir: string, skip: string): string[] {
    const out: string[] = [];
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (p === skip || e.name.startsWith('cache-')) continue;
      if (e.isDirectory()) out.push(...listing(p, skip));
      else out.push(`${p} ${statSync(p).size} ${statSync(p).mtimeMs}`);
    }
    return out.sort();
  }

  test('non-object data and unknown methods are dropped with an error in the state, never a reply', () => {
    for (const data of ['text', 42, null, [1, 2], true]) {
      const before = s.fe.state(s.commId).errors.length;
      const from = s.fe.received.length;
      s.fe.send(s.commId, data);
      expect(s.fe.customs(s.commId, 'reply', from)).toHaveLength(0);
      const errors = s.fe.state(s.commId).errors;
      expect(errors.length === before + 1 || errors.length === 50).toBe(true);
      expect(errors.at(-1).code).toBe('bad_request');
    }
    s.fe.send(s.commId, { method: 'launch_missiles' });
    expect(s.fe.state(s.commId).errors.at(-1).message).toMatch(/unknown comm method/);
    s.fe.send(s.commId, { method: 'update', state: 'not an object' });
    expect(s.fe.state(s.commId).errors.at(-1).message).toMatch(/state/);
  });

  test('custom content that is not an object, or has no requestId, gets an error reply with a null requestId', async () => {
    for (const content of ['scan', null, [], { type: 'scan' }, { type: 'scan', requestId: { x: 1 } }]) {
      const from = s.fe.received.length;
      s.fe.send(s.commId, { method: 'custom', content });
      const reply = s.fe.customs(s.commId, 'reply', from)[0].content;
      expect(reply).toMatchObject({ ok: false, requestId: null, error: { code: 'bad_request' } });
    }
  });

  test('an unknown request type gets unknown_request', async () => {
    expect(await s.fe.request(s.commId, { type: 'format-disk' })).toMatchObject({ ok: false, error: { code: 'unknown_request' } });
    expect(await s.fe.request(s.commId, { type: 42 })).toMatchObject({ ok: false, error: { code: 'unknown_request' } });
  });

  test('wrong field types get bad_request', async () => {
    const cases: Record<string, unknown>[] = [
      { type: 'scan', offline: 'yes' },
      { type: 'link', id: 5, ref: 'x' },
      { type: 'link', id: idOf(s.unknown.rel) },
      { type: 'previews', ids: 'all' },
      { type: 'previews', ids: [1, 2] },
      { type: 'previews', ids: Array.from({ length: 501 }, (_, i) => `0:${i}`) },
      { type: 'set-hash', id: idOf(s.unknown.rel), name: 'MD5', value: 'AA' },
      { type: 'export', root: -1 },
      { type: 'export', root: 1.5 },
      { type: 'details', id: '' },
      { type: 'dismiss', ids: ['x'] },
    ];
    for (const c of cases) {
      const reply = await s.fe.request(s.commId, c);
      expect({ c, reply }).toMatchObject({ reply: { ok: false, error: { code: 'bad_request' } } });
    }
    expect(await s.fe.request(s.commId, { type: 'export', root: 7 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  test('a 10 MB string is refused without echoing it back', async () => {
    const huge = 'A'.repeat(10 * 1024 * 1024);
    const from = s.fe.received.length;
    // Refused before any lookup: no clock here (a loaded machine makes anything slow); what must not happen is an echo.
    const reply = await s.fe.request(s.commId, { type: 'link', id: huge, ref: 'x' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const sentBytes = s.fe.messages(s.commId, from).reduce((n, m) => n + JSON.stringify(m.data).length, 0);
    expect(sentBytes).toBeLessThan(10_000);
    const hugeRequestId = await new Promise<any>((resolve) => {
      const at = s.fe.received.length;
      s.fe.send(s.commId, { method: 'custom', content: { type: 'cancel', requestId: huge } });
      resolve(s.fe.customs(s.commId, 'reply', at)[0].content);
    });
    expect(hugeRequestId).toMatchObject({ ok: false, requestId: null });
  });

  test('ids of nothing and path-traversal ids are not found; nothing outside the root is read or written', async () => {
    const ids = ['0:nothing.safetensors', '../../etc/passwd', '0:../../etc/passwd', '0:/etc/passwd', '/etc/passwd', `0:${s.root}/models/Lora/style 0.safetensors`, '9:models/Lora/style 0.safetensors', `0:models/Lora/../Lora/style 0.safetensors`];
    for (const id of ids) {
      for (const req of [
        { type: 'details', id },
        { type: 'refresh', id },
        { type: 'link', id, ref: 'urn:air:sd1:lora:civitai:1@2' },
        { type: 'set-hash', id, name: 'AutoV2', value: 'ABCDEF0123' },
      ]) {
        const reply = await s.fe.request(s.commId, req);
        expect({ req, reply }).toMatchObject({ reply: { ok: false, error: { code: 'not_found' } } });
      }
      const previews = await s.fe.request(s.commId, { type: 'previews', ids: [id] });
      expect(previews.result).toEqual({ sent: 0, missing: [id] });
    }
    expect(listing(tmp.path, s.root)).toEqual(outsideBefore);
  });

  test('a buffer on an update is refused; the session still works after all of the above', async () => {
    s.fe.send(s.commId, { method: 'update', state: { settings: { nsfwLevel: 4 } }, buffer_paths: [['settings']] }, [new Uint8Array(4)]);
    expect(s.panel.state.settings.nsfwLevel).toBe(2);
    const reply = await s.fe.request(s.commId, { type: 'details', id: idOf(s.known[0].rel) });
    expect(reply.ok).toBe(true);
    const scan = await s.fe.request(s.commId, { type: 'scan', offline: true });
    expect(scan.ok).toBe(true);
  });
});

describe('the notebook API', () => {
  test('show(): panel.scan(), panel.models, panel.library, and close() closes the comm', async () => {
    const root = newRoot();
    writeModel(root, 'Lora/a.safetensors', loraBytes());
    const fe = new MemoryFrontEnd();
    const panel = show([root], { host: fe.host, civitai: false, colab: false });
    expect(() => panel.library).toThrow(/ready/);
    expect(panel.models).toEqual([]);
    await panel.ready;
    expect(panel.library).toBeInstanceOf(Library);
    const report = await panel.scan();
    expect(report.files).toBe(1);
    expect(panel.models.map((m) => m.path)).toEqual(['Lora/a.safetensors']);
    expect(fe.state(panel.id).summary.models).toBe(1);
    expect(fe.state(panel.id).summary.civitai).toBe(false);
    panel.close();
    expect(fe.closes.map((c) => c.commId)).toEqual([panel.id]);
    // Closed: nothing more goes out, and the shared library is still open.
    const count = fe.received.length;
    panel.sync();
    expect(fe.received.length).toBe(count);
    expect(panel.library.models()).toHaveLength(1);
  });

  test('show(..., { scan: true }) starts a scan once the library is open', async () => {
    const root = newRoot();
    writeModel(root, 'a.safetensors', loraBytes());
    const fe = new MemoryFrontEnd();
    const panel = show(root, { host: fe.host, civitai: false, colab: false, scan: true });
    await fe.waitFor(() => fe.state(panel.id).summary.lastScan ?? undefined);
    expect(fe.state(panel.id).summary.lastScan).toMatchObject({ files: 1, added: 1 });
    expect((await askWindow(fe, panel.id)).result.cards.map((c: GridCard) => c.id)).toEqual(['0:a.safetensors']);
    panel.close();
  });

  test('Colab is told by COLAB_RELEASE_TAG or COLAB_GPU; MODELDECK_COLAB forces it', () => {
    expect(isColab({})).toBe(false);
    expect(isColab({ COLAB_RELEASE_TAG: 'release-colab_20260401-060000_RC00' })).toBe(true);
    expect(isColab({ COLAB_GPU: '0' })).toBe(true);
    expect(isColab({ COLAB_GPU: '1', MODELDECK_COLAB: '0' })).toBe(false);
    expect(isColab({ MODELDECK_COLAB: '1' })).toBe(true);
  });

  test('a root that cannot be opened is reported in the state, and requests get an error reply', async () => {
    const fe = new MemoryFrontEnd();
    const panel = show(join(tmp.path, 'no-such-folder'), { host: fe.host, civitai: false, colab: false });
    await expect(panel.ready).rejects.toMatchObject({ code: 'bad_root' });
    expect(fe.state(panel.id).errors.at(-1)).toMatchObject({ code: 'bad_root' });
    expect(await fe.request(panel.id, { type: 'export' })).toMatchObject({ ok: false, error: { code: 'bad_root' } });
    panel.close();
  });

  test('the front end closing the comm stops all sends', async () => {
    const root = newRoot();
    writeModel(root, 'a.safetensors', loraBytes());
    const fe = new MemoryFrontEnd();
    const panel = show(root, { host: fe.host, civitai: false, colab: false });
    await panel.ready;
    fe.closeComm(panel.id);
    const count = fe.received.length;
    await panel.scan();
    expect(fe.received.length).toBe(count);
  });
});

describe('the Civitai token', () => {
  test('never appears in anything the kernel sends, though Civitai is used and the token is set', async () => {
    const s = await setup({ scanned: true });
    await s.fe.request(s.commId, { type: 'scan', refresh: true });
    s.fe.send(s.commId, { method: 'request_state' });
    await s.fe.request(s.commId, { type: 'previews', ids: s.known.map((f) => idOf(f.rel)) });
    await s.fe.request(s.commId, { type: 'details', id: idOf(s.known[0].rel) });
    await s.fe.request(s.commId, { type: 'export' });
    await s.fe.request(s.commId, { type: 'refresh', id: idOf(s.known[0].rel) });
    // Errors that quote their input: a token pasted into the link field is scrubbed from the reply.
    const pasted = await s.fe.request(s.commId, { type: 'link', id: idOf(s.unknown.rel), ref: `my key is ${TOKEN}` });
    expect(pasted.ok).toBe(false);
    expect(pasted.error.message).toContain('***');
    await s.fe.request(s.commId, { type: 'link', id: idOf(s.unknown.rel), ref: `https://civitai.com/models/1?token=${TOKEN}` });
    expect(fake.requests.some((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(s.fe.state(s.commId).summary.tokenSet).toBe(true);
    const text = s.fe.allText();
    expect(text.length).toBeGreaterThan(1000);
    expect(text).not.toContain(TOKEN);
    s.panel.close();
  });
});
