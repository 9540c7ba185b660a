/**
 * The panel end to end in a real `modeldeck` kernel process: `show()` in a cell,
 * then the widget protocol over real Jupyter comms, as a front end speaks it,
 * against a real library on disk and the fake Civitai.
 */
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { KernelClient, type KernelMessage } from './helpers/kernel-client';
import { loraBytes, register, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const repo = join(__dirname, '..');
const LAUNCH = join(repo, 'lib', 'kernel', 'launch.js');
const TOKEN = 'mdk-KERNEL-SECRET-9931';

const tmp = useTmpDir();
let fake: FakeCivitai;
let kernel: KernelClient;
let root: string;
let commId: string;

/** Every comm_msg the kernel sent on the panel's comm, from index `since`. */
function panelMessages(since = 0): KernelMessage[] {
  return kernel.iopub.slice(since).filter((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === commId);
}

function send(data: object, buffers: Uint8Array[] = []): Promise<string> {
  return kernel.sendComm('comm_msg', { comm_id: commId, data }, buffers);
}

/**
 * The reply to custom request `requestId`. Matched on the request id, not on
 * arrival: other messages on the comm (deltas, progress) can come first.
 */
function customReply(requestId: string, since: number) {
  return kernel.waitFor(
    (m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === commId && m.content.data?.method === 'custom' && m.content.data.content?.type === 'reply' && m.content.data.content.requestId === requestId,
    { since },
  );
}

/** The panel's comm messages the kernel published while handling front-end message `msgId` (up to its idle). */
async function answerTo(msgId: string): Promise<KernelMessage[]> {
  return (await kernel.answerTo(msgId)).filter((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === commId);
}

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  // A user's project: modeldeck installed in its node_modules, a library of models.
  const project = join(tmp.path, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(project, 'node_modules', 'modeldeck'));
  root = join(tmp.path, 'models');
  const known = writeModel(root, 'Lora/known.safetensors', loraBytes());
  writeModel(root, 'Lora/unknown.safetensors', loraBytes());
  register(fake, known, { name: 'Known In Kernel', images: 1 });
  kernel = await KernelClient.start({
    argv: [process.execPath, LAUNCH, '{connection_file}'],
    cwd: project,
    env: { ...process.env, CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', CIVITAI_TOKEN: TOKEN, MODELDECK_CACHE_DIR: join(tmp.path, 'cache') },
  });
});

afterAll(async () => {
  await kernel?.shutdown();
  await fake?.stop();
});

test('show() in a cell opens a jupyter.widget comm and displays the panel in that cell', async () => {
  const { reply, messages } = await kernel.execute(`import { show } from "modeldeck";\nconst panel = show(${JSON.stringify(root)});`);
  expect(reply.content.status).toBe('ok');
  const open = messages.find((m) => m.header.msg_type === 'comm_open');
  expect(open).toBeDefined();
  expect(open!.content.target_name).toBe('jupyter.widget');
  expect(open!.metadata.version).toBe('2.1.0');
  expect(open!.content.data.state).toMatchObject({ _model_module: 'modeldeck', _model_name: 'ModelsPanelModel', _view_name: 'ModelsPanelView', roots: [root] });
  commId = open!.content.comm_id;
  const display = messages.find((m) => m.header.msg_type === 'display_data');
  expect(display!.content.data['application/vnd.jupyter.widget-view+json']).toMatchObject({ model_id: commId, version_major: 2 });
  // The comm is known to the kernel.
  const info = await kernel.commInfo('jupyter.widget');
  expect(Object.keys(info.content.comms)).toContain(commId);
});

test('show(...) as the last expression of a cell displays the panel alone, with no text under it', async () => {
  const { reply, messages } = await kernel.execute(`show(${JSON.stringify(root)}, { civitai: false })`);
  expect(reply.content.status).toBe('ok');
  expect(messages.filter((m) => m.header.msg_type === 'display_data')).toHaveLength(1);
  expect(messages.filter((m) => m.header.msg_type === 'stream')).toEqual([]);
  // Asked for explicitly, a panel still prints as one line.
  const printed = await kernel.execute('console.log(panel)');
  expect(printed.messages.filter((m) => m.header.msg_type === 'stream').map((m) => m.content.text).join('')).toBe(`[modeldeck panel ${commId}]\n`);
});

test('request_state is answered with the full state; an update is echoed', async () => {
  // The library opens in the background after show(); its first delta (roots,
  // summary) may come before or after our request, with this comm's last
  // message as parent. The answer is what the kernel sent while handling the
  // request itself: between its busy and its idle.
  const request = await send({ method: 'request_state' });
  const answer = await answerTo(request);
  const state = answer.find((m) => m.content.data?.method === 'update');
  expect(state?.content.data.state).toMatchObject({ _model_module: 'modeldeck', _model_name: 'ModelsPanelModel', roots: [root] });
  const update = await send({ method: 'update', state: { settings: { nsfwLevel: 1, previews: true, offline: false } }, buffer_paths: [] });
  const echo = (await answerTo(update)).find((m) => m.content.data?.method === 'echo_update');
  expect(echo?.content.data.state.settings.nsfwLevel).toBe(1);
});

test('a scan request: progress, the window\'s cards, identification, a reply; then previews as binary buffers', async () => {
  // The page's view: the first 50 cards by name.
  const asked = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'window', requestId: 'w-0', query: { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false }, offset: 0, limit: 50, seq: 1 } });
  expect((await customReply('w-0', asked)).content.data.content.ok).toBe(true);
  const since = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'scan', requestId: 'scan-1' } });
  const reply = await customReply('scan-1', since);
  expect(reply.content.data.content.ok).toBe(true);
  const sent = panelMessages(since);
  expect(sent.some((m) => m.content.data.method === 'update' && m.content.data.state?.progress)).toBe(true);
  const cards = sent
    .filter((m) => m.content.data.method === 'custom' && m.content.data.content.type === 'window')
    .flatMap((m) => m.content.data.content.upsert as { id: string; name: string; civitai: { state: string }; preview: string | null }[]);
  const known = cards.filter((c) => c.name.includes('Known In Kernel')).pop();
  expect(known?.civitai.state).toBe('found');
  expect(known?.preview).toBeTruthy();

  const before = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'previews', requestId: 'p-1', ids: [known!.id] } });
  // The previews go out before the reply that counts them.
  expect((await customReply('p-1', before)).content.data.content.result).toEqual({ sent: 1, missing: [] });
  const preview = panelMessages(before).find((m) => m.content.data?.content?.type === 'preview' && m.content.data.content.id === known!.id)!;
  const file = readFileSync(join(root, 'Lora', known!.preview!));
  expect(preview.buffers).toHaveLength(1);
  expect(Buffer.compare(preview.buffers[0], file)).toBe(0);
});

