/**
 * A comm whose other end is the Python kernel: what the session sends becomes
 * a frame on stdout, and the Python relay turns it into the kernel's own
 * `jupyter.widget` comm. Messages the relay passes back arrive via `deliver`.
 */
import { randomUUID } from 'node:crypto';
import type { CommSendOptions, SessionComm, SessionCommHost } from '../../kernel/widget/comm-types';

export type SendFrame = (header: Record<string, unknown>, buffers?: readonly Uint8Array[]) => void;

export class RelayComm implements SessionComm {
  readonly id = randomUUID().replace(/-/g, '');
  private messageHandlers: ((data: any, buffers: Uint8Array[]) => void)[] = [];
  private closeHandlers: ((data: any) => void)[] = [];
  private isClosed = false;

  constructor(
    readonly targetName: string,
    private readonly sendFrame: SendFrame,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: unknown, opts: CommSendOptions = {}): void {
    if (this.isClosed) return;
    this.sendFrame({ op: 'comm_msg', comm_id: this.id, data, ...(opts.metadata ? { metadata: opts.metadata } : {}) }, opts.buffers ?? []);
  }

  close(data: unknown = {}): void {
    if (this.isClosed) return;
    this.sendFrame({ op: 'comm_close', comm_id: this.id, data });
    this.closed_(data);
  }

  onMessage(cb: (data: any, buffers: Uint8Array[]) => void): void {
    this.messageHandlers.push(cb);
  }

  onClose(cb: (data: any) => void): void {
    this.closeHandlers.push(cb);
  }

  /** A message from the front end, relayed by the kernel. */
  deliver(data: unknown, buffers: Uint8Array[]): void {
    if (this.isClosed) return;
    const msg = asRequestState(data);
    for (const cb of this.messageHandlers) cb(msg, buffers);
  }

  /** The front end (or the kernel) closed the comm. */
  closed_(data: unknown = {}): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const cb of this.closeHandlers) cb(data);
  }
}

/**
 * anywidget's model gives its module no raw comm, so the anywidget client asks
 * for the full state with a custom message `{type: 'request_state'}`: here it
 * becomes the `request_state` method the session knows.
 */
function asRequestState(data: unknown): unknown {
  const d = data as { method?: unknown; content?: { type?: unknown; requestId?: unknown } } | null;
  if (d && d.method === 'custom' && d.content && d.content.type === 'request_state' && d.content.requestId === undefined) return { method: 'request_state' };
  return data;
}

/** The comm host the session is given: each comm it opens is announced to the relay as `comm_open`. */
export class RelayCommHost implements Pick<SessionCommHost, 'openComm'> {
  readonly comms = new Map<string, RelayComm>();

  constructor(private readonly sendFrame: SendFrame) {}

  openComm(targetName: string, data: unknown, opts: { metadata?: object; buffers?: Uint8Array[] } = {}): RelayComm {
    const comm = new RelayComm(targetName, this.sendFrame);
    this.comms.set(comm.id, comm);
    comm.onClose(() => this.comms.delete(comm.id));
    this.sendFrame({ op: 'comm_open', comm_id: comm.id, target: targetName, data, metadata: opts.metadata ?? {} }, opts.buffers ?? []);
    return comm;
  }
}
