/**
 * A concurrency bound for many tiny asynchronous calls (one `stat` per model
 * file). p-limit costs about 20 us per call on top of a `stat` that itself
 * takes a few microseconds on a local disk, which doubled the walk of a
 * 10,000-file library; this does the same job with a counter and an array.
 */
export type BoundedCall = <T>(call: () => Promise<T>) => Promise<T>;

export function boundedCalls(limit: number): BoundedCall {
  const max = Math.max(1, Math.floor(limit));
  const waiting: Array<() => void> = [];
  let head = 0;
  let running = 0;

  const release = () => {
    running--;
    if (head < waiting.length) {
      const next = waiting[head];
      waiting[head++] = undefined as unknown as () => void;
      // Compact now and then, so a long walk does not keep a dead prefix alive.
      if (head > 1024 && head * 2 > waiting.length) {
        waiting.splice(0, head);
        head = 0;
      }
      next();
    }
  };

  const run = <T>(call: () => Promise<T>): Promise<T> => {
    running++;
    let result: Promise<T>;
    try {
      result = call();
    } catch (err) {
      release();
      return Promise.reject(err);
    }
    return result.finally(release);
  };

  return <T>(call: () => Promise<T>): Promise<T> => {
    if (running < max) return run(call);
    return new Promise<T>((resolve) => waiting.push(() => resolve(run(call))));
  };
}
