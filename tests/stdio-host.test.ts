/**
 * The stdio host as the Python relay sees it: a real `node lib/hosts/stdio/main.js`
 * process, frames written to its stdin and read from its stdout. Bad frames
 * are dropped with a reason on stderr and the next good one still works; the
 * process ends when its stdin closes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { FrameReader, encodeFrame, decodeBody, MAX_FRAME_BYTES, type Frame } from '../src/hosts/stdio/frames';
import { loraBytes, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';
import { WAIT_MS } from './helpers/wait';

const MAIN = join(__dirname, '..', 'lib', 'hosts', 'stdio', 'main.js');
const tmp = useTmpDir();

class Host {
  readonly frames: Frame[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters = new Set<() => void>();
  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    const reader = new FrameReader({ frame: (f) => this.add(f), dropped: (r) => { throw new Error(`host sent a bad frame: ${r}`); }, broken: (r) => { throw new Error(r); } });
    proc.stdout.on('data', (c: Buffer) => reader.push(c));
    proc.stderr.on('data', (c: Buffer) => { this.stderr += c.toString(); this.wake(); });
    this.exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  }
  private add(f: Frame) { this.frames.push(f); this.wake(); }
  private wake() { for (const w of [...this.waiters]) w(); }
  /** Resolves when `test` holds (checked on every frame and stderr chunk). */
  until<T>(test: () => T | undefined | false, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiters.delete(check); reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`)); }, WAIT_MS);
      const check = () => { const v = test(); if (v) { clearTimeout(timer); this.waiters.delete(check); resolve(v); } };
      this.waiters.add(check);
      check();
    });
  }
  reply(id: number) { return this.until(() => this.frames.find((f) => f.header.op === 'reply' && f.header.id === id), `reply ${id}`); }
  write(b: Buffer) { this.proc.stdin.write(b); }
}

const started: Host[] = [];
function start(): Host {
  const h = new Host(spawn(process.execPath, [MAIN], { env: { ...process.env, CIVITAI_TOKEN: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache') } }));
  started.push(h);
  return h;
}
afterAll(() => { for (const h of started) if (h.proc.exitCode === null) h.proc.kill('SIGKILL'); });

test('frames round-trip a JSON header and raw binary buffers', () => {
  const bytes = new Uint8Array([0, 1, 2, 255, 254]);
  const frame = encodeFrame({ op: 'x', n: 1 }, [bytes, new Uint8Array(0)]);
  const decoded = decodeBody(frame.subarray(4));
  expect(decoded).toEqual({ header: { op: 'x', n: 1 }, buffers: [bytes, new Uint8Array(0)] });
});

test('the reader drops malformed and oversized frames and keeps its place in the stream', () => {
  const got: Frame[] = [];
  const dropped: string[] = [];
  const reader = new FrameReader({ frame: (f) => got.push(f), dropped: (r) => dropped.push(r), broken: (r) => dropped.push(`broken ${r}`) }, 1000);
  const bad = Buffer.alloc(4 + 12);
  bad.writeUInt32BE(12, 0); bad.writeUInt32BE(5, 4); bad.writeUInt32BE(0, 8); // claims a 5-byte header in a 4-byte rest
  const notJson = Buffer.concat([Buffer.from([0, 0, 0, 11, 0, 0, 0, 3, 0, 0, 0, 0]), Buffer.from('{{{')]);
  const huge = Buffer.concat([Buffer.from([0, 0, 0x10, 0]), Buffer.alloc(0x1000)]);
  const good = encodeFrame({ op: 'good' });
  const all = Buffer.concat([bad, notJson, huge, good]);
  // One byte at a time: no frame boundary may depend on how the pipe chunks the bytes.
  for (const b of all) reader.push(Buffer.from([b]));
  expect(got.map((f) => f.header.op)).toEqual(['good']);
  expect(dropped).toHaveLength(3);
  expect(dropped[1]).toMatch(/not JSON/);
  expect(dropped[2]).toMatch(/over the 1000-byte limit/);
  expect(() => encodeFrame({ op: 'x' }, [new Uint8Array(MAX_FRAME_BYTES)])).toThrow(/at most/);
});

test('the host opens a panel, relays its comm and answers calls; bad frames are logged and survived', async () => {
  const root = join(tmp.path, 'lib');
  writeModel(root, 'Lora/a.safetensors', loraBytes());
  const h = start();
  await h.until(() => h.frames.find((f) => f.header.op === 'hello'), 'hello');
  h.write(Buffer.from([0, 0, 0, 10, 0, 0, 0, 5, 0, 0, 0, 0, 0x7b, 0x7d])); // a 5-byte header in a 2-byte rest
  h.write(encodeFrame({ op: 'no-such-op' }));
  h.write(encodeFrame({ op: 'comm_msg', comm_id: 'nope', data: {} }));
  h.write(encodeFrame({ op: 'open', id: 1, roots: [root], settings: { offline: true } }));
  const open = await h.until(() => h.frames.find((f) => f.header.op === 'comm_open'), 'comm_open');
  expect(open.header).toMatchObject({ target: 'jupyter.widget', data: { state: { roots: [root] } } });
  const commId = open.header.comm_id as string;
  expect((await h.reply(1)).header).toMatchObject({ ok: true, result: { comm_id: commId } });
  expect(h.stderr).toMatch(/frame dropped: frame lengths add up/);
  expect(h.stderr).toMatch(/unknown op "no-such-op"/);
  expect(h.stderr).toMatch(/unknown comm/);
  // anywidget's resync message becomes request_state: the whole state comes back.
  const since = h.frames.length;
  h.write(encodeFrame({ op: 'comm_msg', comm_id: commId, data: { method: 'custom', content: { type: 'request_state' } } }));
  await h.until(() => h.frames.slice(since).find((f) => f.header.op === 'comm_msg' && (f.header.data as any)?.state?.summary), 'full state');
  h.write(encodeFrame({ op: 'call', id: 2, comm_id: commId, method: 'scan', args: { offline: true } }));
  expect((await h.reply(2)).header).toMatchObject({ ok: true, result: { files: 1 } });
  h.write(encodeFrame({ op: 'call', id: 3, comm_id: commId, method: 'models' }));
  expect(((await h.reply(3)).header.result as unknown[]).length).toBe(1);
  h.write(encodeFrame({ op: 'call', id: 4, comm_id: 'gone', method: 'scan' }));
  expect((await h.reply(4)).header).toMatchObject({ ok: false, error: { code: 'closed' } });
  h.proc.stdin.end();
  expect(await h.exited).toBe(0);
  expect(h.stderr).toMatch(/exiting: stdin closed/);
});

test('a stream that is not frames at all ends the host', async () => {
  const h = start();
  h.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  expect(await h.exited).toBe(2);
  expect(h.stderr).toMatch(/input broken/);
});
