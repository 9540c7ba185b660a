/**
 * The session's outgoing messages, numbered, with the latest ones kept for
 * replay: a tab whose event stream dropped reconnects with `Last-Event-ID`
 * and gets everything after it. The buffer is bounded by count and by bytes;
 * a tab further behind than what is kept (or one from before a restart: ids
 * carry this run's epoch) is told to resync, that is to fetch a fresh
 * snapshot, which is always complete.
 */
import { randomBytes } from 'node:crypto';

export interface LoggedEvent {
  /** `<epoch>-<serial>`: unique across restarts. */
  id: string;
  serial: number;
  /** The SSE `data:` payload (one line of JSON). */
  data: string;
}

export type Since = { kind: 'events'; events: LoggedEvent[] } | { kind: 'resync' };

export interface EventLogLimits {
  maxEvents?: number;
  maxBytes?: number;
}

export class EventLog {
  readonly epoch = randomBytes(4).toString('hex');
  private serial = 0;
  private readonly kept: LoggedEvent[] = [];
  private keptBytes = 0;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly listeners = new Set<(e: LoggedEvent) => void>();

  constructor(limits: EventLogLimits = {}) {
    this.maxEvents = limits.maxEvents ?? 5000;
    this.maxBytes = limits.maxBytes ?? 32 * 1024 * 1024;
  }

  /** The id of the latest event (`<epoch>-0` before the first). */
  get lastId(): string {
    return `${this.epoch}-${this.serial}`;
  }

  append(data: string): LoggedEvent {
    const event = { id: `${this.epoch}-${++this.serial}`, serial: this.serial, data };
    this.kept.push(event);
    this.keptBytes += data.length;
    while (this.kept.length > this.maxEvents || (this.keptBytes > this.maxBytes && this.kept.length > 1)) {
      this.keptBytes -= this.kept.shift()!.data.length;
    }
    for (const fn of [...this.listeners]) fn(event);
    return event;
  }

  /** The events after `lastId`, or resync when some of them are no longer kept (or the id is not this run's). */
  since(lastId: string): Since {
    const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastId);
    if (!m || m[1] !== this.epoch) return { kind: 'resync' };
    const after = Number(m[2]);
    if (after > this.serial) return { kind: 'resync' };
    if (after === this.serial) return { kind: 'events', events: [] };
    const first = this.kept[0];
    if (!first || first.serial > after + 1) return { kind: 'resync' };
    return { kind: 'events', events: this.kept.slice(after + 1 - first.serial) };
  }

  subscribe(fn: (e: LoggedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
