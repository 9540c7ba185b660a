/**
 * Watching library roots for model files that appear, change or go away.
 *
 * chokidar does the watching (inotify where events arrive, `fs.watchFile`
 * polling where they do not); this module decides per root which of the two,
 * keeps chokidar out of folders the scanner skips, and hands the events to a
 * `ChangeBatcher` for the write-finished check and the batching. The same
 * predicates as the scanner decide what a model file is (model-paths.ts).
 */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { isInSkippedDir, isLibraryFilePath, isModelFileName, splitPath } from '../library/model-paths';
import { ChangeBatcher, type WatchBatch } from './batcher';
import { shouldPoll } from './poll-mode';

// chokidar 4's types need a newer TypeScript than the 5.0 tslab checks our declarations with; keep them private.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const chokidar = require('chokidar') as {
  watch(paths: string[], options: Record<string, unknown>): ChokidarWatcher;
};
interface ChokidarWatcher {
  on(event: 'add' | 'change' | 'unlink', listener: (path: string) => void): ChokidarWatcher;
  on(event: 'error', listener: (err: unknown) => void): ChokidarWatcher;
  on(event: 'ready', listener: () => void): ChokidarWatcher;
  close(): Promise<void>;
}

export type { WatchBatch };

export interface WatchOptions {
  /**
   * `true` polls every root, `false` uses file events everywhere, `'auto'`
   * (the default) polls roots under `/content/drive` (Colab's Drive mount) and
   * on FUSE or network file systems, where events do not arrive.
   */
  poll?: boolean | 'auto';
  /** How often a polled root is looked at (default 5000 ms). */
  pollIntervalMs?: number;
  /** A file whose size or mtime changed within this window is still being written (default 1000 ms). */
  stableMs?: number;
  /** Events closer together than this coalesce into one batch (default 300 ms). */
  debounceMs?: number;
  onBatch(batch: WatchBatch): void;
  onError?(err: Error): void;
}

export interface Watcher {
  /** Resolves once the initial crawl is done: changes after this point are reported. */
  readonly ready: Promise<void>;
  /** The roots (absolute) that are polled rather than watched with events. */
  readonly polledRoots: readonly string[];
  /** Stops watching; no batch is delivered after the returned promise resolves. */
  close(): Promise<void>;
}

const DEFAULT_POLL_INTERVAL_MS = 5000;
const DEFAULT_STABLE_MS = 1000;
const DEFAULT_DEBOUNCE_MS = 300;

export function watchRoots(roots: string[], options: WatchOptions): Watcher {
  const absRoots = roots.map((r) => resolve(r));
  const poll = options.poll ?? 'auto';
  const polled = absRoots.filter((r) => (poll === 'auto' ? shouldPoll(r) : poll));
  const evented = absRoots.filter((r) => !polled.includes(r));
  const stableMs = options.stableMs ?? DEFAULT_STABLE_MS;
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const onError = (err: unknown) => options.onError?.(err instanceof Error ? err : new Error(String(err)));

  const batcher = new ChangeBatcher({
    stableMs,
    debounceMs,
    // Several quick events still end a batch within about two seconds (the promise for local disks).
    maxDelayMs: Math.max(debounceMs, 1000),
    stat: (path) => stat(path),
    onBatch: (batch) => options.onBatch(batch),
    onError,
  });

  /** The root a path lies in, and the path relative to it. */
  const locate = (path: string): string | undefined => {
    for (const root of absRoots) {
      if (path === root) return '';
      if (path.startsWith(root.endsWith(sep) ? root : root + sep)) return relative(root, path);
    }
    return undefined;
  };

  // chokidar asks once without stats (type unknown) and again with them.
  const ignored = (path: string, stats?: Stats): boolean => {
    const rel = locate(path);
    if (rel === undefined || rel === '') return false;
    if (stats?.isFile()) return !isLibraryFilePath(rel);
    if (stats?.isDirectory()) return isInSkippedDir(rel, true);
    if (isInSkippedDir(rel, false)) return true;
    // Type unknown: a `_`-prefixed name is a skipped folder or a non-model file, unless it looks like a model.
    const name = splitPath(rel).pop() ?? '';
    return name.startsWith('.') || (name.startsWith('_') && !isModelFileName(name));
  };

  const handle = (event: 'added' | 'changed' | 'removed') => (path: string) => {
    const rel = locate(path);
    if (rel === undefined || !isLibraryFilePath(rel)) return;
    if (event === 'removed') batcher.gone(path);
    else void batcher.seen(path, event);
  };

  const start = (paths: string[], usePolling: boolean): { watcher: ChokidarWatcher; ready: Promise<void> } => {
    const interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    const watcher = chokidar.watch(paths, {
      ignoreInitial: true,
      ignored,
      followSymlinks: true,
      // Unreadable folders are skipped quietly, as the scanner warns about them already.
      ignorePermissionErrors: true,
      usePolling,
      // chokidar polls "binary" files (.bin, .pt among them) at `binaryInterval`; one interval for all.
      ...(usePolling ? { interval, binaryInterval: interval } : {}),
      // Our own stability check (batcher.ts) replaces awaitWriteFinish, so that a
      // rename is not delayed into a later batch than the matching removal.
      awaitWriteFinish: false,
    });
    watcher.on('add', handle('added')).on('change', handle('changed')).on('unlink', handle('removed'));
    watcher.on('error', onError);
    const ready = new Promise<void>((done) => watcher.on('ready', done));
    return { watcher, ready };
  };

  const started = [
    ...(evented.length > 0 ? [start(evented, false)] : []),
    ...(polled.length > 0 ? [start(polled, true)] : []),
  ];
  let closing: Promise<void> | undefined;
  return {
    ready: Promise.all(started.map((s) => s.ready)).then(() => undefined),
    polledRoots: polled,
    close() {
      closing ??= (async () => {
        batcher.close();
        await Promise.all(started.map((s) => s.watcher.close()));
      })();
      return closing;
    },
  };
}
