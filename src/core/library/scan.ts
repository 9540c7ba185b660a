/**
 * One scan of one library root: find the files, keep what is unchanged without
 * reading it, follow moved files by fingerprint, examine new ones, identify
 * cheaply-known hashes first, hash the rest, identify them, write sidecars.
 *
 * Every finished entry goes to the index journal at once, so a scan killed in
 * the middle resumes where it stopped.
 */
import pLimit from 'p-limit';
import type { CivitaiClient, ModelVersion } from '../civitai';
import { CancelledError, ModeldeckError } from '../errors';
import type { HashEngine } from '../hash';
import type { OutboundPolicy } from '../net';
import { DEFAULT_HASHES, HASH_NAMES, type HashName } from '../hash/names';
import { findA1111CacheFor, loadA1111Cache } from '../sidecars';
import { examineFile, isUnreadableWarning } from './examine';
import { ResumableFile, type IoRetryOptions } from '../io/resumable-file';
import { isTransientIoError } from '../io/transient';
import { DriveGuard } from './drive-guard';
import { fingerprint, fingerprintOpenFile } from './fingerprint';
import { identifyEntries, needsLookup, type IdentifyOutcome } from './identify';
import type { IndexStore } from './index-store';
import { addWarning, type ScanProgress, type ScanReport } from './progress';
import { findModelFiles, type FoundFile } from './scan-tree';
import { completePendingSidecars, writeScanSidecars } from './scan-sidecars';
import type { ModelEntry } from './types';

export interface ScanOptions {
  /** Re-hash every file and report hashes that were wrong. */
  verify?: boolean;
  /** Hash and probe only; say what is pending instead of asking Civitai. */
  offline?: boolean;
  /** Ask Civitai again even where its answer is cached. */
  refresh?: boolean;
  /** Download previews (default true). */
  previews?: boolean;
  /** Highest NSFW level of a preview (Civitai's 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX); default 2. */
  nsfwLevel?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ScanProgress) => void;
  /** Hash only the files without a SHA256 this says yes to (an import confirming fingerprint matches); default all. */
  hashOnly?: (entry: ModelEntry) => boolean;
  /** Retries of reads that fail for a moment (Drive dropping); default 6 tries from 250 ms. */
  retry?: Pick<IoRetryOptions, 'tries' | 'baseDelayMs' | 'maxDelayMs'>;
  /** Longest pause for a disconnected drive before the scan gives up (default 30 min). */
  disconnectWaitMs?: number;
}

export interface ScanContext {
  root: string;
  store: IndexStore;
  engine: HashEngine;
  client: CivitaiClient | null;
  /** Where previews may be fetched from. */
  policy: OutboundPolicy;
  report: ScanReport;
  progress: ScanProgress;
  emit: () => void;
  /** Set by the scan of this root: its retry policy (with the Drive guard) and its walk's folder listings, for the sidecar writes. */
  io?: { retry: IoRetryOptions; listings: ReadonlyMap<string, Promise<readonly string[] | undefined>> };
}

/**
 * New files examined at once. Each holds one descriptor from its open to the
 * end of its hash, so the metadata work of the next files (open, header,
 * sidecars: round trips on Drive) overlaps the current file's sequential read.
 * The bound leaves two libuv threads for that read and the index writes: with
 * the default pool of 4, eight slow opens would hold every thread and stall the
 * hash. The CLI raises the pool to 16 (bin/modeldeck.js); see "Drive-grade I/O".
 */
function examineConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.min(8, Math.max(2, pool - 2));
}

