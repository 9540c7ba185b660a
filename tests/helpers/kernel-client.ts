/**
 * A minimal Jupyter front end over ZeroMQ, for driving a real kernel process
 * in tests (and, since it imports nothing from jest, in demo or notebook
 * tooling too).
 *
 * It does what jupyter_client does for one kernel: writes a connection file
 * (127.0.0.1, free ports, random key), starts the kernel from a kernelspec
 * argv, and talks protocol 5.3 with HMAC-SHA256 signatures: a Dealer on shell
 * and on control, a Subscriber on iopub.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { WAIT_MS } from './wait';

export { WAIT_MS };

export interface KernelMessage {
  channel: 'iopub' | 'shell' | 'control';
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: { msg_id?: string; msg_type?: string; [key: string]: unknown };
  metadata: Record<string, any>;
  content: Record<string, any>;
  buffers: Buffer[];
  /** Whether the kernel's signature over the four JSON frames checked out. */
  signatureOk: boolean;
}

export interface ConnectionInfo {
  ip: string;
  transport: 'tcp';
  signature_scheme: 'hmac-sha256';
  key: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  kernel_name: string;
}

export interface StartOptions {
  /** Kernelspec argv; `{connection_file}` is replaced as Jupyter does. */
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the first kernel_info_reply. */
  startTimeoutMs?: number;
}

export interface ExecuteResult {
  reply: KernelMessage;
  /** Every iopub message whose parent is this request, up to and including `idle`. */
  messages: KernelMessage[];
}

const DELIM = '<IDS|MSG>';
/** Resolves after `ms`, or earlier with `until`; leaves no timer behind either way. */
function within<T>(until: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  return Promise.race([until, late]).finally(() => clearTimeout(timer));
}

