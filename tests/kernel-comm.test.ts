/**
 * Jupyter comms in a real kernel process: the `modeldeck` launcher (as the
 * kernelspec starts it), plain tslab patched from a cell, and the kernelspec
 * install. The tests talk to the kernel over ZeroMQ like a front end would.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac, randomUUID } from 'node:crypto';
import { checkTslabInternals, getCommHost, installComms, isTslabKernel, NotInKernelError, TslabInternalsError } from '../src/kernel/comm';
import { parseFrames, serializeMessage } from '../src/kernel/comm/wire';
import { SocketWriter } from '../src/kernel/comm/writer';
import { runCli } from './helpers/cli';
import { KernelClient, type KernelMessage } from './helpers/kernel-client';

const root = join(__dirname, '..');
const LAUNCH = join(root, 'lib', 'kernel', 'launch.js');
const COMM = join(root, 'lib', 'kernel', 'comm', 'index.js');
const TSLAB_BIN = join(root, 'node_modules', 'tslab', 'bin', 'tslab');

/** Output text of a cell (stream + execute_result text/plain), for error messages. */
function outputOf(messages: KernelMessage[]): string {
  return messages
    .map((m) => (m.header.msg_type === 'stream' ? m.content.text : m.header.msg_type === 'execute_result' || m.header.msg_type === 'error' ? JSON.stringify(m.content) : ''))
    .join('');
}

/**
 * The value of a cell's last expression. tslab prints it with console.log
 * (a stdout stream, strings without quotes), not as an execute_result.
 */
function resultOf(messages: KernelMessage[]): string {
  return messages
    .filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout')
    .map((m) => m.content.text)
    .join('')
    .trim();
}

/** Runs a cell and fails with its output unless it ran cleanly. */
async function run(kernel: KernelClient, code: string) {
  const result = await kernel.execute(code);
  if (result.reply.content.status !== 'ok') throw new Error(`cell failed: ${outputOf(result.messages)}\n${kernel.stderr}`);
  return result;
}

/** The busy and idle statuses published for request `msgId`, in order. */
function statusesFor(kernel: KernelClient, msgId: string): string[] {
  return kernel.messagesFor(msgId).filter((m) => m.header.msg_type === 'status').map((m) => m.content.execution_state);
}

function waitIdle(kernel: KernelClient, msgId: string): Promise<KernelMessage> {
  return kernel.idleAfter(msgId);
}

/** Cell code that registers an echo target: every comm_msg comes back as {echo: data} with the same buffers. */
const ECHO_TARGET = `
const echoHost = require(${JSON.stringify(COMM)}).installComms();
(globalThis as any).received = [];
echoHost.registerTarget('test.echo', (c: any, openData: any) => {
  c.send({ opened: openData });
  c.onMessage((data: any, buffers: Uint8Array[]) => {
    (globalThis as any).received.push(data);
    c.send({ echo: data, sizes: buffers.map((b) => b.length) }, { buffers });
  });
});
echoHost.registerTarget('test.throws', () => { throw new Error('target exploded'); });
'registered'`;