export async function scanRoot(ctx: ScanContext, options: ScanOptions): Promise<void> {
  const { root, store, report, progress } = ctx;
  const now = Date.now();
  const warn = (path: string, message: string) => addWarning(report, path, message);
  const abs = (rel: string) => `${root}/${rel}`;

  const guard = new DriveGuard(root, {
    signal: options.signal,
    maxWaitMs: options.disconnectWaitMs,
    onPause: (message) => {
      progress.paused = message;
      if (message) report.pauses = (report.pauses ?? 0) + 1;
      ctx.emit();
    },
  });
  const retry: IoRetryOptions = {
    ...options.retry,
    signal: options.signal,
    waitForMount: guard.waitIfDisconnected,
    onRetry: () => void (report.ioRetries = (report.ioRetries ?? 0) + 1),
  };
  // Listings from the walk serve the sidecar step: one readdir per folder in all.
  const listings = new Map<string, Promise<string[] | undefined>>();
  let walkIncomplete = false;
  ctx.io = { retry, listings };

  progress.phase = 'walk';
  ctx.emit();
  const found = await findModelFiles([root], {
    signal: options.signal,
    onWarning: (w) => warn(w.path, w.message),
    onListing: (dir, names) => listings.set(dir, Promise.resolve(names)),
    waitForMount: async (err) => {
      const waited = await guard.waitIfDisconnected(err);
      if (!waited && isTransientIoError(err)) walkIncomplete = true;
      return waited;
    },
  });
  report.files += found.length;
  progress.filesFound += found.length;

  // Unchanged files (same size and mtime) are kept as they are: zero bytes read.
  const seen = new Set<string>();
  const fresh: FoundFile[] = [];
  for (const f of found) {
    seen.add(f.path);
    const e = store.get(f.path);
    if (e && e.size === f.size && e.mtimeMs === f.mtimeMs) report.unchanged++;
    else fresh.push(f);
  }
  const vanished = new Map<string, ModelEntry>();
  for (const e of store.all()) if (!seen.has(e.path)) vanished.set(e.fingerprint, e);

  // New and changed files: a fingerprint first, to recognise moves; then a full examination.
  progress.phase = 'examine';
  ctx.emit();
  const a1111File = await findA1111CacheFor(root);
  const a1111Cache = a1111File ? await loadA1111Cache(a1111File) : null;
  const limit = pLimit(examineConcurrency());
  const wantsHash = (e: ModelEntry) => e.size > 0 && !e.warnings.some(isUnreadableWarning) && (options.verify || !e.hashes.SHA256) && (!options.hashOnly || options.hashOnly(e));
  /** Files whose hash ran (or failed) in the examine pass: not tried twice in one scan. */
  const hashTried = new Set<string>();
  const hashing = { started: Date.now(), bytesBefore: progress.bytesHashed };
  await Promise.all(
    fresh.map((found) =>
      limit(async () => {
        throwIfAborted(options.signal, root);
        let f = found;
        // One open per new file: fingerprint samples, header probe and hashes all read this descriptor.
        let source: ResumableFile | undefined;
        try {
          if (f.size > 0) {
            source = await ResumableFile.open(f.absolute, retry);
            if (source.size !== f.size || source.mtimeMs !== f.mtimeMs) f = { ...f, size: source.size, mtimeMs: source.mtimeMs };
          }
          const fp = source ? await fingerprintOpenFile(source) : await fingerprint(f.absolute, f.size);
          const moved = store.get(f.path) ? undefined : vanished.get(fp);
          if (moved) {
            vanished.delete(fp);
            store.delete(moved.path);
            store.put({ ...moved, path: f.path, mtimeMs: f.mtimeMs, preview: undefined });
            report.moved++;
            return;
          }
          const previous = store.get(f.path);
          const entry = await examineFile(f, fp, previous, { a1111Cache, now, listings }, source);
          if (previous) report.changed++;
          else report.added++;
          if (entry.hashSources.SHA256 && entry.hashSources.SHA256 !== 'computed') report.adopted++;
          for (const w of entry.warnings) warn(f.absolute, w);
          store.put(entry);
          if (source && wantsHash(entry)) {
            hashTried.add(entry.path);
            progress.filesToHash++;
            progress.bytesToHash += entry.size;
            await hashEntry(ctx, entry, source, options, hashing);
          }
        } catch (err) {
          if (err instanceof CancelledError || (err instanceof ModeldeckError && err.code === 'drive_disconnected')) throw err;
          warn(f.absolute, (err as Error).message);
        } finally {
          await source?.close();
        }
      }),
    ),
  );
  if (walkIncomplete) {
    // A folder that failed to list on a flaky mount is not a folder whose models were deleted.
    if (vanished.size > 0) warn(root, `${vanished.size} model(s) not seen this scan were kept: a folder could not be listed (the mount had errors); the next scan checks again`);
  } else {
    for (const e of vanished.values()) {
      store.delete(e.path);
      report.removed++;
    }
  }

  const entries = () => found.map((f) => store.get(f.path)).filter((e): e is ModelEntry => !!e);

  if (ctx.client && !options.offline) {
    // Sidecars an earlier scan wrote without their parent model (its fetch failed) are completed first.
    await completePendingSidecars(ctx, entries().filter((e) => e.civitai.parentPending), options);
    // Entries whose SHA256 came from another tool, or whose header carries an AutoV3,
    // are identified before any file is read.
    await identify(ctx, entries().filter((e) => needsLookup(e, now)), options, now);
  }

  // Hash what the examine pass did not: unchanged files under --verify or an import's hashOnly.
  const toHash = entries().filter((e) => !hashTried.has(e.path) && wantsHash(e));
  progress.phase = 'hash';
  progress.filesToHash += toHash.length;
  progress.bytesToHash += toHash.reduce((n, e) => n + e.size, 0);
  ctx.emit();
  for (const entry of toHash) {
    throwIfAborted(options.signal, root);
    let source: ResumableFile | undefined;
    try {
      source = await ResumableFile.open(abs(entry.path), retry);
      await hashEntry(ctx, entry, source, options, hashing);
    } catch (err) {
      if (err instanceof CancelledError || (err instanceof ModeldeckError && err.code === 'drive_disconnected')) throw err;
      warn(abs(entry.path), (err as Error).message);
      progress.filesHashed++;
    } finally {
      await source?.close();
    }
  }
  progress.currentFile = undefined;

  if (ctx.client && !options.offline) await identify(ctx, entries().filter((e) => needsLookup(e, now)), options, now);

  for (const e of entries()) {
    if (e.civitai.status === 'found') report.identified++;
    else if (e.civitai.status === 'not_found') report.notOnCivitai++;
    else if (e.size > 0) report.pendingLookup++;
  }
}

