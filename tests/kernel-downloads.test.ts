/**
 * Panel downloads in a real `modeldeck` kernel process (tslab): the protocol
 * as a front end speaks it, against the fake Civitai and its fake storage on
 * 127.0.0.1: a download into the library, the same file again (nothing
 * downloaded), cancel and retry, and hostile requests.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { FakeStorage } from './fake-civitai/storage';
import { TOKEN } from './helpers/civitai';
import { KernelClient, type KernelMessage } from './helpers/kernel-client';
import { loraBytes, sha256, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const repo = join(__dirname, '..');
const LAUNCH = join(repo, 'lib', 'kernel', 'launch.js');
const tmp = useTmpDir();
let fake: FakeCivitai;
let storage: FakeStorage;
let kernel: KernelClient;
let root: string;
let commId: string;
let serial = 0;

interface Item { downloadId: string; status: string; origin: string; received: number; message: string | null; code: string | null; path: string | null; cardId: string | null }

function send(content: object): Promise<string> {
  return kernel.sendComm('comm_msg', { comm_id: commId, data: { method: 'custom', content } });
}

async function request(content: Record<string, unknown>) {
  const requestId = `r-${++serial}`;
  const since = kernel.iopub.length;
  await send({ ...content, requestId });
  const m = await kernel.waitFor((x) => x.header.msg_type === 'comm_msg' && x.content.comm_id === commId && x.content.data?.content?.type === 'reply' && x.content.data.content.requestId === requestId, { since });
  return m.content.data.content as { ok: boolean; result?: any; error?: { code: string; message: string } };
}

/** The first `downloads` update (from `since`) in which download `id` satisfies `pred`. */
async function downloadState(id: string, pred: (i: Item) => boolean, since: number): Promise<Item> {
  const found = (m: KernelMessage) => (m.content.data?.state?.downloads as Item[] | undefined)?.find((i) => i.downloadId === id);
  const m = await kernel.waitFor((x) => x.header.msg_type === 'comm_msg' && x.content.comm_id === commId && x.content.data?.method === 'update' && !!found(x) && pred(found(x)!), { since });
  return found(m)!;
}

