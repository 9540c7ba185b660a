/**
 * Which cell is running. tslab runs `execute_request`s one at a time in the
 * order they arrive (its TaskQueue), while its dispatch loop starts handling
 * each message at once; so the oldest execute request that has not finished
 * is the one running, and the rest are waiting behind it.
 */
import type { MessageHeader } from './message';

export class CellTracker {
  private readonly running: MessageHeader[] = [];
  private last: MessageHeader | null = null;

  started(header: MessageHeader): void {
    this.running.push(header);
  }

  finished(header: MessageHeader): void {
    const i = this.running.indexOf(header);
    if (i >= 0) this.running.splice(i, 1);
    this.last = header;
  }

  /** tslab published `idle` for an execute request we did not see start (the cell that installed the patch). */
  seenIdle(header: MessageHeader): void {
    if (!this.running.some((h) => h.msg_id === header.msg_id)) this.last = header;
  }

  /** The cell running now, if any. */
  current(): MessageHeader | null {
    return this.running[0] ?? null;
  }

  /**
   * Where a display goes: the running cell, else the last one. Like tslab's
   * own stream output, output from background work lands in the last cell.
   */
  forDisplay(): MessageHeader | null {
    return this.running[0] ?? this.last;
  }
}
