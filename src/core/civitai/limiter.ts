/**
 * One limiter per client, shared by all its requests, so that a 429 on one
 * request slows down every other request instead of each one discovering the
 * limit on its own.
 *
 * Two mechanisms:
 * - a pause: after a 429, no request starts before the server's Retry-After
 *   (or our backoff) has passed;
 * - a spacing between request starts that doubles with each 429 and halves with
 *   each success, so a client that keeps hitting the limit settles at a rate the
 *   server accepts, and a client that stopped hitting it speeds back up.
 */
import { sleep } from './backoff';

export interface LimiterOptions {
  /** Spacing after the first 429. Default 250 ms. */
  minIntervalMs?: number;
  /** Spacing never grows past this. Default 10 s. */
  maxIntervalMs?: number;
}

export class AdaptiveLimiter {
  private interval = 0;
  private pausedUntil = 0;
  private nextStart = 0;
  private readonly minInterval: number;
  private readonly maxInterval: number;

  constructor(options: LimiterOptions = {}) {
    this.minInterval = options.minIntervalMs ?? 250;
    this.maxInterval = options.maxIntervalMs ?? 10_000;
  }

  /** Current spacing between request starts, in ms (0 when the server is happy). */
  get intervalMs(): number {
    return this.interval;
  }

  /** Waits for this request's turn. Slots are handed out in call order. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.pausedUntil, this.nextStart);
    this.nextStart = start + this.interval;
    await sleep(start - now, signal);
    // A pause set while we slept (another request got a 429) applies to us too.
    const later = this.pausedUntil - Date.now();
    if (later > 0) await sleep(later, signal);
  }

  /** A 429 came back; hold everyone for `pauseMs` and widen the spacing. */
  onRateLimited(pauseMs: number): void {
    this.interval = Math.min(this.maxInterval, Math.max(this.minInterval, this.interval * 2));
    this.pause(pauseMs);
  }

  /** The server asked for quiet (Retry-After on a 503): hold everyone, keep the spacing. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  /** A request got through; narrow the spacing. */
  onSuccess(): void {
    this.interval = this.interval / 2 < this.minInterval / 2 ? 0 : this.interval / 2;
  }
}
