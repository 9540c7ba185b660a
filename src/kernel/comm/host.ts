/**
 * The CommHost bound to a running tslab kernel. The patched ZmqServer methods
 * call `onShellMessage` and `onStatus` here; everything ZeroMQ-shaped stays in
 * this file and in `wire.ts`/`writer.ts`. The manager and the comms above it
 * only see decoded messages.
 */
import { CellTracker } from './cells';
import { describeError, logComm } from './log';
import { CommManager, type PublishOptions } from './manager';
import { newHeader, type IncomingMessage, type MessageHeader } from './message';
import type { Comm, CommHost, CommTargetHandler } from './types';
import { isCommMessageType } from './validate';
import { DEFAULT_LIMITS, parseFrames, serializeMessage, withoutBuffers, type SigningKey, type WireLimits } from './wire';
import { SocketWriter, type FrameSocket } from './writer';

/** The parts of tslab's ZmqServer instance the host uses (checked on capture). */
interface ServerLike {
  connInfo: { key: string; signature_scheme?: string };
  iopub: FrameSocket;
}

/** A message published before the host could send: before the server was captured, or a display with no cell to land in yet. */
interface Early {
  msgType: string;
  content: Record<string, unknown>;
  opts: PublishOptions;
  needsCell: boolean;
}

/** Bounds what a cell can queue before the kernel answers anything. */
const MAX_EARLY = 1000;

export type InstallRoute = 'launcher' | 'cell';

export class TslabCommHost implements CommHost {
  readonly manager: CommManager;
  private readonly cells = new CellTracker();
  private readonly writers = new WeakMap<object, SocketWriter>();
  private readonly early: Early[] = [];
  private server: ServerLike | null = null;
  private signing: SigningKey = { key: '', scheme: 'hmac-sha256' };
  private iopub: SocketWriter | null = null;
  private unusable = false;

  constructor(
    readonly route: InstallRoute,
    private readonly limits: WireLimits = DEFAULT_LIMITS,
  ) {
    this.manager = new CommManager({ publish: (t, c, o) => this.publish(t, c, o, false) }, { runningCell: () => this.cells.current() });
  }

  openComm(targetName: string, data: unknown, opts?: { metadata?: object; buffers?: Uint8Array[] }): Comm {
    if (typeof targetName !== 'string' || !targetName) throw new TypeError('openComm: targetName must be a non-empty string');
    return this.manager.open(targetName, data, opts);
  }

  registerTarget(targetName: string, handler: CommTargetHandler): void {
    if (typeof handler !== 'function') throw new TypeError('registerTarget: handler must be a function');
    this.manager.registerTarget(targetName, handler);
  }

  display(bundle: Record<string, unknown>, metadata: object = {}): void {
    this.publish('display_data', { data: bundle, metadata, transient: {} }, { parent: this.cells.forDisplay() }, true);
  }

  /** An `error` output in the running cell (replies.ts: a failed cell). */
  publishCellError(content: { ename: string; evalue: string; traceback: string[] }): void {
    this.publish('error', { ...content }, { parent: this.cells.forDisplay() }, true);
  }

  /** True once the live server has been captured and checked. */
  get attached(): boolean {
    return this.server !== null;
  }

  // ---- called by the patched ZmqServer methods -------------------------------------------

  /**
   * Every shell and control message passes through here. Comm messages are
   * handled here; the rest go on to tslab once authenticated, with binary
   * buffers stripped so tslab's own signature check (which wrongly covers
   * buffers) accepts them. Never rejects.
   */
  async onShellMessage(server: unknown, socket: FrameSocket, frames: Uint8Array[], original: (frames: Uint8Array[]) => unknown): Promise<void> {
    try {
      if (!this.attach(server)) {
        await original(frames);
        return;
      }
      this.flush(this.cells.forDisplay());
      const parsed = parseFrames(frames, this.signing, this.limits);
      if (!parsed.ok) {
        logComm(`dropped a message from the front end: ${parsed.reason}`);
        return;
      }
      const msg = parsed.message;
      const type = msg.header.msg_type;
      if (isCommMessageType(type)) {
        await this.manager.handle(type, msg, (replyType, content) => this.reply(socket, msg, replyType, content));
        return;
      }
      const forTslab = withoutBuffers(frames, msg.buffers.length);
      if (type !== 'execute_request') {
        await original(forTslab);
        return;
      }
      this.cells.started(msg.header);
      try {
        await original(forTslab);
      } finally {
        this.cells.finished(msg.header);
      }
    } catch (err) {
      logComm(`error while handling a message: ${describeError(err)}`);
    }
  }

