/**
 * A model file open for reading that survives a flaky mount.
 *
 * A read that fails with a transient error (see transient.ts), or returns no
 * bytes before the end of the file, is tried again after a backoff on a fresh
 * descriptor, at the same offset: whoever reads (the hash engine) keeps its
 * state in memory, so nothing already read is read again. Before going on, the
 * reopened file must still be the same file (same size and mtime); a file that
 * changed or got shorter is an error, never a silently wrong hash. After
 * `tries` failed attempts the read fails with a one-line reason.
 *
 * When the whole mount is gone, `waitForMount` (the scan's DriveGuard) holds
 * the read until it is back; that wait does not use up a try.
 */
import type { FileHandle } from 'node:fs/promises';
import { FileAccessError, ModeldeckError, describeFsError } from '../errors';
import { openForReading, openForReadingWithStat } from '../open-file';
import { backoffMs, errnoName, isTransientIoError, sleep } from './transient';

export interface IoRetryOptions {
  /** Attempts per read before giving up (default 6, or MODELDECK_IO_TRIES). */
  tries?: number;
  /** First backoff (default 250 ms, or MODELDECK_IO_RETRY_MS); doubles per attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Resolves true after waiting for a mount that was gone (the attempt is then not counted). */
  waitForMount?: (err: unknown) => Promise<boolean>;
  /** Told about every retry (for reports and tests). */
  onRetry?: (info: { file: string; offset: number; reason: string; attempt: number }) => void;
  signal?: AbortSignal;
}

export function retryDefaults(options: IoRetryOptions = {}): Required<Omit<IoRetryOptions, 'waitForMount' | 'onRetry' | 'signal'>> {
  const env = (name: string) => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v >= 0 ? v : undefined;
  };
  return {
    tries: options.tries ?? env('MODELDECK_IO_TRIES') ?? 6,
    baseDelayMs: options.baseDelayMs ?? env('MODELDECK_IO_RETRY_MS') ?? 250,
    maxDelayMs: options.maxDelayMs ?? 8000,
  };
}

export class ResumableFile {
  /** Descriptors opened after the first (for reports and tests). */
  reopens = 0;
  private readonly policy: ReturnType<typeof retryDefaults>;

  private constructor(
    private fh: FileHandle,
    readonly file: string,
    readonly size: number,
    readonly mtimeMs: number,
    private readonly options: IoRetryOptions,
    private readonly ownsHandle: boolean,
  ) {
    this.policy = retryDefaults(options);
  }

  /** Opens `file` (retrying transient failures the same way reads are retried). */
  static async open(file: string, options: IoRetryOptions = {}): Promise<ResumableFile> {
    const policy = retryDefaults(options);
    for (let attempt = 1; ; attempt++) {
      try {
        const { fh, st } = await openForReadingWithStat(file);
        return new ResumableFile(fh, file, st.size, st.mtimeMs, options, true);
      } catch (err) {
        if (!isTransientIoError(err) || attempt >= policy.tries) throw asAccessError(file, err);
        options.onRetry?.({ file, offset: 0, reason: reasonOf(err), attempt });
        if (await options.waitForMount?.(err)) attempt--;
        else await sleep(backoffMs(attempt, policy.baseDelayMs, policy.maxDelayMs), options.signal);
      }
    }
  }

  /** Wraps a descriptor someone else opened (and closes); reopens are this object's own. */
  static async wrap(fh: FileHandle, file: string, options: IoRetryOptions = {}): Promise<ResumableFile> {
    const st = await fh.stat().catch((err) => {
      throw asAccessError(file, err);
    });
    return new ResumableFile(fh, file, st.size, st.mtimeMs, options, false);
  }

  get handle(): FileHandle {
    return this.fh;
  }

  /** Reads up to `length` bytes at `position`; 0 only at or past the end of the file. */
  read(buf: Uint8Array, at: number, length: number, position: number): Promise<number> {
    if (length === 0 || position >= this.size) return Promise.resolve(0);
    return this.withRetry(position, async (fh) => {
      const { bytesRead } = await fh.read(buf, at, length, position);
      // No bytes before the end: the file got shorter, or the mount gave a short answer.
      if (bytesRead === 0) throw new ShortRead();
      return bytesRead;
    });
  }

  /**
   * Runs `work` on the current descriptor; a transient failure is retried on a
   * fresh one after a backoff (the probe's header reads use this too).
   */
  async withRetry<T>(position: number, work: (fh: FileHandle) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        return await work(this.fh);
      } catch (err) {
        // A system error becomes a one-line FileAccessError; the work's own errors (a malformed header) pass as they are.
        if (!(err instanceof ShortRead) && !isTransientIoError(err)) throw isSystemError(err) ? asAccessError(this.file, err) : err;
        failure = err;
      }
      const short = failure instanceof ShortRead;
      const reason = short ? 'no bytes came back before the end of the file' : reasonOf(failure);
      if (attempt >= this.policy.tries) {
        throw new FileAccessError(this.file, `${reason} at byte ${position}, ${attempt} tries (the next scan tries again)`, { cause: short ? undefined : failure });
      }
      this.options.onRetry?.({ file: this.file, offset: position, reason, attempt });
      if (!short && (await this.options.waitForMount?.(failure))) attempt--;
      else await sleep(backoffMs(attempt, this.policy.baseDelayMs, this.policy.maxDelayMs), this.options.signal);
      await this.reopen();
    }
  }

  /** Closes what this object opened; a wrapped descriptor stays its owner's to close. */
  async close(): Promise<void> {
    if (this.ownsHandle || this.reopens > 0) await this.fh.close().catch(() => undefined);
  }

  /** A fresh descriptor on the same file; a file that changed in the meantime is an error. */
  private async reopen(): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await openForReading(this.file);
    } catch (err) {
      // Still unreachable: the next attempt reads from the old descriptor, fails and comes back here.
      if (isTransientIoError(err)) return;
      throw asAccessError(this.file, err);
    }
    const st = await fh.stat().catch(() => null);
    if (!st) {
      await fh.close().catch(() => undefined);
      return;
    }
    if (st.size !== this.size || st.mtimeMs !== this.mtimeMs) {
      await fh.close().catch(() => undefined);
      const what = st.size < this.size ? `the file got shorter while it was being read (${this.size} -> ${st.size} bytes)` : 'the file changed while it was being read';
      throw new FileAccessError(this.file, `${what}; nothing recorded, the next scan reads it again`);
    }
    if (this.ownsHandle || this.reopens > 0) await this.fh.close().catch(() => undefined);
    this.fh = fh;
    this.reopens++;
  }
}

class ShortRead extends Error {}

function isSystemError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | undefined)?.errno === 'number' && !(err instanceof ModeldeckError);
}

function reasonOf(err: unknown): string {
  const code = errnoName(err);
  if (code === 'ESTALE') return 'the mount holding this file is not connected (ESTALE)';
  return code ? `${describeFsError(err)} (${code})` : describeFsError(err);
}

function asAccessError(file: string, err: unknown): Error {
  if (err instanceof FileAccessError) return err;
  return new FileAccessError(file, reasonOf(err), { cause: err });
}
