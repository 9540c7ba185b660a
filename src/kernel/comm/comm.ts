/**
 * One comm, kernel side. It keeps its callbacks and the headers the comm
 * layer needs to pick a parent for what it sends; the sending itself goes
 * through the link to the manager, which owns the transport.
 */
import { describeError, logComm } from './log';
import type { MessageHeader } from './message';
import type { Comm, CommMessageInfo } from './types';

export interface CommLink {
  send(comm: KernelComm, msgType: 'comm_msg' | 'comm_close', content: Record<string, unknown>, opts: { buffers?: Uint8Array[]; metadata?: object }): void;
  forget(comm: KernelComm): void;
}

type MessageCallback = (data: any, buffers: Uint8Array[], info: CommMessageInfo) => void;
type CloseCallback = (data: any) => void;

export class KernelComm implements Comm {
  private readonly messageCallbacks: MessageCallback[] = [];
  private readonly closeCallbacks: CloseCallback[] = [];
  private isClosed = false;
  private warnedClosed = false;
  /** Front-end messages whose handlers have not settled yet (newest last). */
  readonly pending: MessageHeader[] = [];
  /** The last front-end message on this comm, or the request during which it opened. */
  lastParent: MessageHeader | null;

  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly link: CommLink,
    openParent: MessageHeader | null,
  ) {
    this.lastParent = openParent;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: unknown, opts: { buffers?: Uint8Array[]; metadata?: object } = {}): void {
    if (this.isClosed) {
      // Progress from background work may outlive the widget: not an error, but say it once.
      if (!this.warnedClosed) logComm(`comm ${this.id} (${this.targetName}) is closed; dropping what is sent on it`);
      this.warnedClosed = true;
      return;
    }
    this.link.send(this, 'comm_msg', { comm_id: this.id, data: data ?? {} }, opts);
  }

  close(data: unknown = {}): void {
    if (this.isClosed) return;
    this.link.send(this, 'comm_close', { comm_id: this.id, data: data ?? {} }, {});
    this.closedBy(data ?? {});
  }

  onMessage(cb: MessageCallback): void {
    this.messageCallbacks.push(cb);
  }

  onClose(cb: CloseCallback): void {
    this.closeCallbacks.push(cb);
  }

  /**
   * Runs the message callbacks; returns the promises they returned, so the
   * manager can wait for them before `idle`. A throwing callback is logged
   * and the others still run.
   */
  deliver(data: unknown, buffers: Uint8Array[], info: CommMessageInfo): Promise<unknown>[] {
    const results: Promise<unknown>[] = [];
    for (const cb of [...this.messageCallbacks]) {
      const result = guarded(() => cb(data, buffers, info), `comm ${this.id} message handler`);
      if (isPromiseLike(result)) results.push(Promise.resolve(result).catch((err) => logComm(`comm ${this.id} message handler failed: ${describeError(err)}`)));
    }
    return results;
  }

  /** Marks the comm closed (either side) and tells the close callbacks once. */
  closedBy(data: unknown): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.link.forget(this);
    for (const cb of this.closeCallbacks.splice(0)) guarded(() => cb(data), `comm ${this.id} close handler`);
    this.messageCallbacks.length = 0;
  }
}

export function guarded<T>(fn: () => T, what: string): T | undefined {
  try {
    return fn();
  } catch (err) {
    logComm(`${what} threw: ${describeError(err)}`);
    return undefined;
  }
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