describe('the modeldeck kernel (lib/kernel/launch.js)', () => {
  let kernel: KernelClient;

  beforeAll(async () => {
    kernel = await KernelClient.start({ argv: [process.execPath, LAUNCH, '{connection_file}'] });
  });
  afterAll(async () => {
    await kernel?.shutdown();
  });

  test('executes cells', async () => {
    const { reply, messages } = await run(kernel, '1+1');
    expect(reply.header.msg_type).toBe('execute_reply');
    expect(resultOf(messages)).toBe('2');
  });

  test('answers comm_info_request with a proper comm_info_reply', async () => {
    const reply = await kernel.commInfo('jupyter.widget');
    expect(reply.header.msg_type).toBe('comm_info_reply');
    expect(reply.content).toEqual({ status: 'ok', comms: {} });
    expect(reply.signatureOk).toBe(true);
    await waitIdle(kernel, reply.parent_header.msg_id!);
    expect(statusesFor(kernel, reply.parent_header.msg_id!)).toEqual(['busy', 'idle']);
  });

  test('a comm opened by the kernel reaches the front end, and comm_info lists it by target', async () => {
    const { messages } = await run(
      kernel,
      `const { getCommHost } = require(${JSON.stringify(COMM)});
       const c = getCommHost().openComm('test.kernel', { hello: 1 }, { metadata: { version: '2.1.0' }, buffers: [new Uint8Array([1, 2, 3])] });
       getCommHost().display({ 'text/plain': 'a widget', 'application/vnd.jupyter.widget-view+json': { model_id: c.id, version_major: 2, version_minor: 1 } });
       c.id`,
    );
    const open = messages.find((m) => m.header.msg_type === 'comm_open');
    expect(open).toBeDefined();
    expect(open!.signatureOk).toBe(true);
    expect(open!.content).toMatchObject({ target_name: 'test.kernel', data: { hello: 1 } });
    expect(open!.metadata).toEqual({ version: '2.1.0' });
    expect([...open!.buffers[0]]).toEqual([1, 2, 3]);
    const id = open!.content.comm_id as string;
    expect(resultOf(messages)).toBe(id);
    // The display lands in this cell, after the comm_open.
    const types = messages.map((m) => m.header.msg_type);
    expect(types.indexOf('display_data')).toBeGreaterThan(types.indexOf('comm_open'));
    const display = messages.find((m) => m.header.msg_type === 'display_data')!;
    expect(display.content.data['application/vnd.jupyter.widget-view+json'].model_id).toBe(id);

    const all = await kernel.commInfo();
    expect(all.content.comms[id]).toEqual({ target_name: 'test.kernel' });
    const other = await kernel.commInfo('jupyter.widget');
    expect(other.content.comms[id]).toBeUndefined();
  });

  test('comm_msg from the front end reaches the target handler; the echo carries the buffers intact', async () => {
    await run(kernel, ECHO_TARGET);
    const openId = await kernel.sendComm('comm_open', { comm_id: 'echo-1', target_name: 'test.echo', data: { x: 1 } });
    const opened = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === 'echo-1');
    expect(opened.content.data).toEqual({ opened: { x: 1 } });
    expect(opened.parent_header.msg_id).toBe(openId);
    await waitIdle(kernel, openId);
    expect(statusesFor(kernel, openId)).toEqual(['busy', 'idle']);

    // Without buffers.
    const plainId = await kernel.sendComm('comm_msg', { comm_id: 'echo-1', data: { method: 'update', state: { value: 42 } } });
    const plain = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.parent_header.msg_id === plainId);
    expect(plain.content.data).toEqual({ echo: { method: 'update', state: { value: 42 } }, sizes: [] });
    await waitIdle(kernel, plainId);
    expect(statusesFor(kernel, plainId)).toEqual(['busy', 'idle']);

    // With binary buffers, including bytes that are not UTF-8 and an empty one.
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const buffers = [Buffer.from([0, 255, 128, 10, 13]), Buffer.alloc(0), big];
    const binId = await kernel.sendComm('comm_msg', { comm_id: 'echo-1', data: { method: 'custom', content: { n: 3 } } }, buffers);
    const echo = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.parent_header.msg_id === binId);
    expect(echo.signatureOk).toBe(true);
    expect(echo.content.data.sizes).toEqual([5, 0, 300_000]);
    expect(echo.buffers).toHaveLength(3);
    echo.buffers.forEach((b, i) => expect(Buffer.compare(b, buffers[i])).toBe(0));
    await waitIdle(kernel, binId);
    const order = kernel.messagesFor(binId).map((m) => m.header.msg_type + (m.content.execution_state ? `:${m.content.execution_state}` : ''));
    expect(order).toEqual(['status:busy', 'comm_msg', 'status:idle']);

    const { messages } = await run(kernel, 'JSON.stringify((globalThis as any).received.map((d: any) => d.method))');
    expect(resultOf(messages)).toBe('["update","custom"]');
  });

  test('a comm_open to an unknown target gets a comm_close back', async () => {
    const msgId = await kernel.sendComm('comm_open', { comm_id: 'ctl-1', target_name: 'jupyter.widget.control', data: {} }, [], { version: '1.0.0' });
    const close = await kernel.waitFor((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === 'ctl-1');
    expect(close.parent_header.msg_id).toBe(msgId);
    await waitIdle(kernel, msgId);
    expect(statusesFor(kernel, msgId)).toEqual(['busy', 'idle']);
    // A target whose handler throws: logged, the comm is closed, the kernel goes on.
    const throwsId = await kernel.sendComm('comm_open', { comm_id: 'bad-1', target_name: 'test.throws', data: {} });
    await kernel.waitFor((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === 'bad-1');
    await waitIdle(kernel, throwsId);
    expect((await kernel.commInfo()).content.comms['bad-1']).toBeUndefined();
  });

  test('comm_close from the front end runs onClose and forgets the comm', async () => {
    await run(kernel, `(globalThis as any).closedWith = null; getCommHost().registerTarget('test.closing', (c: any) => c.onClose((d: any) => { (globalThis as any).closedWith = d; }));`);
    await kernel.sendComm('comm_open', { comm_id: 'close-1', target_name: 'test.closing', data: {} });
    expect((await kernel.commInfo()).content.comms['close-1']).toEqual({ target_name: 'test.closing' });
    const closeId = await kernel.sendComm('comm_close', { comm_id: 'close-1', data: { bye: true } });
    await waitIdle(kernel, closeId);
    expect((await kernel.commInfo()).content.comms['close-1']).toBeUndefined();
    const { messages } = await run(kernel, 'JSON.stringify((globalThis as any).closedWith)');
    expect(resultOf(messages)).toBe('{"bye":true}');
  });

  test('malformed messages are dropped and the kernel keeps working', async () => {
    const before = kernel.iopub.length;
    // Wrong signature.
    const frames = kernel.frames('comm_msg', { comm_id: 'echo-1', data: { method: 'update', state: { bad: 'sig' } } });
    frames[1] = Buffer.from('0'.repeat(64));
    await kernel.sendFrames(frames);
    // Invalid JSON in content, correctly signed.
    const bad = kernel.frames('comm_msg', {});
    bad[5] = Buffer.from('{"comm_id": "echo-1", "data": ');
    bad[1] = Buffer.from(kernel.sign(bad.slice(2, 6)));
    await kernel.sendFrames(bad);
    // An execute_request whose header is not JSON.
    const badHeader = kernel.frames('execute_request', { code: '1' });
    badHeader[2] = Buffer.from('not json');
    badHeader[1] = Buffer.from(kernel.sign(badHeader.slice(2, 6)));
    await kernel.sendFrames(badHeader);
    // Missing delimiter, too few frames.
    await kernel.sendFrames([Buffer.from('garbage')]);
    await kernel.sendFrames([Buffer.from('<IDS|MSG>'), Buffer.from('x')]);
    // A huge payload: 20 MB of JSON, over the 16 MiB cap.
    const huge = kernel.frames('comm_msg', { comm_id: 'echo-1', data: { method: 'custom', content: 'x'.repeat(20 * 1024 * 1024) } });
    await kernel.sendFrames(huge);
    // Missing or mistyped fields (signed and valid JSON): busy/idle, nothing else.
    const missing = await kernel.sendComm('comm_msg', { data: { method: 'update' } });
    const wrongType = await kernel.sendComm('comm_msg', { comm_id: 42, data: 'not an object' });
    const noTarget = await kernel.sendComm('comm_open', { comm_id: 'x-1' });
    const unknownComm = await kernel.sendComm('comm_msg', { comm_id: 'no-such-comm', data: {} });
    for (const id of [missing, wrongType, noTarget, unknownComm]) await waitIdle(kernel, id);
    const badInfo = await kernel.request('comm_info_request', { target_name: 7 });
    expect(badInfo.content).toMatchObject({ status: 'error', ename: 'InvalidRequest' });
    await waitIdle(kernel, badInfo.parent_header.msg_id!);

    const { messages } = await run(kernel, '2+2');
    expect(resultOf(messages)).toBe('4');
    // Nothing reached the echo handler, and no echo was published.
    const echoes = kernel.iopub.slice(before).filter((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === 'echo-1');
    expect(echoes).toEqual([]);
    const { messages: received } = await run(kernel, '(globalThis as any).received.length');
    expect(resultOf(received)).toBe('2');
    // stderr comes through a pipe, not in step with iopub: wait for each line.
    await kernel.stderrMatching(/bad signature/);
    await kernel.stderrMatching(/content is not valid JSON/);
    await kernel.stderrMatching(/exceed the \d+-byte cap/);
    await kernel.stderrMatching(/comm_id is missing/);
    expect(kernel.exitCode).toBeNull();
  });

  test('a comm message is handled while a long async cell runs', async () => {
    // The cell says it is waiting, then waits until a comm message releases it:
    // the echo is sent while it runs, whatever the machine's speed.
    await run(kernel, `getCommHost().registerTarget('test.release', (c: any) => c.onMessage(() => (globalThis as any).releaseCell()));`);
    await kernel.sendComm('comm_open', { comm_id: 'release-1', target_name: 'test.release', data: {} });
    const execId = 'long-cell-' + randomUUID();
    const frames = kernel.frames(
      'execute_request',
      { code: 'await new Promise<void>((r) => { (globalThis as any).releaseCell = r; console.log("waiting"); }); "released"', silent: false, store_history: true, user_expressions: {}, allow_stdin: false },
      { msgId: execId },
    );
    const replied = kernel.reply(execId);
    await kernel.sendFrames(frames);
    await kernel.waitFor((m) => m.parent_header.msg_id === execId && m.header.msg_type === 'stream' && /waiting/.test(m.content.text));
    const msgId = await kernel.sendComm('comm_msg', { comm_id: 'echo-1', data: { during: 'cell' } });
    const echo = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.parent_header.msg_id === msgId);
    expect(echo.content.data.echo).toEqual({ during: 'cell' });
    // The cell is still running: nothing has released it yet.
    expect(kernel.messagesFor(execId).some((m) => m.content.execution_state === 'idle')).toBe(false);
    await kernel.sendComm('comm_msg', { comm_id: 'release-1', data: {} });
    const reply = await replied;
    expect(reply.content.status).toBe('ok');
    await waitIdle(kernel, execId);
  });

  test('comm messages sent from async work after the cell ended are delivered', async () => {
    // The work starts on a signal sent once the cell is idle: no cell runs and
    // no front-end message is being handled when it sends.
    const { reply, messages } = await run(
      kernel,
      `const later = getCommHost().openComm('test.progress', {});
       process.once('SIGUSR2', () => { later.send({ progress: 1 }); later.close({ done: true }); });
       later.id`,
    );
    const id = resultOf(messages);
    kernel.process.kill('SIGUSR2');
    const progress = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === id);
    expect(progress.content.data).toEqual({ progress: 1 });
    // With nothing else to go by, the parent is the comm's last message: the cell that opened it.
    expect(progress.parent_header.msg_id).toBe(reply.parent_header.msg_id);
    const close = await kernel.waitFor((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === id);
    expect(close.content.data).toEqual({ done: true });
  });

  test('async handlers: idle waits for a quick one, not for a slow one; a throwing handler only logs', async () => {
    await run(
      kernel,
      `getCommHost().registerTarget('test.async', (c: any) => {
         c.onMessage(async (data: any) => {
           if (data.fail) throw new Error('handler exploded');
           // "Quick" is one turn of the event loop (it ends before any timer, so before the 1 s grace, on any machine);
           // "slow" is a 4 s timer, which always fires after the grace timer started later.
           await new Promise((r) => (data.ms === 0 ? setImmediate(r) : setTimeout(r, data.ms)));
           c.send({ done: data.ms });
         });
       });`,
    );
    await kernel.sendComm('comm_open', { comm_id: 'async-1', target_name: 'test.async', data: {} });
    const quick = await kernel.sendComm('comm_msg', { comm_id: 'async-1', data: { ms: 0 } });
    await waitIdle(kernel, quick);
    expect(kernel.messagesFor(quick).map((m) => m.content.execution_state ?? m.header.msg_type)).toEqual(['busy', 'comm_msg', 'idle']);

    const slow = await kernel.sendComm('comm_msg', { comm_id: 'async-1', data: { ms: 4000 } });
    await waitIdle(kernel, slow);
    const late = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.parent_header.msg_id === slow);
    expect(late.content.data).toEqual({ done: 4000 });
    const idleAt = kernel.iopub.findIndex((m) => m.parent_header.msg_id === slow && m.content.execution_state === 'idle');
    expect(idleAt).toBeLessThan(kernel.iopub.indexOf(late));

    const failing = await kernel.sendComm('comm_msg', { comm_id: 'async-1', data: { fail: true } });
    await waitIdle(kernel, failing);
    await kernel.stderrMatching(/message handler failed: Error: handler exploded/);
    expect(resultOf((await run(kernel, '3+3')).messages)).toBe('6');
  });

  test('a cell that throws: one error output, and the reply carries ename, evalue and traceback', async () => {
    const { reply, messages } = await kernel.execute('throw new TypeError("bad input")');
    expect(reply.content).toMatchObject({ status: 'error', ename: 'TypeError', evalue: 'bad input' });
    expect(reply.content.traceback.join('\n')).toContain('TypeError: bad input');
    const outputs = messages.filter((m) => !['status', 'execute_input'].includes(m.header.msg_type));
    expect(outputs.map((m) => m.header.msg_type)).toEqual(['error']);
    expect(outputs[0].content).toEqual({ ename: 'TypeError', evalue: 'bad input', traceback: reply.content.traceback });
    // A cell sent once the failed one is answered runs: only requests queued behind the failure are aborted.
    expect(resultOf((await run(kernel, '5+5')).messages)).toBe('10');
  });

  test('a cell that does not compile: a TypeScriptError with the diagnostics; stderr from cells stays a stream', async () => {
    const { reply, messages } = await kernel.execute('const n: number = "text";');
    expect(reply.content).toMatchObject({ status: 'error', ename: 'TypeScriptError' });
    expect(reply.content.evalue).toMatch(/not assignable to type 'number'/);
    expect(messages.filter((m) => m.header.msg_type === 'error')).toHaveLength(1);
    expect(messages.filter((m) => m.header.msg_type === 'stream')).toEqual([]);
    const said = await run(kernel, 'console.error("from the cell"); 1');
    expect(said.messages.filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stderr').map((m) => m.content.text).join('')).toContain('from the cell');
  });

  test('"Run all": cells queued behind a failing one are aborted, cells sent after its reply run', async () => {
    // The failing cell waits for a comm message, so the two cells behind it are surely queued when it fails:
    // a comm_info_request sent after them is answered only once the kernel has read them (shell is in order).
    await run(kernel, `require(${JSON.stringify(COMM)}).getCommHost().registerTarget('test.fail-later', (c: any) => c.onMessage(() => (globalThis as any).failNow()));`);
    await kernel.sendComm('comm_open', { comm_id: 'fail-1', target_name: 'test.fail-later', data: {} });
    const ids = ['run-all-1', 'run-all-2', 'run-all-3'].map((id) => `${id}-${randomUUID()}`);
    const codes = ['await new Promise<void>((r) => { (globalThis as any).failNow = r; console.log("waiting"); }); throw new Error("first fails")', '"second"', '"third"'];
    const replies = ids.map((id) => kernel.reply(id));
    for (const [i, id] of ids.entries()) {
      await kernel.sendFrames(kernel.frames('execute_request', { code: codes[i], silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, { msgId: id }));
    }
    await kernel.waitFor((m) => m.parent_header.msg_id === ids[0] && m.header.msg_type === 'stream');
    await kernel.commInfo();
    await kernel.sendComm('comm_msg', { comm_id: 'fail-1', data: {} });
    const [first, second, third] = (await Promise.all(replies)).map((r) => r.content.status);
    expect([first, second, third]).toEqual(['error', 'abort', 'abort']);
    expect(resultOf((await run(kernel, '"after"')).messages)).toBe('after');
  });

  test('kernel_info_reply has status ok', async () => {
    const reply = await kernel.request('kernel_info_request', {});
    expect(reply.content).toMatchObject({ status: 'ok', protocol_version: '5.3', language_info: { name: 'typescript' } });
  });

  test('says nothing about the modeldeck kernel when installComms runs in it', async () => {
    const { messages } = await run(kernel, `const m = require(${JSON.stringify(COMM)}); m.isTslabKernel() && m.installComms() === getCommHost()`);
    expect(resultOf(messages)).toBe('true');
    expect(outputOf(messages)).not.toMatch(/supported route/);
  });
});

describe('plain tslab, patched from a cell', () => {
  let kernel: KernelClient;

  beforeAll(async () => {
    kernel = await KernelClient.start({ argv: [process.execPath, TSLAB_BIN, 'kernel', '--config-path', '{connection_file}'] });
  });
  afterAll(async () => {
    await kernel?.shutdown();
  });

  test('stock tslab has no comms before the patch', async () => {
    const reply = await kernel.commInfo();
    expect(reply.header.msg_type).not.toBe('comm_info_reply');
  });

  test('require() in a cell enables comms, with a one-time notice; they work in the next cell', async () => {
    const first = await run(kernel, `const { installComms } = require(${JSON.stringify(COMM)}); const host = installComms(); 'installed'`);
    expect(outputOf(first.messages)).toMatch(/supported route is the "TypeScript \(modeldeck\)" kernel/);
    const again = await run(kernel, `require(${JSON.stringify(COMM)}).installComms() === host`);
    expect(resultOf(again.messages)).toBe('true');
    expect(outputOf(again.messages)).not.toMatch(/supported route/);

    const reply = await kernel.commInfo();
    expect(reply.header.msg_type).toBe('comm_info_reply');
    expect(reply.content).toEqual({ status: 'ok', comms: {} });

    await run(kernel, ECHO_TARGET);
    const { messages } = await run(kernel, `const k = host.openComm('test.kernel', { from: 'cell' }); host.display({ 'text/plain': 'w' }); k.id`);
    expect(messages.find((m) => m.header.msg_type === 'comm_open')?.content.data).toEqual({ from: 'cell' });
    expect(messages.some((m) => m.header.msg_type === 'display_data')).toBe(true);

    await kernel.sendComm('comm_open', { comm_id: 'echo-p', target_name: 'test.echo', data: {} });
    const msgId = await kernel.sendComm('comm_msg', { comm_id: 'echo-p', data: { hi: 1 } }, [Buffer.from('RAWBYTES')]);
    const echo = await kernel.waitFor((m) => m.header.msg_type === 'comm_msg' && m.parent_header.msg_id === msgId);
    expect(echo.buffers[0].toString()).toBe('RAWBYTES');
    await waitIdle(kernel, msgId);
    expect(statusesFor(kernel, msgId)).toEqual(['busy', 'idle']);
  });

  test('importing modeldeck itself into a plain tslab kernel turns comms on, with the one-time notice', async () => {
    // A user's project with modeldeck installed; the kernel runs in it, as Jupyter starts kernels in the notebook's folder.
    const project = mkdtempSync(join(tmpdir(), 'mdk-plain-'));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(root, join(project, 'node_modules', 'modeldeck'));
    const fresh = await KernelClient.start({ argv: [process.execPath, TSLAB_BIN, 'kernel', '--config-path', '{connection_file}'], cwd: project });
    try {
      expect((await fresh.commInfo()).header.msg_type).not.toBe('comm_info_reply');
      const { messages } = await run(fresh, `import { version } from "modeldeck";\nversion`);
      expect(outputOf(messages)).toMatch(/supported route is the "TypeScript \(modeldeck\)" kernel/);
      const reply = await fresh.commInfo();
      expect(reply.header.msg_type).toBe('comm_info_reply');
    } finally {
      await fresh.shutdown();
      rmSync(project, { recursive: true, force: true });
    }
  });

  test('a comm opened in the installing cell itself goes out when that cell ends', async () => {
    // A fresh kernel: the install has to happen in the same cell as the openComm.
    const fresh = await KernelClient.start({ argv: [process.execPath, TSLAB_BIN, 'kernel', '--config-path', '{connection_file}'] });
    try {
      const { messages } = await run(
        fresh,
        `const h = require(${JSON.stringify(COMM)}).installComms();
         const c = h.openComm('test.same-cell', { a: 1 });
         h.display({ 'text/plain': 'same cell' });
         c.id`,
      );
      const types = messages.map((m) => m.header.msg_type);
      expect(types).toContain('comm_open');
      expect(types.indexOf('display_data')).toBeGreaterThan(types.indexOf('comm_open'));
      expect(types[types.length - 1]).toBe('status');
    } finally {
      await fresh.shutdown();
    }
  });
});

describe('the wire format', () => {
  const signing = { key: 'secret', scheme: 'hmac-sha256' };
  const header = { msg_id: 'm1', msg_type: 'comm_msg', session: 's', username: 'u', date: '2020-01-01T00:00:00Z', version: '5.3' };
  const message = { header, parent_header: {}, metadata: { a: 1 }, content: { comm_id: 'c', data: {} }, buffers: [Buffer.from([0, 1, 2, 255])] };

  test('round-trips a message with binary buffers; the signature covers the four JSON frames only', () => {
    const frames = serializeMessage(message, signing, [Buffer.from('peer')]);
    expect(Buffer.from(frames[0]).toString()).toBe('peer');
    expect(Buffer.from(frames[1]).toString()).toBe('<IDS|MSG>');
    const expected = createHmac('sha256', 'secret');
    for (const f of frames.slice(3, 7)) expected.update(f);
    expect(Buffer.from(frames[2]).toString()).toBe(expected.digest('hex'));
    const parsed = parseFrames(frames, signing);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.message.identities.map((b) => b.toString())).toEqual(['peer']);
    expect(parsed.message.content).toEqual(message.content);
    expect([...parsed.message.buffers[0]]).toEqual([0, 1, 2, 255]);
  });

  test('rejects a tampered frame, a wrong key, oversized frames; an empty key turns authentication off', () => {
    const frames = serializeMessage(message, signing);
    const tampered = [...frames];
    tampered[5] = Buffer.from('{"comm_id":"d","data":{}}');
    expect(parseFrames(tampered, signing)).toEqual({ ok: false, reason: 'bad signature' });
    expect(parseFrames(frames, { key: 'other', scheme: 'hmac-sha256' })).toEqual({ ok: false, reason: 'bad signature' });
    const capped = parseFrames(frames, signing, { maxJsonBytes: 10, maxBufferBytes: 1 << 20, maxBuffers: 4 });
    expect(capped.ok).toBe(false);
    expect(parseFrames(frames, signing, { maxJsonBytes: 1 << 20, maxBufferBytes: 2, maxBuffers: 4 }).ok).toBe(false);
    const unsigned = serializeMessage(message, { key: '', scheme: 'hmac-sha256' });
    expect(Buffer.from(unsigned[1]).toString()).toBe('');
    expect(parseFrames(unsigned, { key: '', scheme: 'hmac-sha256' }).ok).toBe(true);
  });
});

