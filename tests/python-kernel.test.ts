/**
 * The Python route end to end in a real Debian python3-ipykernel kernel:
 * `modeldeck.show()` opens anywidget's jupyter.widget comm and relays it to a
 * real Node session process; scans run against the fake Civitai on a real
 * library; the front end's messages (hostile ones too) go over real Jupyter
 * comms; the Node process is checked gone after close, shutdown and SIGKILL.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { FakeStorage } from './fake-civitai/storage';
import type { KernelClient, KernelMessage } from './helpers/kernel-client';
import { loraBytes, register, sha256, writeModel } from './helpers/library';
import { isAlive, printed, processEnds, run, startPythonKernel } from './helpers/python-kernel';
import { useTmpDir } from './helpers/tmpdir';

const TOKEN = 'mdk-PYTHON-SECRET-4417';
const tmp = useTmpDir();
let fake: FakeCivitai;
let storage: FakeStorage;
let root: string;
let kernel: KernelClient;
let commId: string;
let nodePid: number;
let env: NodeJS.ProcessEnv;

function send(data: unknown, buffers: Uint8Array[] = []): Promise<string> {
  return kernel.sendComm('comm_msg', { comm_id: commId, data }, buffers);
}

function customFromPanel(predicate: (content: any) => boolean, since: number): Promise<KernelMessage> {
  return kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === commId && m.content.data?.method === 'custom' && predicate(m.content.data.content), { since });
}

/** The cards of a window over the whole library, from the reply carrying this request's id. */
async function windowCards(requestId: string): Promise<any[]> {
  const since = kernel.iopub.length;
  const query = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };
  await send({ method: 'custom', content: { type: 'window', requestId, query, offset: 0, limit: 50, seq: 1 } });
  const reply = await customFromPanel((c) => c.type === 'reply' && c.requestId === requestId, since);
  const content = reply.content.data.content;
  expect(content.ok).toBe(true);
  return content.result.cards;
}

async function nodePidOf(k: KernelClient, panel = 'p'): Promise<number> {
  return Number(printed(await run(k, `print(${panel}._relay.process.pid)`)).trim());
}

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  storage = await new FakeStorage().start();
  fake.storage = storage;
  root = join(tmp.path, 'models');
  const known = writeModel(root, 'Lora/known.safetensors', loraBytes());
  writeModel(root, 'Lora/unknown.safetensors', loraBytes());
  register(fake, known, { name: 'Known From Python', images: 1 });
  env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', CIVITAI_TOKEN: TOKEN, MODELDECK_CACHE_DIR: join(tmp.path, 'cache'), MODELDECK_PACKAGE_DIR: '', MODELDECK_ALLOWED_ORIGINS: storage.url };
  kernel = await startPythonKernel(env);
});

afterAll(async () => {
  await kernel?.shutdown();
  if (nodePid && isAlive(nodePid)) process.kill(nodePid, 'SIGKILL');
  await fake?.stop();
  await storage?.stop();
});

test('show() opens a jupyter.widget comm with anywidget\'s model, the panel as _esm, and displays it', async () => {
  const messages = await run(kernel, `import modeldeck, json\np = modeldeck.show(${JSON.stringify(root)})`);
  const open = messages.find((m) => m.header.msg_type === 'comm_open');
  expect(open).toBeDefined();
  expect(open!.content.target_name).toBe('jupyter.widget');
  const state = open!.content.data.state;
  expect(state).toMatchObject({ _model_module: 'anywidget', _model_name: 'AnyModel', _view_module: 'anywidget', _view_name: 'AnyView', roots: [root] });
  expect(state._model_module_version).toMatch(/^\d+\.\d+\.\d+$/);
  expect(typeof state._esm).toBe('string');
  expect(state._esm.length).toBeGreaterThan(10_000);
  // The bundle's default export (test the text without printing 90 KB of it on failure).
  expect(/export\s*\{[^}]*\bas default\b[^}]*\}\s*;?\s*$/.test(state._esm)).toBe(true);
  expect(state._css).toContain('.modeldeck');
  expect(state._anywidget_id).toMatch(/^modeldeck\./);
  commId = open!.content.comm_id;
  const display = messages.find((m) => m.header.msg_type === 'display_data');
  expect(display!.content.data['application/vnd.jupyter.widget-view+json']).toMatchObject({ model_id: commId, version_major: 2 });
  // The token reached Node's environment only: nothing the kernel published carries it.
  expect(JSON.stringify(kernel.iopub)).not.toContain(TOKEN);
  nodePid = await nodePidOf(kernel);
  expect(isAlive(nodePid)).toBe(true);
});