function addLora(name: string, size = 3 * 1024 * 1024) {
  const bytes = loraBytes({}, size);
  const ids = fake.addVersion({ modelName: `Model ${name}`, type: 'LORA', baseModel: 'SD 1.5', files: [{ name, hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
  return { bytes, ...ids };
}

beforeAll(async () => {
  storage = await new FakeStorage().start();
  fake = await new FakeCivitai({ fixturesDir: null, token: TOKEN }).start();
  fake.storage = storage;
  const project = join(tmp.path, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(project, 'node_modules', 'modeldeck'));
  root = join(tmp.path, 'models');
  mkdirSync(root, { recursive: true });
  kernel = await KernelClient.start({
    argv: [process.execPath, LAUNCH, '{connection_file}'],
    cwd: project,
    env: {
      ...process.env,
      CIVITAI_BASE_URL: fake.url,
      CIVITAI_FALLBACK_BASE_URLS: '',
      CIVITAI_TOKEN: TOKEN,
      MODELDECK_ALLOWED_ORIGINS: storage.url,
      MODELDECK_CACHE_DIR: join(tmp.path, 'cache'),
      MODELDECK_DOWNLOAD_RETRY_MS: '20',
    },
  });
  const { messages } = await kernel.execute(`import { show } from "modeldeck";\nconst panel = show(${JSON.stringify(root)});\nawait panel.ready.then(() => undefined);`);
  commId = messages.find((m) => m.header.msg_type === 'comm_open')!.content.comm_id;
});

afterAll(async () => {
  await kernel?.shutdown();
  await Promise.all([fake?.stop(), storage?.stop()]);
});
afterEach(() => {
  storage.faults = {};
});

test('a pasted link: progress in the downloads state, the file in the kind folder, verified, identified in the grid; no token on the comm', async () => {
  const m = addLora('panel lora.safetensors');
  const since = kernel.iopub.length;
  const started = await request({ type: 'download', ref: String(m.versionId) });
  expect(started).toMatchObject({ ok: true, result: { downloadId: expect.stringMatching(/^d\d+$/) } });
  const id = started.result.downloadId;
  const done = await downloadState(id, (i) => i.status === 'done' || i.status === 'error', since);
  expect(done).toMatchObject({ status: 'done', path: 'models/Lora/panel lora.safetensors', cardId: '0:models/Lora/panel lora.safetensors', message: null });
  const path = join(root, 'models/Lora/panel lora.safetensors');
  expect(readFileSync(path).equals(m.bytes)).toBe(true);
  expect(readdirSync(join(root, 'models/Lora')).filter((f) => f.includes('.part'))).toEqual([]);
  // The grid's window has the model, identified.
  const w = await request({ type: 'window', query: { search: 'panel', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false }, offset: 0, limit: 10, seq: 1 });
  expect(w.result.cards).toEqual([expect.objectContaining({ id: done.cardId, civitai: expect.objectContaining({ state: 'found', modelName: 'Model panel lora.safetensors' }) })]);
  // The downloads come back whole with request_state (a reloaded page).
  const rs = await kernel.sendComm('comm_msg', { comm_id: commId, data: { method: 'request_state' } });
  const state = (await kernel.answerTo(rs)).find((x) => x.content.data?.method === 'update')!;
  expect((state.content.data.state.downloads as Item[]).find((i) => i.downloadId === id)).toMatchObject({ status: 'done' });
  // Nothing the panel's comm carried names the token.
  expect(JSON.stringify(kernel.iopub.filter((x) => x.content.comm_id === commId))).not.toContain(TOKEN);
});

test('a link to a file whose SHA256 is already in the library: warned with its path, nothing downloaded', async () => {
  const m = addLora('twice.safetensors');
  let since = kernel.iopub.length;
  const first = await request({ type: 'download', ref: `https://civitai.com/models/${m.modelId}` });
  await downloadState(first.result.downloadId, (i) => i.status === 'done', since);
  const served = storage.requests.length;
  since = kernel.iopub.length;
  const again = await request({ type: 'download', ref: `urn:air:sd1:lora:civitai:${m.modelId}@${m.versionId}` });
  const warned = await downloadState(again.result.downloadId, (i) => !['queued', 'resolving'].includes(i.status), since);
  expect(warned).toMatchObject({ status: 'exists', message: `already in the library: ${join(root, 'models/Lora/twice.safetensors')}`, cardId: '0:models/Lora/twice.safetensors' });
  expect(storage.requests.length).toBe(served);
  expect(existsSync(join(root, 'models/Lora/twice-2.safetensors'))).toBe(false);
});

test('cancel: no final file, the .part kept as get keeps it; retry resumes it to a verified file', async () => {
  const m = addLora('slow.safetensors', 6 * 1024 * 1024);
  storage.faults = { bytesPerSecond: 200_000 };
  let since = kernel.iopub.length;
  const started = await request({ type: 'download', ref: String(m.versionId) });
  const id = started.result.downloadId;
  await downloadState(id, (i) => i.status === 'downloading' && i.received > 0, since);
  since = kernel.iopub.length;
  expect(await request({ type: 'download-cancel', downloadId: id })).toMatchObject({ ok: true, result: { cancelled: true } });
  const cancelled = await downloadState(id, (i) => i.status === 'cancelled', since);
  expect(cancelled.message).toMatch(/^slow\.safetensors: cancelled/);
  const folder = join(root, 'models/Lora');
  expect(existsSync(join(folder, 'slow.safetensors'))).toBe(false);
  expect(existsSync(join(folder, 'slow.safetensors.part'))).toBe(true);
  // A second cancel of a finished download changes nothing.
  expect(await request({ type: 'download-cancel', downloadId: id })).toMatchObject({ ok: true, result: { cancelled: false } });

  storage.faults = {};
  since = kernel.iopub.length;
  expect(await request({ type: 'download-retry', downloadId: id })).toMatchObject({ ok: true, result: { downloadId: id } });
  const done = await downloadState(id, (i) => i.status === 'done' || i.status === 'error', since);
  expect(done.status).toBe('done');
  expect(readFileSync(join(folder, 'slow.safetensors')).equals(m.bytes)).toBe(true);
  expect(readdirSync(folder).filter((f) => f.startsWith('slow.safetensors.part'))).toEqual([]);
});

test('"download update": the version the check offered goes into the folder of the version it updates', async () => {
  const old = writeModel(root, 'models/Lora/styles/ink v1.safetensors', loraBytes({ ink: '1' }));
  const { modelId } = fake.addVersion({ modelName: 'Ink', name: 'v1', baseModel: 'SD 1.5', publishedAt: '2026-01-01T00:00:00.000Z', files: [{ name: 'ink v1.safetensors', hashes: { SHA256: old.SHA256 }, primary: true }] });
  const newer = loraBytes({ ink: '2' }, 1024 * 1024);
  const v2 = fake.addVersion({ modelId, name: 'v2', baseModel: 'SD 1.5', publishedAt: '2026-02-01T00:00:00.000Z', files: [{ name: 'ink v2.safetensors', hashes: { SHA256: sha256(newer) }, sizeKB: newer.length / 1024, primary: true, content: newer }] });
  expect(await request({ type: 'scan' })).toMatchObject({ ok: true });
  const checked = await request({ type: 'updates', refresh: true });
  const offered = (checked.result.updates as { modelId: number; latest: { versionId: number }; ids: string[] }[]).find((u) => u.modelId === modelId)!;
  expect(offered).toMatchObject({ latest: { versionId: v2.versionId }, ids: ['0:models/Lora/styles/ink v1.safetensors'] });
  // A version the check did not offer for that card is refused.
  expect(await request({ type: 'download-update', id: offered.ids[0], versionId: v2.versionId + 1000 })).toMatchObject({ ok: false, error: { code: 'no_update' } });
  const since = kernel.iopub.length;
  const started = await request({ type: 'download-update', id: offered.ids[0], versionId: v2.versionId });
  expect(started.ok).toBe(true);
  const done = await downloadState(started.result.downloadId, (i) => i.status === 'done' || i.status === 'error', since);
  expect(done).toMatchObject({ status: 'done', origin: 'update', path: 'models/Lora/styles/ink v2.safetensors' });
  expect(readFileSync(join(root, 'models/Lora/styles/ink v2.safetensors')).equals(newer)).toBe(true);
});

test('hostile requests get a one-line error and queue nothing', async () => {
  const one = (r: { ok: boolean; error?: { code: string; message: string } }) => {
    expect(r.ok).toBe(false);
    expect(r.error!.message).not.toMatch(/\n/);
    return r.error!;
  };
  expect(one(await request({ type: 'download', ref: 'ftp://example.com/x.safetensors' })).code).toBe('bad_source');
  const internal = one(await request({ type: 'download', ref: 'https://10.0.0.7/models/x.safetensors?sig=abc' }));
  expect(internal.code).toBe('refused_url');
  expect(internal.message).toContain('local or private address');
  expect(internal.message).not.toContain('sig=');
  expect(one(await request({ type: 'download', ref: 'https://civitai.com/models/1\nrm -rf' })).code).toBe('bad_request');
  expect(one(await request({ type: 'download', ref: 'x'.repeat(5000) })).code).toBe('bad_request');
  expect(one(await request({ type: 'download-cancel', downloadId: '../etc' })).code).toBe('bad_request');
  expect(one(await request({ type: 'download-retry', downloadId: 'd999999' })).code).toBe('not_found');
  expect(one(await request({ type: 'download-update', id: '0:models/Lora/slow.safetensors', versionId: 424242 })).code).toBe('no_update');
});

test('a cell that prints the panel, its library or a fresh Library shows no token, at any depth', async () => {
  const printed = async (code: string) => {
    const { messages } = await kernel.execute(code);
    const text = messages
      .filter((m) => m.header.msg_type === 'stream' || m.header.msg_type === 'execute_result')
      .map((m) => m.content.text ?? m.content.data?.['text/plain'] ?? '')
      .join('');
    expect(text.length).toBeGreaterThan(200); // something was printed, so the check below can fail
    return text;
  };
  // The panel prints one line; what is behind it (the session with the secrets it
  // scrubs, the library, its Civitai client) is reachable from a cell.
  const shown = await printed('panel.library');
  expect(shown).toContain('Library');
  expect(shown).not.toContain(TOKEN);
  const deep = await printed('console.log(require("node:util").inspect((panel as any).session, { depth: Infinity }))');
  expect(deep).toContain('CivitaiClient');
  expect(deep).not.toContain(TOKEN);
  const lib = await printed(`const { Library } = require("modeldeck");\nconst lib = await Library.open([${JSON.stringify(root)}]);\nconsole.log(require("node:util").inspect(lib, { depth: Infinity }));\nJSON.stringify(lib.civitai.config)`);
  expect(lib).toContain(fake.url.replace(/\/$/, ''));
  expect(lib).not.toContain(TOKEN);
  // The token is still there for the code that sends it: the downloads above used it.
  const { messages } = await kernel.execute('console.log(`length=${lib.civitai!.config.token!.length}`)');
  expect(messages.find((m) => m.header.msg_type === 'stream')?.content.text).toBe(`length=${TOKEN.length}\n`);
});