describe('the socket writer', () => {
  test('keeps the order when zeromq says EBUSY, and tells when the backlog is gone', async () => {
    const sent: string[] = [];
    let busy = 2;
    const socket = {
      send(frames: Uint8Array[]) {
        if (busy-- > 0) throw Object.assign(new Error('Socket is busy writing'), { code: 'EBUSY' });
        sent.push(Buffer.from(frames[0]).toString());
        return Promise.resolve();
      },
    };
    const writer = new SocketWriter(socket, 'test');
    writer.write([Buffer.from('a')]);
    writer.write([Buffer.from('b')]);
    expect(writer.backlog).toBe(2);
    const drained = new Promise<void>((resolve) => writer.whenDrained(resolve));
    writer.write([Buffer.from('c')]);
    await drained;
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(writer.backlog).toBe(0);
  });
});

describe('the tslab self-test', () => {
  test('fails loudly, naming the version and what is missing', () => {
    expect(() => checkTslabInternals({}, '9.9.9')).toThrow(TslabInternalsError);
    expect(() => checkTslabInternals({}, '9.9.9')).toThrow(/tslab 9\.9\.9.*missing ZmqServer/);
    class ZmqServer {
      publishStatus() {}
    }
    expect(() => checkTslabInternals({ ZmqServer }, '2.0.0')).toThrow(/missing ZmqServer\.prototype\.handleShellMessage, ZmqServer\.prototype\.init/);
  });

  test('outside a kernel there is no host, and installComms says why', () => {
    expect(isTslabKernel()).toBe(false);
    expect(getCommHost()).toBeNull();
    expect(() => installComms()).toThrow(NotInKernelError);
  });

  test("passes on the tslab modeldeck depends on", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(() => checkTslabInternals(require('tslab/dist/jupyter'), '1.0.22')).not.toThrow();
  });

  test('the launcher exits with the reason when it cannot start', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [LAUNCH], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/modeldeck kernel: missing the connection file/);
  });
});