test('an import request carries its document as a binary buffer', async () => {
  const since = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'export', requestId: 'e-1' } });
  const exported = (await customReply('e-1', since)).content.data.content.result;
  expect(exported.format).toBe('modeldeck-export');
  await send({ method: 'custom', content: { type: 'import', requestId: 'i-1' } }, [Buffer.from(JSON.stringify(exported))]);
  const imported = await customReply('i-1', since);
  expect(imported.content.data.content).toMatchObject({ ok: true, result: { models: 2, matched: 2 } });
});

test('hostile comm messages get error replies or are dropped; the kernel and the panel live on', async () => {
  const since = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'previews', requestId: 'bad-1', ids: 'not a list' } });
  expect((await customReply('bad-1', since)).content.data.content.ok).toBe(false);
  await send({ method: 'custom', content: { type: 'details', requestId: 'bad-2', id: '0:../../../etc/passwd' } });
  expect((await customReply('bad-2', since)).content.data.content.error.code).toBe('not_found');
  await send({ method: 'custom', content: { type: 'link', requestId: 'bad-3', id: 'x'.repeat(5_000_000), ref: 'x' } });
  expect((await customReply('bad-3', since)).content.data.content.ok).toBe(false);
  await kernel.sendComm('comm_msg', { comm_id: commId, data: 'not an object' });
  await kernel.sendComm('comm_msg', { comm_id: 'no-such-comm', data: { method: 'request_state' } });
  const { messages } = await kernel.execute('6 * 7');
  expect(messages.filter((m) => m.header.msg_type === 'stream').map((m) => m.content.text).join('')).toContain('42');
  const again = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'details', requestId: 'ok-1', id: '0:Lora/known.safetensors' } });
  expect((await customReply('ok-1', again)).content.data.content.ok).toBe(true);
});

test('the Civitai token never reaches the front end', () => {
  const everything = kernel.iopub.map((m) => JSON.stringify(m.content) + m.buffers.map((b) => b.toString('latin1')).join('')).join('\n');
  expect(everything).toContain('Known In Kernel');
  expect(everything).not.toContain(TOKEN);
});
