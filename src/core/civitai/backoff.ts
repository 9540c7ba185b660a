/**
 * Retry timing: exponential backoff with jitter, and the server's Retry-After.
 * Pure functions, so the timing rules can be tested without waiting.
 */

/**
 * Delay before retry number `retry` (1 = first retry): base·2^(retry-1), capped,
 * then scaled by a random factor in [0.8, 1.2) so that many clients (or many
 * notebook cells) that failed together do not retry together. The cap holds
 * after jitter.
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.min(maxMs, Math.round(exp * (0.8 + 0.4 * random())));
}

/**
 * Milliseconds to wait from a Retry-After header: delta-seconds or an HTTP date
 * (RFC 9110 §10.2.3). Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** A sleep that an AbortSignal can cut short (it then rejects with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
