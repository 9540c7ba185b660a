/**
 * The event stream each tab holds open (`GET api/events`): Server-Sent Events
 * with ids. A tab reconnecting sends `Last-Event-ID` (EventSource does it by
 * itself; the first connection passes `?since=` instead, the id of the
 * snapshot it loaded) and gets every event after it, or a `resync` event when
 * it is too far behind. Bounded: at most `maxStreams` at once (more are
 * refused with 503), and a tab that does not read (its unsent bytes pass
 * `maxBufferedBytes`) is dropped; it reconnects and catches up from the log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventLog, LoggedEvent } from './event-log';

export interface StreamLimits {
  maxStreams: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** What EventSource waits before reconnecting. */
  retryMs: number;
}

export class EventStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly log: EventLog,
    private readonly limits: StreamLimits,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** Serves one stream; `since` is the id the tab has seen up to. */
  serve(req: IncomingMessage, res: ServerResponse, since: string | null): void {
    if (this.open.size >= this.limits.maxStreams) {
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' });
      res.end(JSON.stringify({ ok: false, error: { code: 'too_many_streams', message: `at most ${this.limits.maxStreams} tabs at once` } }));
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // Proxies (nginx and those built on it) must pass events on at once.
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    // An event stream is meant to outlive the server's request timeout.
    req.socket.setTimeout(0);
    this.open.add(res);
    res.write(`retry: ${this.limits.retryMs}\n\n`);

    const send = (e: LoggedEvent) => {
      res.write(`id: ${e.id}\ndata: ${e.data}\n\n`);
      if (res.writableLength > this.limits.maxBufferedBytes) drop();
    };
    // No id at all: the tab has no snapshot yet, and is told to load one.
    const backlog = since === null ? { kind: 'resync' as const } : this.log.since(since);
    if (backlog.kind === 'resync') res.write(`id: ${this.log.lastId}\nevent: resync\ndata: {}\n\n`);
    else for (const e of backlog.events) send(e);

    const unsubscribe = this.log.subscribe(send);
    const heartbeat = setInterval(() => res.write(':\n\n'), this.limits.heartbeatMs);
    heartbeat.unref();
    let done = false;
    const cleanup = () => {
      if (done) return;
      done = true;
      unsubscribe();
      clearInterval(heartbeat);
      this.open.delete(res);
    };
    const drop = () => {
      cleanup();
      res.destroy();
    };
    res.on('close', cleanup);
    res.on('error', cleanup);
  }

  /** Ends every stream (the server stops, or a test drops them to see the tabs reconnect). */
  endAll(): void {
    for (const res of [...this.open]) {
      this.open.delete(res);
      res.end();
    }
  }
}
