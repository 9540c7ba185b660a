/**
 * The one comm the served session talks on. What the session sends is
 * applied to the snapshot mirror and appended to the event log (buffers as
 * base64, since an SSE event is text); every tab's event stream follows the
 * log. Messages from tabs (their POSTs) arrive through `deliver`.
 */
import { randomUUID } from 'node:crypto';
import type { CommSendOptions, SessionComm, SessionCommHost } from '../kernel/widget/comm-types';
import type { EventLog } from './event-log';
import { SessionMirror } from './mirror';

export class BroadcastComm implements SessionComm {
  readonly id = randomUUID().replace(/-/g, '');
  readonly mirror = new SessionMirror();
  private messageHandlers: ((data: any, buffers: Uint8Array[]) => void)[] = [];
  private closeHandlers: ((data: any) => void)[] = [];
  private isClosed = false;

  constructor(
    readonly targetName: string,
    private readonly log: EventLog,
    openData: unknown,
  ) {
    this.mirror.apply(openData);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: unknown, opts: CommSendOptions = {}): void {
    if (this.isClosed) return;
    this.mirror.apply(data);
    const buffers = opts.buffers ?? [];
    const payload = buffers.length ? { m: data, b: buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')) } : { m: data };
    this.log.append(JSON.stringify(payload));
  }

  close(data: unknown = {}): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const cb of this.closeHandlers) cb(data);
  }

  onMessage(cb: (data: any, buffers: Uint8Array[]) => void): void {
    this.messageHandlers.push(cb);
  }

  onClose(cb: (data: any) => void): void {
    this.closeHandlers.push(cb);
  }

  /** A message from a tab. */
  deliver(data: unknown, buffers: Uint8Array[] = []): void {
    if (this.isClosed) return;
    for (const cb of this.messageHandlers) cb(data, buffers);
  }
}

/** Opens exactly one comm: the served session's. */
export class BroadcastHost implements Pick<SessionCommHost, 'openComm'> {
  comm: BroadcastComm | null = null;

  constructor(private readonly log: EventLog) {}

  openComm(targetName: string, data: unknown): BroadcastComm {
    if (this.comm) throw new Error('the served session has one comm');
    this.comm = new BroadcastComm(targetName, this.log, data);
    return this.comm;
  }
}
