/**
 * Turns raw file events into batches the library can act on:
 * - a file still being written is held back until its size and mtime stop
 *   changing for `stableMs` (a 6 GB checkpoint copied onto Drive raises
 *   hundreds of change events; hashing it half-written would be wasted work
 *   and a wrong hash);
 * - events close together coalesce into one batch (a folder of LoRAs copied in
 *   is one batch, hashed and looked up together);
 * - a rename is a removal and an addition of a file whose mtime is old, so the
 *   addition is stable at once and lands in the same batch as the removal,
 *   where the library pairs the two by fingerprint.
 */
import type { Stats } from 'node:fs';

export interface WatchBatch {
  /** Absolute paths of model files. */
  added: string[];
  changed: string[];
  removed: string[];
}

export interface BatcherOptions {
  stableMs: number;
  /** Quiet time that ends a batch. */
  debounceMs: number;
  /** A batch is delivered at the latest this long after its first event, even while events keep coming. */
  maxDelayMs: number;
  stat(path: string): Promise<Stats>;
  onBatch(batch: WatchBatch): void;
  onError(err: Error): void;
}

interface Pending {
  event: 'added' | 'changed';
  size: number;
  mtimeMs: number;
  /** When a change was last observed (ms, this process's clock). */
  lastChange: number;
}

export class ChangeBatcher {
  private readonly pending = new Map<string, Pending>();
  private readonly added = new Set<string>();
  private readonly changed = new Set<string>();
  private readonly removed = new Set<string>();
  /** Files that appeared and vanished before they were reported: their removal event is not news. */
  private readonly unreported = new Set<string>();
  private batchStartedAt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private closed = false;

  constructor(private readonly options: BatcherOptions) {}

  /** A model file appeared or changed; it joins a batch once it is stable. */
  async seen(path: string, event: 'added' | 'changed'): Promise<void> {
    if (this.closed) return;
    this.unreported.delete(path);
    let stats: Stats;
    try {
      stats = await this.options.stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.options.onError(err as Error);
      // Gone again before we looked: its removal event follows, and is news only if the file was known.
      else if (event === 'added' && !this.pending.has(path)) this.unreported.add(path);
      return;
    }
    if (this.closed) return;
    const now = Date.now();
    const known = this.pending.get(path);
    // An addition still waiting stays an addition, whatever events follow it.
    const kind = known?.event === 'added' ? 'added' : event;
    if (!known && now - stats.mtimeMs >= this.options.stableMs) {
      // Not written to lately (a rename, a move, `cp -p`): no need to wait.
      this.queue(path, kind);
      return;
    }
    const changedSinceSeen = !known || known.size !== stats.size || known.mtimeMs !== stats.mtimeMs;
    this.pending.set(path, {
      event: kind,
      size: stats.size,
      mtimeMs: stats.mtimeMs,
      lastChange: changedSinceSeen ? now : known.lastChange,
    });
    this.scheduleCheck();
  }

  /** A model file was removed. */
  gone(path: string): void {
    if (this.closed) return;
    const waiting = this.pending.get(path);
    this.pending.delete(path);
    if (this.unreported.delete(path) || waiting?.event === 'added' || this.added.delete(path)) {
      // Appeared and vanished before anyone was told: nothing to report.
      return;
    }
    this.changed.delete(path);
    this.removed.add(path);
    this.scheduleFlush();
  }

  /** Stops all timers; nothing is delivered afterwards. */
  close(): void {
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.checkTimer);
    this.pending.clear();
  }

  private queue(path: string, event: 'added' | 'changed'): void {
    if (event === 'added' && this.removed.delete(path)) {
      // Removed and back within one batch (replaced in place): for the library that is a change.
      this.changed.add(path);
    } else if (event === 'added') {
      this.added.add(path);
    } else if (!this.added.has(path)) {
      this.changed.add(path);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    const now = Date.now();
    if (this.flushTimer === undefined) this.batchStartedAt = now;
    clearTimeout(this.flushTimer);
    const wait = Math.min(this.options.debounceMs, Math.max(0, this.batchStartedAt + this.options.maxDelayMs - now));
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.closed) return;
    const batch: WatchBatch = { added: [...this.added].sort(), changed: [...this.changed].sort(), removed: [...this.removed].sort() };
    this.added.clear();
    this.changed.clear();
    this.removed.clear();
    if (batch.added.length + batch.changed.length + batch.removed.length === 0) return;
    try {
      this.options.onBatch(batch);
    } catch (err) {
      this.options.onError(err as Error);
    }
  }

  /** Re-stats files being written, a few times per stability window. */
  private scheduleCheck(): void {
    if (this.checkTimer !== undefined || this.checking || this.closed) return;
    const every = Math.min(500, Math.max(50, Math.round(this.options.stableMs / 4)));
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      void this.checkPending();
    }, every);
  }

  private async checkPending(): Promise<void> {
    this.checking = true;
    try {
      await Promise.all([...this.pending.keys()].map((path) => this.checkOne(path)));
    } finally {
      this.checking = false;
    }
    if (this.pending.size > 0) this.scheduleCheck();
  }

  private async checkOne(path: string): Promise<void> {
    let stats: Stats;
    try {
      stats = await this.options.stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.options.onError(err as Error);
        return;
      }
      // Removed while being written. Settle it now (a poller may never see it
      // at all), and remember not to report the removal event that may follow.
      const p = this.pending.get(path);
      if (p && !this.closed) {
        this.gone(path);
        this.unreported.add(path);
      }
      return;
    }
    const p = this.pending.get(path);
    if (!p || this.closed) return;
    const now = Date.now();
    if (stats.size !== p.size || stats.mtimeMs !== p.mtimeMs) {
      this.pending.set(path, { ...p, size: stats.size, mtimeMs: stats.mtimeMs, lastChange: now });
    } else if (now - p.lastChange >= this.options.stableMs) {
      this.pending.delete(path);
      this.queue(path, p.event);
    }
  }
}