  /**
   * tslab publishes a status. The first call captures the server (in a
   * plain tslab kernel, the `idle` that ends the cell which installed the
   * patch); messages queued until then go out before that status, so they
   * belong to the cell.
   */
  onStatus(server: unknown, status: string, parent: { header?: MessageHeader } | undefined, original: () => void): void {
    const header = parent?.header;
    if (!this.attach(server)) return original();
    const isCell = header?.msg_type === 'execute_request';
    if (isCell && status === 'idle') this.cells.seenIdle(header);
    this.flush(isCell ? header : this.cells.forDisplay());
    // Keep iopub in order: tslab's status must not overtake what we queued.
    if (this.iopub && this.iopub.backlog > 0) this.iopub.whenDrained(original);
    else original();
  }

  // ---- sending ------------------------------------------------------------------------------

  private publish(msgType: string, content: Record<string, unknown>, opts: PublishOptions, needsCell: boolean): void {
    if (!this.iopub || this.early.length > 0 || (needsCell && !opts.parent)) {
      if (this.early.length >= MAX_EARLY) {
        logComm(`${MAX_EARLY} messages waiting for the kernel to answer anything; dropping ${msgType}`);
        return;
      }
      this.early.push({ msgType, content, opts, needsCell });
      return;
    }
    this.send(msgType, content, opts);
  }

  private send(msgType: string, content: Record<string, unknown>, opts: PublishOptions): void {
    const parent = opts.parent;
    const message = {
      header: newHeader(msgType, parent),
      parent_header: parent ?? {},
      metadata: (opts.metadata ?? {}) as Record<string, unknown>,
      content,
      buffers: opts.buffers ?? [],
    };
    this.iopub!.write(serializeMessage(message, this.signing));
  }

  /** Sends what waited, in order, up to a display that still has no cell to land in. */
  private flush(cell: MessageHeader | null): void {
    if (!this.iopub) return;
    while (this.early.length > 0) {
      const e = this.early[0];
      const parent = e.opts.parent ?? cell;
      if (e.needsCell && !parent) return;
      this.early.shift();
      this.send(e.msgType, e.content, { ...e.opts, parent });
    }
  }

  private reply(socket: FrameSocket, request: IncomingMessage, msgType: string, content: Record<string, unknown>): void {
    const message = { header: newHeader(msgType, request.header), parent_header: request.header, metadata: {}, content, buffers: [] };
    this.writerFor(socket, 'shell').write(serializeMessage(message, this.signing, request.identities));
  }

  private writerFor(socket: FrameSocket, name: string): SocketWriter {
    let writer = this.writers.get(socket);
    if (!writer) this.writers.set(socket, (writer = new SocketWriter(socket, name)));
    return writer;
  }

  /**
   * Captures the live server on first sight. `this` inside the patched
   * prototype methods is tslab's one ZmqServer; a server without the fields
   * we use means tslab changed, so comms switch off loudly and tslab goes on
   * working as if unpatched.
   */
  private attach(server: unknown): boolean {
    if (this.server) return server === this.server;
    if (this.unusable) return false;
    const s = server as Partial<ServerLike> | null;
    const key = s?.connInfo?.key;
    if (typeof key !== 'string' || typeof s?.iopub?.send !== 'function') {
      this.unusable = true;
      const line = 'tslab ZmqServer lacks connInfo.key or iopub.send: comm support is OFF in this kernel (modeldeck needs tslab 1.0.22)';
      logComm(line);
      try {
        process.stderr.write(`modeldeck: ${line}\n`);
      } catch {
        // nothing else to do
      }
      return false;
    }
    this.server = s as ServerLike;
    this.signing = { key, scheme: s.connInfo!.signature_scheme ?? 'hmac-sha256' };
    this.iopub = this.writerFor(s.iopub!, 'iopub');
    // No flush here: the caller knows better which cell the waiting messages belong to.
    return true;
  }
}