/** Ports the OS just handed out and released: free unless something grabs them in the next instant. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export class KernelClient {
  readonly session = randomUUID();
  /** All iopub messages received, in order. */
  readonly iopub: KernelMessage[] = [];
  /** Everything the kernel process wrote to stdout and stderr. */
  stdout = '';
  stderr = '';
  exitCode: number | null = null;

  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  private readonly sub = new zmq.Subscriber({ linger: 0 });
  private readonly replies = new Map<string, (m: KernelMessage) => void>();
  private readonly iopubWaiters = new Set<() => void>();
  private readonly stderrWaiters = new Set<() => void>();
  private readonly sendChains = new Map<zmq.Dealer, Promise<void>>();
  private readonly exited: Promise<void>;
  private closed = false;

  private constructor(
    readonly connection: ConnectionInfo,
    readonly connectionFile: string,
    private readonly dir: string,
    readonly process: ChildProcess,
  ) {
    process.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    process.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      for (const waiter of [...this.stderrWaiters]) waiter();
    });
    this.exited = new Promise((resolve) => process.once('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : 0);
      resolve();
    }));
    const url = (port: number) => `tcp://${connection.ip}:${port}`;
    this.shell.connect(url(connection.shell_port));
    this.control.connect(url(connection.control_port));
    this.sub.connect(url(connection.iopub_port));
    this.sub.subscribe();
    void this.readLoop(this.shell, 'shell');
    void this.readLoop(this.control, 'control');
    void this.readLoop(this.sub, 'iopub');
  }

  /** Starts a kernel and waits until it answers on shell and publishes on iopub. */
  static async start(options: StartOptions): Promise<KernelClient> {
    const [shell, iopub, stdin, control, hb] = await freePorts(5);
    const connection: ConnectionInfo = {
      ip: '127.0.0.1', transport: 'tcp', signature_scheme: 'hmac-sha256', key: randomBytes(32).toString('hex'),
      shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb, kernel_name: 'modeldeck',
    };
    const dir = mkdtempSync(join(tmpdir(), 'modeldeck-kernel-'));
    const connectionFile = join(dir, 'connection.json');
    writeFileSync(connectionFile, JSON.stringify(connection), { mode: 0o600 });
    const argv = options.argv.map((a) => a.replace('{connection_file}', connectionFile));
    const child = spawn(argv[0], argv.slice(1), { cwd: options.cwd ?? dir, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const client = new KernelClient(connection, connectionFile, dir, child);
    try {
      await client.waitUntilReady(options.startTimeoutMs ?? WAIT_MS);
    } catch (err) {
      await client.shutdown();
      throw err;
    }
    return client;
  }

  /**
   * PUB/SUB drops what is published before the subscription reaches the
   * kernel, so "ready" means: a kernel_info_reply came back AND its status
   * messages arrived on iopub (jupyter_client's "nudge").
   */
  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== null) throw new Error(`kernel exited with ${this.exitCode} before it was ready:\n${this.stderr}`);
      try {
        const reply = await this.request('kernel_info_request', {}, { timeoutMs: 1000 });
        const msgId = reply.parent_header.msg_id;
        await this.waitFor((m) => m.parent_header.msg_id === msgId && m.header.msg_type === 'status', { timeoutMs: 500 });
        return;
      } catch {
        // not yet: ask again
      }
    }
    throw new Error(`kernel not ready after ${timeoutMs} ms; stderr:\n${this.stderr}`);
  }

  // ---- messages ------------------------------------------------------------------------------

  /** Builds the signed frames of a message (exposed so tests can tamper with them). */
  frames(msgType: string, content: object, opts: { buffers?: Uint8Array[]; metadata?: object; msgId?: string } = {}): Buffer[] {
    const header = { msg_id: opts.msgId ?? randomUUID(), msg_type: msgType, session: this.session, username: 'test', date: new Date().toISOString(), version: '5.3' };
    const parts = [header, {}, opts.metadata ?? {}, content].map((p) => Buffer.from(JSON.stringify(p)));
    return [Buffer.from(DELIM), Buffer.from(this.sign(parts)), ...parts, ...(opts.buffers ?? []).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
  }

  sign(parts: readonly Uint8Array[]): string {
    const hmac = createHmac('sha256', this.connection.key);
    for (const p of parts) hmac.update(p);
    return hmac.digest('hex');
  }

  /** Sends a message; resolves to its msg_id. */
  async send(msgType: string, content: object, opts: { buffers?: Uint8Array[]; metadata?: object; channel?: 'shell' | 'control' } = {}): Promise<string> {
    const msgId = randomUUID();
    await this.sendFrames(this.frames(msgType, content, { ...opts, msgId }), opts.channel ?? 'shell');
    return msgId;
  }

  /** Sends frames as they are, signed or not (for malformed-message tests). */
  sendFrames(frames: Uint8Array[], channel: 'shell' | 'control' = 'shell'): Promise<void> {
    const socket = channel === 'shell' ? this.shell : this.control;
    // zeromq allows one send at a time per socket: chain them.
    const next = (this.sendChains.get(socket) ?? Promise.resolve()).then(() => socket.send(frames));
    this.sendChains.set(socket, next.catch(() => undefined));
    return next;
  }

  /** The shell or control reply to `msgId`. */
  reply(msgId: string, timeoutMs = WAIT_MS): Promise<KernelMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(msgId);
        reject(new Error(`no reply to ${msgId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.replies.set(msgId, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  /**
   * Runs code; resolves with the reply and the iopub messages of this request, up to idle.
   * `stop_on_error` is off: the tests send one request at a time and wait for its reply, and
   * with it on, ipykernel keeps aborting requests for a moment after an error, so the request
   * sent right after an expected error could come back aborted (seen under load).
   */
  async execute(code: string, timeoutMs = WAIT_MS): Promise<ExecuteResult> {
    const msgId = randomUUID();
    const replied = this.reply(msgId, timeoutMs);
    await this.sendFrames(this.frames('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false }, { msgId }));
    const reply = await replied;
    return { reply, messages: await this.answerTo(msgId, timeoutMs) };
  }

  /** Sends a request and resolves with its reply (registered before sending, so it cannot be missed). */
  async request(msgType: string, content: object, opts: { channel?: 'shell' | 'control'; timeoutMs?: number } = {}): Promise<KernelMessage> {
    const msgId = randomUUID();
    const replied = this.reply(msgId, opts.timeoutMs ?? WAIT_MS);
    await this.sendFrames(this.frames(msgType, content, { msgId }), opts.channel ?? 'shell');
    return replied;
  }

  /** comm_info_request, optionally for one target. */
  commInfo(targetName?: string, timeoutMs = WAIT_MS): Promise<KernelMessage> {
    return this.request('comm_info_request', targetName === undefined ? {} : { target_name: targetName }, { timeoutMs });
  }

  /** comm_open / comm_msg / comm_close from the front end; resolves to the msg_id. */
  sendComm(type: 'comm_open' | 'comm_msg' | 'comm_close', content: object, buffers: Uint8Array[] = [], metadata: object = {}): Promise<string> {
    return this.send(type, content, { buffers, metadata });
  }

  /**
   * The first iopub message matching `predicate`, among those already
   * received from index `since` on (default: all) and those still to come.
   */
  waitFor(predicate: (m: KernelMessage) => boolean, opts: { timeoutMs?: number; since?: number } = {}): Promise<KernelMessage> {
    const timeoutMs = opts.timeoutMs ?? WAIT_MS;
    let next = opts.since ?? 0;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (; next < this.iopub.length; next++) {
          if (predicate(this.iopub[next])) {
            done();
            resolve(this.iopub[next]);
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching iopub message within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.iopubWaiters.delete(waiter);
      };
      const waiter = () => void check();
      if (!check()) this.iopubWaiters.add(waiter);
    });
  }

  /** The `idle` status the kernel publishes when it is done with request `msgId`. */
  idleAfter(msgId: string, timeoutMs = WAIT_MS): Promise<KernelMessage> {
    return this.waitFor((m) => m.parent_header.msg_id === msgId && m.header.msg_type === 'status' && m.content.execution_state === 'idle', { timeoutMs });
  }

  /**
   * What the kernel published while it handled request `msgId`: the iopub
   * messages whose parent is `msgId`, up to that request's `idle`. This is
   * the answer to the request, and nothing else: a message sent later on
   * the same comm may carry the same parent (the comm's last message), but
   * it comes after `idle`.
   */
  async answerTo(msgId: string, timeoutMs = WAIT_MS): Promise<KernelMessage[]> {
    const idle = await this.idleAfter(msgId, timeoutMs);
    return this.iopub.slice(0, this.iopub.indexOf(idle) + 1).filter((m) => m.parent_header.msg_id === msgId);
  }

  /** Resolves once the kernel's stderr matches `pattern` (it comes through a pipe, not in step with iopub). */
  stderrMatching(pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.stderrWaiters.delete(check);
      };
      const check = () => {
        if (!pattern.test(this.stderr)) return;
        done();
        resolve(this.stderr);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`kernel stderr did not match ${pattern} within ${timeoutMs} ms:\n${this.stderr}`));
      }, timeoutMs);
      this.stderrWaiters.add(check);
      check();
    });
  }

  /** The iopub messages whose parent is `msgId`. */
  messagesFor(msgId: string): KernelMessage[] {
    return this.iopub.filter((m) => m.parent_header.msg_id === msgId);
  }

  /** Asks the kernel to shut down on control; kills it if it is still there after `timeoutMs`. */
  async shutdown(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    if (this.exitCode === null) {
      // The kernel may be gone or wedged: the reply is welcome, not required.
      await within(this.request('shutdown_request', { restart: false }, { channel: 'control', timeoutMs: 2000 }).catch(() => undefined), 2500);
      await within(this.exited, timeoutMs);
      if (this.exitCode === null) {
        this.process.kill('SIGKILL');
        await within(this.exited, 2000);
      }
    }
    this.closed = true;
    for (const s of [this.shell, this.control, this.sub]) s.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- receiving -----------------------------------------------------------------------------

  private async readLoop(socket: zmq.Dealer | zmq.Subscriber, channel: KernelMessage['channel']): Promise<void> {
    try {
      for await (const frames of socket) {
        const message = this.parse(frames, channel);
        if (!message) continue;
        if (channel === 'iopub') {
          this.iopub.push(message);
          for (const waiter of [...this.iopubWaiters]) waiter();
        } else {
          const id = message.parent_header.msg_id;
          const waiter = id ? this.replies.get(id) : undefined;
          if (waiter) {
            this.replies.delete(id!);
            waiter(message);
          }
        }
      }
    } catch {
      // socket closed
    }
  }

  private parse(frames: Buffer[], channel: KernelMessage['channel']): KernelMessage | null {
    const at = frames.findIndex((f) => f.toString() === DELIM);
    if (at < 0 || frames.length < at + 6) return null;
    const [signature, h, p, m, c, ...buffers] = frames.slice(at + 1);
    return {
      channel,
      header: JSON.parse(h.toString()),
      parent_header: JSON.parse(p.toString()),
      metadata: JSON.parse(m.toString()),
      content: JSON.parse(c.toString()),
      buffers,
      signatureOk: signature.toString() === this.sign([h, p, m, c]),
    };
  }
}
