/**
 * Calls `fn` at most once per `intervalMs`: the first call goes at once, later
 * ones are coalesced into one trailing call, so the last value always goes out.
 */
export class Throttle {
  private last = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => void,
  ) {}

  schedule(): void {
    if (this.timer) return;
    const wait = this.last + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.timer = setTimeout(() => this.run(), wait);
    this.timer.unref?.();
  }

  /** Runs a pending call now. */
  flush(): void {
    if (this.timer) this.run();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.cancel();
    this.last = Date.now();
    this.fn();
  }
}
