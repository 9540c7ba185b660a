/**
 * Tells a mount that is gone from a file that failed, and waits for the mount.
 *
 * When Google Drive's FUSE mount drops on Colab every call on it fails with
 * "Transport endpoint is not connected". Failing each remaining file with that
 * would turn one outage into hundreds of warnings and a scan to redo, so on a
 * transient error the scan asks the guard: if the library's root does not
 * answer either (statfs always reaches the file system's daemon; a stat could
 * come from the kernel's attribute cache), the scan pauses with a message and
 * the fix, checks again with backoff, and goes on where it was once the root
 * answers. One file's error on a live mount is that file's business (retried
 * by ResumableFile, then reported).
 */
import { statfs } from 'node:fs/promises';
import { CancelledError, ModeldeckError } from '../errors';
import { isTransientIoError, sleep } from '../io/transient';

export const DISCONNECTED_MESSAGE =
  'Drive disconnected: waiting. Fix: remount it (Colab: drive.mount("/content/drive", force_remount=True)); the scan goes on by itself once the folder answers again.';

export interface DriveGuardOptions {
  /** Called when the pause starts and ends (message undefined). */
  onPause?: (message: string | undefined) => void;
  /** Longest wait before the scan gives up (default 30 min, or MODELDECK_DISCONNECT_WAIT_MS). */
  maxWaitMs?: number;
  /** First interval between checks; doubles up to 5 s (default 200 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

export class DriveGuard {
  /** How often the scan paused, and for how long in all. */
  pauses = 0;
  pausedMs = 0;
  private waiting: Promise<boolean> | null = null;

  constructor(
    private readonly root: string,
    private readonly options: DriveGuardOptions = {},
  ) {}

  /** Whether the root answers now. */
  async reachable(): Promise<boolean> {
    try {
      await statfs(this.root);
      return true;
    } catch (err) {
      if (isTransientIoError(err)) return false;
      // ENOENT and the like: the folder itself is gone, not the connection. Not ours to wait for.
      return true;
    }
  }

  /**
   * After a transient error: resolves false at once when the root answers
   * (the error was the file's own), true after waiting for a mount that was gone.
   * Every caller during one outage shares one wait.
   */
  waitIfDisconnected = (err: unknown): Promise<boolean> => {
    if (!isTransientIoError(err)) return Promise.resolve(false);
    this.waiting ??= this.wait().finally(() => {
      this.waiting = null;
    });
    return this.waiting;
  };

  private async wait(): Promise<boolean> {
    if (await this.reachable()) return false;
    const started = Date.now();
    const envWait = Number(process.env.MODELDECK_DISCONNECT_WAIT_MS);
    const maxWait = this.options.maxWaitMs ?? (Number.isFinite(envWait) && envWait > 0 ? envWait : 30 * 60_000);
    this.pauses++;
    this.options.onPause?.(DISCONNECTED_MESSAGE);
    try {
      let interval = this.options.pollMs ?? 200;
      for (;;) {
        if (this.options.signal?.aborted) throw new CancelledError(this.root);
        if (Date.now() - started > maxWait) {
          throw new ModeldeckError('drive_disconnected', `${this.root}: the drive stayed disconnected for ${Math.round(maxWait / 1000)} s; remount it and scan again (what was done is kept)`);
        }
        await sleep(interval, this.options.signal);
        interval = Math.min(5000, interval * 2);
        if (await this.reachable()) return true;
      }
    } finally {
      this.pausedMs += Date.now() - started;
      this.options.onPause?.(undefined);
    }
  }
}
