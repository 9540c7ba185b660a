/**
 * Which file-system errors are worth waiting out. On Google Drive's FUSE mount
 * (and NFS, SMB) a read can fail for a moment and work again: the mount lost
 * its connection (ENOTCONN, Colab's "Transport endpoint is not connected";
 * ECONNABORTED), the server dropped the handle (ESTALE), the transport gave up
 * on one request (EIO, ETIMEDOUT) or asked to come back later (EAGAIN).
 * Anything else (no such file, permission denied) will not change by waiting.
 */
const TRANSIENT = new Set(['ENOTCONN', 'ECONNABORTED', 'ESTALE', 'EIO', 'ETIMEDOUT', 'EAGAIN']);

/** errno numbers by name, loaded on the first error: node:os is not needed on a run with none (the hash CLI's start-up). */
let errnos: Record<string, number> | undefined;
function errno(name: string): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  errnos ??= (require('node:os') as typeof import('node:os')).constants.errno as Record<string, number>;
  return -errnos[name];
}

// libuv has no name for ESTALE ("Unknown system error -116"): the number tells.
let transientErrnos: Set<number> | undefined;
const transientErrnoSet = () => (transientErrnos ??= new Set([...TRANSIENT].map(errno).filter(Number.isFinite)));

/** The error's name, also where libuv only gives a number (ESTALE). */
export function errnoName(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.errno !== undefined && e.errno === errno('ESTALE')) return 'ESTALE';
  return e?.code;
}

export function isTransientIoError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  if ((e?.code && TRANSIENT.has(e.code)) || (typeof e?.errno === 'number' && transientErrnoSet().has(e.errno))) return true;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== err && isTransientIoError(cause);
}

/** The errors that say the whole mount is gone rather than one request failing. */
export function isDisconnectError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOTCONN' || code === 'ECONNABORTED') return true;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== err && isDisconnectError(cause);
}

/** Exponential backoff with a ceiling: attempt 1 waits `base`, then 2x, 4x... */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