describe('modeldeck kernel install / uninstall', () => {
  let prefix: string;
  beforeAll(() => {
    prefix = mkdtempSync(join(tmpdir(), 'modeldeck-prefix-'));
  });
  afterAll(() => {
    rmSync(prefix, { recursive: true, force: true });
  });

  test('install --prefix writes a kernelspec whose argv starts a working kernel; uninstall removes it', async () => {
    const installed = await runCli(['kernel', 'install', '--prefix', prefix]);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    const dir = join(prefix, 'share', 'jupyter', 'kernels', 'modeldeck');
    expect(installed.stdout).toContain(dir);
    const spec = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8'));
    expect(spec).toMatchObject({ display_name: 'TypeScript (modeldeck)', language: 'typescript' });
    expect(spec.argv).toEqual([process.execPath, LAUNCH, '{connection_file}']);

    const kernel = await KernelClient.start({ argv: spec.argv });
    try {
      const { messages } = await run(kernel, '6*7');
      expect(resultOf(messages)).toBe('42');
      expect((await kernel.commInfo()).content.status).toBe('ok');
    } finally {
      await kernel.shutdown();
    }
    // shutdown_request on control ended the process by itself (no kill needed).
    expect(kernel.exitCode).toBe(0);

    const removed = await runCli(['kernel', 'uninstall', '--prefix', prefix]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(dir);
    expect(existsSync(dir)).toBe(false);
    const again = await runCli(['kernel', 'uninstall', '--prefix', prefix]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/not installed/);
  });

  test('--user honours JUPYTER_DATA_DIR; conflicting flags are refused', async () => {
    const data = join(prefix, 'data');
    const r = await runCli(['kernel', 'install', '--user'], { JUPYTER_DATA_DIR: data });
    expect(r.code).toBe(0);
    expect(existsSync(join(data, 'kernels', 'modeldeck', 'kernel.json'))).toBe(true);
    const both = await runCli(['kernel', 'install', '--user', '--prefix', prefix]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/only one of/);
  });
});
