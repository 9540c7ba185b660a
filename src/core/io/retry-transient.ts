/**
 * Runs a small file operation again when the mount fails for a moment.
 *
 * Sidecar and preview writes are short and idempotent (read what is there,
 * decide, write a temporary file, rename it over the target), so on a
 * transient error (transient.ts: ENOTCONN, EIO, ESTALE, EAGAIN...) the whole
 * operation is simply run again after a backoff, with the same policy as model
 * reads (retryDefaults). A whole mount that is gone is waited for through
 * `waitForMount` (the scan's DriveGuard) without using up a try. Any other
 * error, or the last try's, is thrown as it is.
 */
import { backoffMs, errnoName, isTransientIoError, sleep } from './transient';
import { retryDefaults, type IoRetryOptions } from './resumable-file';

export class RetriesExhausted extends Error {
  constructor(
    readonly tries: number,
    readonly last: unknown,
  ) {
    super(`${(last as Error)?.message ?? String(last)} (gave up after ${tries} tries)`, { cause: last });
  }

  /** The last failure in a word where it has one (ENOTCONN, ESTALE...), else its message: for one-line reports. */
  get reason(): string {
    return errnoName(this.last) ?? (this.last as Error)?.message ?? String(this.last);
  }
}

export async function retryTransient<T>(what: string, op: (attempt: number) => Promise<T>, options: IoRetryOptions = {}): Promise<T> {
  const policy = retryDefaults(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      if (!isTransientIoError(err) || options.signal?.aborted) throw err;
      if (attempt >= policy.tries) throw new RetriesExhausted(attempt, err);
      options.onRetry?.({ file: what, offset: 0, reason: (err as Error)?.message ?? String(err), attempt });
      if (await options.waitForMount?.(err)) attempt--;
      else await sleep(backoffMs(attempt, policy.baseDelayMs, policy.maxDelayMs), options.signal);
    }
  }
}