test('p.scan() runs to its end, shows progress in the cell, identifies the library and returns the report as a dict', async () => {
  const messages = await run(kernel, 'r = p.scan()\nprint(json.dumps({k: r[k] for k in ("files", "identified", "notOnCivitai", "cancelled")}))');
  expect(JSON.parse(printed(messages))).toEqual({ files: 2, identified: 1, notOnCivitai: 1, cancelled: false });
  const lines = messages.filter((m) => m.header.msg_type === 'display_data' || m.header.msg_type === 'update_display_data').map((m) => m.content.data['text/plain']);
  expect(lines[lines.length - 1]).toMatch(/^scan: done, 2 files, 1 identified/);
  // The panel sees it: a window of the whole library, asked over the comm as the page does, holds the identified card.
  const cards = await windowCards('w-scan');
  expect(cards.map((c: any) => c.name)).toContain('Known From Python v9000002');
  expect(JSON.stringify(kernel.iopub)).not.toContain(TOKEN);
});

test('p.models lists the library as plain dicts', async () => {
  const out = JSON.parse(printed(await run(kernel, 'print(json.dumps(p.models))')));
  expect(out.map((m: any) => m.absolute).sort()).toEqual([join(root, 'Lora/known.safetensors'), join(root, 'Lora/unknown.safetensors')]);
  const known = out.find((m: any) => m.absolute.endsWith('known.safetensors') && !m.absolute.endsWith('unknown.safetensors'));
  expect(known.root).toBe(root);
  expect(known.civitai).toMatchObject({ status: 'found' });
  expect(JSON.stringify(known)).toContain('Known From Python');
});

test('preview bytes reach the comm as binary buffers', async () => {
  const card = (await windowCards('w-preview')).find((c: any) => c.name === 'Known From Python v9000002');
  expect(card.preview).not.toBeNull();
  const at = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'previews', requestId: 'pv-1', ids: [card.id] } });
  const preview = await customFromPanel((c) => c.type === 'preview' && c.id === card.id, at);
  expect(preview.buffers).toHaveLength(1);
  const bytes = preview.buffers![0]!;
  expect(bytes.length).toBeGreaterThan(16);
  expect(preview.content.data.content.mime).toMatch(/^image\//);
  // Raw image bytes, not base64 text: PNG/JPEG/WebP magic.
  expect([0x89, 0xff, 0x52]).toContain(bytes[0]);
  await customFromPanel((c) => c.type === 'reply' && c.requestId === 'pv-1' && c.ok === true, at);
});