/**
 * Hashes one entry from its open file and records the result; a failure is a
 * warning (the entry keeps no SHA256, so the next scan tries again).
 */
async function hashEntry(ctx: ScanContext, entry: ModelEntry, source: ResumableFile, options: ScanOptions, timing: { started: number; bytesBefore: number }): Promise<void> {
  const { progress, report } = ctx;
  const path = source.file;
  progress.phase = 'hash';
  progress.currentFile = entry.path;
  const base = progress.bytesHashed;
  try {
    const result = await ctx.engine.hashOpenFile(source, {
      hashes: DEFAULT_HASHES,
      signal: options.signal,
      onProgress: (done) => {
        progress.currentFile = entry.path;
        progress.bytesHashed = base + done;
        const elapsed = (Date.now() - timing.started) / 1000;
        progress.bytesPerSecond = elapsed > 0 ? (progress.bytesHashed - timing.bytesBefore) / elapsed : 0;
        const left = progress.bytesToHash - progress.bytesHashed;
        progress.etaSeconds = progress.bytesPerSecond > 0 ? left / progress.bytesPerSecond : null;
        ctx.emit();
      },
    });
    ctx.store.put(withComputedHashes(entry, result.hashes, report, path));
    report.hashed++;
    report.bytesHashed += result.size;
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    addWarning(report, path, (err as Error).message);
    // A header too broken for AutoV3 still has whole-file hashes (from the same descriptor).
    if (err instanceof ModeldeckError && err.code === 'malformed_file') {
      try {
        const result = await ctx.engine.hashOpenFile(source, { hashes: ['SHA256', 'AutoV1', 'AutoV2'], signal: options.signal });
        ctx.store.put(withComputedHashes(entry, result.hashes, report, path));
        report.hashed++;
        report.bytesHashed += result.size;
      } catch (again) {
        if (again instanceof CancelledError) throw again;
      }
    }
  } finally {
    progress.filesHashed++;
    progress.bytesHashed = base + entry.size;
    ctx.emit();
  }
}

async function identify(ctx: ScanContext, todo: ModelEntry[], options: ScanOptions, now: number): Promise<void> {
  if (todo.length === 0) return;
  ctx.progress.phase = 'lookup';
  ctx.emit();
  const outcomes: IdentifyOutcome[] = await identifyEntries(ctx.client!, todo, { refresh: options.refresh, signal: options.signal, now });
  const found: { entry: ModelEntry; version: ModelVersion }[] = [];
  for (const o of outcomes) {
    ctx.store.put(o.entry);
    if (o.version) found.push({ entry: o.entry, version: o.version });
  }
  ctx.progress.lookups = ctx.client!.requestCount;
  ctx.emit();
  await writeScanSidecars(ctx, found, options);
}

/** Records hashes read from the file itself; reports where earlier values (adopted or from a past scan) were wrong. */
function withComputedHashes(entry: ModelEntry, computed: ModelEntry['hashes'], report: ScanReport, path: string): ModelEntry {
  const hashes = { ...entry.hashes };
  const hashSources = { ...entry.hashSources };
  let civitai = entry.civitai;
  for (const name of HASH_NAMES) {
    const value = computed[name];
    if (!value) continue;
    const recorded = entry.hashes[name];
    // AutoV2 is the start of SHA256: a wrong SHA256 is reported once, not twice.
    const derived = name === 'AutoV2' && entry.hashes.SHA256 !== computed.SHA256;
    if (recorded && recorded !== value && entry.hashSources[name] !== 'manual' && !derived) {
      report.verifyMismatches.push({ path, hash: name, recorded, actual: value, source: entry.hashSources[name] ?? 'unknown' });
      // An identification made from a wrong hash is not to be trusted.
      if (entry.civitai.status !== 'unknown' && !entry.manual?.link) civitai = { status: 'unknown' };
    }
    if (entry.hashSources[name] === 'manual') continue;
    hashes[name as HashName] = value;
    hashSources[name as HashName] = 'computed';
  }
  if (computed.AutoV3Full) hashes.AutoV3Full = computed.AutoV3Full;
  return { ...entry, hashes, hashSources, verified: true, civitai };
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}
