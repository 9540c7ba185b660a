/**
 * Ordered, non-throwing sends on a zeromq socket shared with tslab.
 *
 * zeromq 6 hands a message to its I/O thread synchronously most of the time,
 * but after 512 synchronous sends in a row it defers one to keep the event
 * loop alive, and until that one goes out every other `send` throws EBUSY
 * ("Socket is busy writing"). tslab never awaits its sends, and neither can
 * code that must publish from a synchronous call. So: send at once when
 * nothing of ours is waiting, otherwise queue and retry, keeping the order.
 */
import { describeError, logComm } from './log';

export interface FrameSocket {
  send(frames: Uint8Array[]): unknown;
}

/** Enough for a burst of progress messages; beyond it the socket is gone or stuck. */
const MAX_QUEUED = 10_000;

export class SocketWriter {
  private readonly queue: Uint8Array[][] = [];
  private readonly drained: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly socket: FrameSocket,
    private readonly name: string,
  ) {}

  /** Messages waiting for the socket; the patch holds tslab's status back while there are any. */
  get backlog(): number {
    return this.queue.length;
  }

  write(frames: Uint8Array[]): void {
    if (this.queue.length === 0 && this.trySend(frames)) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      this.report(`${this.name}: ${MAX_QUEUED} messages waiting; dropping the oldest`);
    }
    this.queue.push(frames);
    this.schedule();
  }

  /** Runs `fn` once everything queued so far has been handed to the socket. */
  whenDrained(fn: () => void): void {
    if (this.queue.length === 0) fn();
    else this.drained.push(fn);
  }

  /** True when the message is done with (sent, or dropped for good); false when the socket is busy. */
  private trySend(frames: Uint8Array[]): boolean {
    try {
      const sent = this.socket.send(frames);
      if (sent && typeof (sent as Promise<void>).then === 'function') {
        (sent as Promise<void>).then(undefined, (err: unknown) => this.report(`${this.name}: send failed: ${describeError(err)}`));
      }
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'EBUSY') return false;
      this.report(`${this.name}: dropped a message: ${err instanceof Error ? err.message : String(err)}`);
      return true;
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.drain(), 1);
  }

  private drain(): void {
    this.timer = null;
    while (this.queue.length > 0) {
      if (!this.trySend(this.queue[0])) return this.schedule();
      this.queue.shift();
    }
    for (const fn of this.drained.splice(0)) {
      try {
        fn();
      } catch (err) {
        this.report(`${this.name}: ${describeError(err)}`);
      }
    }
  }

  /** After a socket closes every send fails: say so a few times, not thousands. */
  private report(line: string): void {
    if (++this.failures <= 5) logComm(line);
  }
}