test('hostile front-end messages are dropped or refused; the kernel and the panel keep working', async () => {
  const at = kernel.iopub.length;
  await send('not an object');
  await send({ method: 'custom', content: { type: 'no-such-request', requestId: 'bad-1' } });
  await send({ method: 'update', state: { roots: ['/etc'], _esm: 'alert(1)' } });
  await send({ method: 'custom', content: { type: 'previews', requestId: 'bad-2', ids: 'x'.repeat(100) } });
  // Over the 64 MiB frame limit: the relay drops it without asking Node.
  await send({ method: 'custom', content: { type: 'previews', requestId: 'huge', ids: [] } }, [new Uint8Array(65 * 1024 * 1024)]);
  // Dropped with a logged reason (the kernel's stderr: the server's log, not a cell).
  await kernel.stderrMatching(/modeldeck: frame comm_msg to the session dropped: frame of \d+ bytes \(at most/);
  await customFromPanel((c) => c.type === 'reply' && c.requestId === 'bad-1' && c.ok === false, at);
  await customFromPanel((c) => c.type === 'reply' && c.requestId === 'bad-2' && c.ok === false, at);
  // The kernel answers a cell, and the panel a request, after all of that.
  expect(printed(await run(kernel, 'print(1 + 1)')).trim()).toBe('2');
  const after = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'previews', requestId: 'ok-after', ids: [] } });
  await customFromPanel((c) => c.type === 'reply' && c.requestId === 'ok-after', after);
  const state = JSON.parse(printed(await run(kernel, 'print(json.dumps(p.state["roots"]))')));
  expect(state).toEqual([root]);
  expect(kernel.iopub.some((m) => m.content.comm_id === commId && m.content.data?.content?.requestId === 'huge')).toBe(false);
  expect(isAlive(nodePid)).toBe(true);
});

test('download requests travel the Python route: an internal host is refused with one line, nothing is queued', async () => {
  const at = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'download', requestId: 'dl-1', ref: 'https://10.0.0.7/models/x.safetensors' } });
  await send({ method: 'custom', content: { type: 'download-clear', requestId: 'dl-2' } });
  const refused = (await customFromPanel((c) => c.type === 'reply' && c.requestId === 'dl-1', at)).content.data.content;
  expect(refused).toMatchObject({ ok: false, error: { code: 'refused_url' } });
  expect(refused.error.message).not.toMatch(/\n/);
  expect((await customFromPanel((c) => c.type === 'reply' && c.requestId === 'dl-2', at)).content.data.content).toMatchObject({ ok: true, result: { removed: 0 } });
});

