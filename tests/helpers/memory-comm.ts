/**
 * An in-memory comm host for widget tests: the kernel side implements the comm
 * layer's interfaces; the "front end" records everything the kernel sends
 * (JSON round-tripped, as the wire would) and can send messages back.
 */
import type { Comm, CommHost } from '../../src/kernel/comm';
import { WAIT_MS } from './wait';

export interface SentMessage {
  commId: string;
  data: any;
  buffers: Uint8Array[];
  metadata?: object;
}

export interface OpenedComm {
  id: string;
  targetName: string;
  data: any;
  metadata: any;
  buffers: Uint8Array[];
}

const wire = (v: unknown): any => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

class MemoryComm implements Comm {
  closed = false;
  private messageCbs: ((data: any, buffers: Uint8Array[], info: any) => void)[] = [];
  private closeCbs: ((data: any) => void)[] = [];

  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly fe: MemoryFrontEnd,
  ) {}

  send(data: unknown, opts: { buffers?: Uint8Array[]; metadata?: object } = {}): void {
    if (this.closed) return;
    this.fe.received.push({ commId: this.id, data: wire(data), buffers: (opts.buffers ?? []).map((b) => new Uint8Array(b)), metadata: opts.metadata });
  }

  close(data?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.fe.closes.push({ commId: this.id, data: wire(data) });
    for (const cb of this.closeCbs) cb(data);
  }

  onMessage(cb: (data: any, buffers: Uint8Array[], info: any) => void): void {
    this.messageCbs.push(cb);
  }

  onClose(cb: (data: any) => void): void {
    this.closeCbs.push(cb);
  }

  /** Front end -> kernel. */
  deliver(data: unknown, buffers: Uint8Array[]): void {
    if (this.closed) return;
    for (const cb of this.messageCbs) cb(wire(data), buffers, { metadata: {}, msgId: `fe-${Math.random()}` });
  }

  /** The front end closes the comm. */
  closeFromFrontEnd(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cb of this.closeCbs) cb({});
  }
}

export class MemoryFrontEnd {
  readonly opened: OpenedComm[] = [];
  readonly received: SentMessage[] = [];
  readonly displays: { bundle: any; metadata: any }[] = [];
  readonly closes: { commId: string; data: any }[] = [];
  private readonly comms = new Map<string, MemoryComm>();
  private serial = 0;
  private requestSerial = 0;

  readonly host: CommHost = {
    openComm: (targetName, data, opts = {}) => {
      const id = `comm-${++this.serial}`;
      const comm = new MemoryComm(id, targetName, this);
      this.comms.set(id, comm);
      this.opened.push({ id, targetName, data: wire(data), metadata: wire(opts.metadata ?? {}), buffers: opts.buffers ?? [] });
      return comm;
    },
    registerTarget: () => undefined,
    display: (bundle, metadata = {}) => {
      this.displays.push({ bundle: wire(bundle), metadata: wire(metadata) });
    },
  };

  send(commId: string, data: unknown, buffers: Uint8Array[] = []): void {
    const comm = this.comms.get(commId);
    if (!comm) throw new Error(`no comm ${commId}`);
    comm.deliver(data, buffers);
  }

  closeComm(commId: string): void {
    this.comms.get(commId)?.closeFromFrontEnd();
  }

  /** Messages on one comm since index `from`. */
  messages(commId: string, from = 0): SentMessage[] {
    return this.received.slice(from).filter((m) => m.commId === commId);
  }

  customs(commId: string, type?: string, from = 0): { content: any; buffers: Uint8Array[] }[] {
    return this.messages(commId, from)
      .filter((m) => m.data?.method === 'custom' && (type === undefined || m.data.content?.type === type))
      .map((m) => ({ content: m.data.content, buffers: m.buffers }));
  }

  updates(commId: string, method: 'update' | 'echo_update' = 'update', from = 0): any[] {
    return this.messages(commId, from)
      .filter((m) => m.data?.method === method)
      .map((m) => m.data.state);
  }

  /** The state the front end holds: comm_open state with every update applied. */
  state(commId: string): any {
    const open = this.opened.find((o) => o.id === commId);
    const state = { ...open?.data.state };
    for (const u of this.updates(commId)) Object.assign(state, u);
    return state;
  }

  /** Sends a custom request and resolves with its reply (`requestId` is added). */
  async request(commId: string, content: Record<string, unknown>, buffers: Uint8Array[] = [], timeoutMs = WAIT_MS): Promise<any> {
    const requestId = `r${++this.requestSerial}`;
    const from = this.received.length;
    this.send(commId, { method: 'custom', content: { requestId, ...content } }, buffers);
    return this.waitFor(() => this.customs(commId, 'reply', from).find((r) => r.content.requestId === requestId)?.content, timeoutMs);
  }

  async waitFor<T>(get: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error('timed out waiting for a message');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Everything the kernel sent, as text (buffers as latin1), for leak checks. */
  allText(): string {
    const parts: string[] = [];
    for (const o of this.opened) parts.push(JSON.stringify(o));
    for (const d of this.displays) parts.push(JSON.stringify(d));
    for (const m of this.received) {
      parts.push(JSON.stringify(m.data), JSON.stringify(m.metadata ?? null));
      for (const b of m.buffers) parts.push(Buffer.from(b).toString('latin1'));
    }
    for (const c of this.closes) parts.push(JSON.stringify(c));
    return parts.join('\n');
  }
}