test('a pasted link downloads through the Python route: its end in the downloads state, the file verified, its card identified', async () => {
  const bytes = loraBytes({}, 3 * 1024 * 1024);
  const m = fake.addVersion({ modelName: 'Fetched From Python', type: 'LORA', baseModel: 'SD 1.5', files: [{ name: 'from-python.safetensors', hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
  const at = kernel.iopub.length;
  await send({ method: 'custom', content: { type: 'download', requestId: 'dl-3', ref: `https://civitai.com/models/${m.modelId}` } });
  const started = (await customFromPanel((c) => c.type === 'reply' && c.requestId === 'dl-3', at)).content.data.content;
  expect(started).toMatchObject({ ok: true, result: { downloadId: expect.any(String) } });
  const item = (msg: KernelMessage) => (msg.content.data?.state?.downloads as any[] | undefined)?.find((d) => d.downloadId === started.result.downloadId);
  const ended = await kernel.waitFor((x) => x.header.msg_type === 'comm_msg' && x.content.comm_id === commId && x.content.data?.method === 'update' && ['done', 'error'].includes(item(x)?.status), { since: at });
  expect(item(ended)).toMatchObject({ status: 'done', path: 'Lora/from-python.safetensors', message: null });
  expect(readFileSync(join(root, 'Lora/from-python.safetensors')).equals(bytes)).toBe(true);
  const found = (await windowCards('w-dl')).find((c) => c.id === item(ended).cardId);
  expect(found).toMatchObject({ civitai: expect.objectContaining({ state: 'found', modelName: 'Fetched From Python' }) });
  expect(JSON.stringify(kernel.iopub.slice(at))).not.toContain(TOKEN);
});

test('p.close() closes the comm and ends the Node process', async () => {
  const messages = await run(kernel, 'p.close()');
  expect(messages.some((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === commId)).toBe(true);
  expect(await processEnds(nodePid)).toBe(true);
  // show() again starts a new session.
  await run(kernel, `p2 = modeldeck.show(${JSON.stringify(root)})`);
  const second = await nodePidOf(kernel, 'p2');
  expect(second).not.toBe(nodePid);
  nodePid = second;
});

test('a Node process that dies is reported in the panel\'s banner; show() again recovers', async () => {
  const opened = kernel.iopub.filter((m) => m.header.msg_type === 'comm_open');
  const p2Comm = opened[opened.length - 1]!.content.comm_id;
  const since = kernel.iopub.length;
  process.kill(nodePid, 'SIGKILL');
  const banner = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === p2Comm && m.content.data?.state?.errors?.[0]?.code === 'session_ended', { since });
  expect(banner.content.data.state.errors[0].message).toMatch(/run modeldeck\.show\(\) again/);
  // A call on the dead panel is one clear error, not a hang.
  const { reply, messages } = await kernel.execute('p2.models');
  expect(reply.content.status).toBe('error');
  expect(messages.find((m) => m.header.msg_type === 'error')!.content.traceback).toEqual([expect.stringMatching(/^modeldeck: .*show\(\) again/)]);
  await run(kernel, `p3 = modeldeck.show(${JSON.stringify(root)})`);
  nodePid = await nodePidOf(kernel, 'p3');
  // The two files written at the start and the one downloaded through the Python route.
  expect(JSON.parse(printed(await run(kernel, 'print(json.dumps(len(p3.models)))')))).toBe(3);
});

test('frontend="modeldeck" opens modeldeck\'s own widget module instead of anywidget\'s', async () => {
  const messages = await run(kernel, `p4 = modeldeck.show(${JSON.stringify(root)}, frontend="modeldeck")`);
  const state = messages.find((m) => m.header.msg_type === 'comm_open')!.content.data.state;
  expect(state).toMatchObject({ _model_module: 'modeldeck', _model_name: 'ModelsPanelModel', _view_name: 'ModelsPanelView' });
  expect(state._esm).toBeUndefined();
  const { reply, messages: bad } = await kernel.execute(`modeldeck.show(${JSON.stringify(root)}, frontend="nope")`);
  expect(reply.content.status).toBe('error');
  expect(bad.find((m) => m.header.msg_type === 'error')!.content.traceback).toEqual([expect.stringMatching(/^modeldeck: frontend must be one of anywidget, modeldeck/)]);
});

test('a kernel shutdown ends the Node process', async () => {
  const k = await startPythonKernel(env);
  try {
    await run(k, `import modeldeck\np = modeldeck.show(${JSON.stringify(root)})`);
    const pid = await nodePidOf(k);
    expect(isAlive(pid)).toBe(true);
    await k.shutdown();
    expect(await processEnds(pid)).toBe(true);
    // The kernel exited by itself (its shutdown was not held up by its child), not killed by the client.
    expect(k.process.signalCode).toBeNull();
  } finally {
    await k.shutdown();
  }
});

test('a SIGKILLed kernel leaves no Node process behind', async () => {
  const k = await startPythonKernel(env);
  try {
    await run(k, `import modeldeck\np = modeldeck.show(${JSON.stringify(root)})`);
    const pid = await nodePidOf(k);
    expect(isAlive(pid)).toBe(true);
    k.process.kill('SIGKILL');
    expect(await processEnds(pid)).toBe(true);
  } finally {
    await k.shutdown();
  }
});

test('Node missing or too old is one clear line, not a traceback', async () => {
  const oldNode = join(tmp.path, 'old-node');
  writeFileSync(oldNode, '#!/bin/sh\necho v20.17.0\n', { mode: 0o755 });
  for (const [node, says] of [[join(tmp.path, 'no-such-node'), /^modeldeck: cannot run .*no-such-node.*install Node\.js 20\.18/], [oldNode, /^modeldeck: Node\.js v20\.17\.0 is too old; install Node\.js 20\.18/]] as const) {
    const k = await startPythonKernel({ ...env, MODELDECK_NODE: node });
    try {
      const { reply, messages } = await k.execute(`import modeldeck\nmodeldeck.show(${JSON.stringify(root)})`);
      expect(reply.content.status).toBe('error');
      const error = messages.find((m) => m.header.msg_type === 'error');
      expect(error!.content.traceback).toHaveLength(1);
      expect(error!.content.traceback[0]).toMatch(says);
    } finally {
      await k.shutdown();
    }
  }
});
