/**
 * The manager API: what a notebook cell, the widget and the CLI call.
 *
 *   const lib = await Library.open(['/content/drive/MyDrive/models']);
 *   await lib.scan({ onProgress });
 *   lib.models({ kind: 'lora', text: 'detail' });
 *
 * One Library serves one or more roots; each root keeps its own index in
 * `<root>/.modeldeck/`. Scans queue: one runs at a time per Library. Every
 * change to an index (a scan, a link, a hash, an import) holds that root's lock
 * and works on a view read after taking it, so two processes (a notebook and
 * a CLI) never undo each other's changes; `refreshIndex` shows a long-lived
 * library what others changed.
 */
import { link as hardLink, lstat, mkdir, realpath, rename, stat, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { CivitaiClient, parseReference, type CivitaiOptions } from '../civitai';
import { ModeldeckError } from '../errors';
import { HashEngine } from '../hash';
import { HASH_NAMES, type HashName } from '../hash/names';
import { exportLibrary, importIntoLibrary, validateExport, type ExportDocument, type ImportReport } from './export';
import { checkMoves, listTrash, moveAll, movesFor, moveToTrash, relPath, restoreFromTrash, sidecarsOf, type TrashItem } from './file-moves';
import { emptyTrash, planTrashEmpty, type TrashEmptyReport } from './trash-empty';
import { findDuplicates, planCleanup, type CleanupStep, type DuplicatesReport, type KeepRule } from './dupes';
import { cleanupProgress, type CleanupProgress } from './cleanup-progress';
import { checkUpdates, type UpdateOptions, type UpdatesReport } from './updates';
import { checkedTarget, tempPathFor } from '../sidecars/paths';
import { lstatOrNull } from '../safe-fs';
import { filterModels, type ModelFilter } from './filter';
import { applyFound, identifyEntries } from './identify';
import { syncSidecars } from './sidecar-sync';
import { fetchParentModels, withParentPending } from './parent-models';
import { IndexStore, type IndexVersion } from './index-store';
import type { ReadSnapshots } from './index-files';
import { DriveGuard } from './drive-guard';
import { watchRoots, type WatchBatch, type Watcher } from '../watch';
import { OutboundPolicy } from '../net';
import { emptyReport, type ScanProgress, type ScanReport } from './progress';
import { scanRoot, type ScanOptions } from './scan';
import type { ModelEntry } from './types';
import { entryForDownload, type DownloadedFile } from './add-downloaded';

export interface LibraryOptions {
  /** Snapshots a first look already read (index-peek.ts): the load parses them instead of reading the files again. */
  snapshots?: ReadSnapshots;
  /** Civitai client settings (base URL, token, cache...); `false` for no Civitai at all. */
  civitai?: CivitaiOptions | false;
  /** How long a change waits for another process that holds a root's lock. Default 10 s. */
  lockWaitMs?: number;
}

export interface LibraryWatchOptions {
  /** Poll instead of file events: `'auto'` (default) polls on Drive and network mounts. */
  poll?: boolean | 'auto';
  pollIntervalMs?: number;
  /** Options of the scans the watcher starts. */
  scan?: ScanOptions;
  onBatch?: (batch: WatchBatch) => void;
  onScan?: (report: ScanReport) => void;
  onError?: (err: Error) => void;
}

export interface LibraryWatcher {
  /** Resolves when the watcher has taken its first look (and started its catch-up scan). */
  ready: Promise<void>;
  /** Roots watched by polling rather than file events. */
  polledRoots: readonly string[];
  close(): Promise<void>;
}

/** An entry with the root it belongs to and its absolute path. */
export type LibraryModel = ModelEntry & { root: string; absolute: string };

export class Library {
  private readonly engine = new HashEngine();
  private readonly client: CivitaiClient | null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly watchers = new Set<Watcher>();
  private readonly lockOptions: { waitMs?: number };
  private readonly policy: OutboundPolicy;
  private readonly closers = new Set<() => Promise<void> | void>();

  private constructor(
    readonly roots: string[],
    private readonly stores: Map<string, IndexStore>,
    options: LibraryOptions,
  ) {
    this.client = options.civitai === false ? null : new CivitaiClient(options.civitai ?? {});
    this.lockOptions = { waitMs: options.lockWaitMs };
    this.policy = OutboundPolicy.forCivitai(options.civitai === false ? {} : (options.civitai ?? {}));
  }

  static async open(roots: string[], options: LibraryOptions = {}): Promise<Library> {
    const unique = await resolveRoots(roots);
    const stores = new Map<string, IndexStore>();
    for (const root of unique) stores.set(root, await IndexStore.load(root, options.snapshots));
    return new Library(unique, stores, options);
  }

  /** The version of each root's index the library holds, in the order of `roots` (what index-cache.ts checks). */
  indexVersions(): IndexVersion[] {
    return this.roots.map((r) => this.stores.get(r)!.version());
  }

  /** Problems met while loading the indexes (a damaged index set aside...). */
  get loadWarnings(): string[] {
    return [...this.stores.values()].flatMap((s) => s.loadWarnings);
  }

  /**
   * Reads what other processes changed in the indexes since the last look (a
   * CLI's link, another notebook's scan). True when anything was read.
   */
  async refreshIndex(): Promise<boolean> {
    let changed = false;
    for (const store of this.stores.values()) if (await store.refresh()) changed = true;
    return changed;
  }

  /** Scans every root. Calls queue: a second scan starts when the first ends. */
  scan(options: ScanOptions = {}): Promise<ScanReport> {
    return this.enqueue(() => this.runScan(options));
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  models(filter: ModelFilter = {}): LibraryModel[] {
    return filterModels(this.allModels(), filter);
  }

  /**
   * Every model as the index holds it, in no order, without copying: for
   * callers that look at the whole library often (the panel's session, each
   * second during a scan). The entries are replaced when they change, never
   * changed in place; do not change them either.
   */
  *entries(): IterableIterator<{ root: string; entry: Readonly<ModelEntry> }> {
    for (const [root, store] of this.stores) for (const entry of store.all()) yield { root, entry };
  }

  /** One model by absolute path, or by path relative to one of the roots. */
  get(file: string): LibraryModel | undefined {
    const found = this.locate(file);
    if (!found) return undefined;
    const entry = found.store.get(found.rel);
    return entry && { ...entry, root: found.root, absolute: `${found.root}/${entry.path}` };
  }

  /**
   * Links a file by hand to a Civitai model version (a URL, an AIR or a version
   * id), for files Civitai does not know by hash. The link survives rescans.
   */
  async link(file: string, reference: string): Promise<LibraryModel> {
    const { store } = this.requireEntry(file);
    if (!this.client) throw new ModeldeckError('offline', 'linking needs Civitai, and this library was opened without it');
    const ref = parseReference(reference);
    if (ref.kind === 'hash' || ref.kind === 'image') {
      throw new ModeldeckError('bad_link', `${reference}: not a model link; paste a Civitai model URL, version URL or AIR (or set a hash with setHash)`);
    }
    const version =
      ref.versionId !== null
        ? await this.client.getVersion(ref.versionId)
        : ref.kind === 'model'
          ? (await this.client.getModel(ref.modelId)).versions[0]
          : undefined;
    if (!version) throw new ModeldeckError('bad_link', `${reference}: the model has no published version`);
    return store.withLock(() => {
      const entry = this.requireEntry(file).entry;
      const now = Date.now();
      const linked = applyFound(entry, version, 'manual', now);
      linked.manual = { ...entry.manual, link: { modelId: version.modelId, versionId: version.id, input: reference, at: now } };
      return this.save(store, linked);
    }, this.lockOptions);
  }

  /**
   * Asks Civitai about one model again (after a manual hash, or to pick up a
   * version uploaded since), and writes its sidecars when found.
   */
  async refresh(file: string, options: { previews?: boolean; nsfwLevel?: number } = {}): Promise<LibraryModel> {
    const { store, entry } = this.requireEntry(file);
    if (!this.client) throw new ModeldeckError('offline', 'refreshing needs Civitai, and this library was opened without it');
    if (entry.manual?.link) return this.link(file, String(entry.manual.link.input));
    const [outcome] = await identifyEntries(this.client, [entry], { refresh: true, now: Date.now() });
    // Its own warnings list: the stored entry's may be the index's shared, frozen empty one.
    let updated = { ...outcome.entry, warnings: [...outcome.entry.warnings] };
    if (outcome.version) {
      const { modelId } = outcome.version;
      const parents = await fetchParentModels(this.client, [modelId], { refresh: true });
      if (parents.warning) updated.warnings.push(parents.warning);
      updated = withParentPending(updated, parents.failed.has(modelId));
      const synced = await syncSidecars(store.root, [{ entry: updated, version: outcome.version, parent: parents.models.get(modelId) }], {
        previews: options.previews !== false,
        nsfwLevel: options.nsfwLevel ?? 2,
        policy: this.policy,
      }, (w) => updated.warnings.push(w.message));
      updated = synced.entries[0] ?? updated;
    }
    // The network work ran without the lock; what it found is applied to the entry as it is now.
    return store.withLock(() => {
      const fresh = this.requireEntry(file).entry;
      if (fresh.fingerprint !== entry.fingerprint || fresh.mtimeMs !== entry.mtimeMs) {
        throw new ModeldeckError('changed', `${file}: the file changed while Civitai was asked; try again`);
      }
      return this.save(store, { ...fresh, civitai: updated.civitai, preview: fresh.preview ?? updated.preview, warnings: updated.warnings });
    }, this.lockOptions);
  }

  /** Sets a hash by hand (a file whose hash Civitai has in another form); the file is identified again. */
  async setHash(file: string, name: HashName, value: string): Promise<LibraryModel> {
    if (!HASH_NAMES.includes(name)) throw new ModeldeckError('bad_hash', `unknown hash name ${name}`);
    const v = value.trim().toUpperCase();
    const lengths: Record<HashName, number[]> = { SHA256: [64], BLAKE3: [64], AutoV1: [8], AutoV2: [10], AutoV3: [12, 64], CRC32: [8] };
    if (!/^[0-9A-F]+$/.test(v) || !lengths[name].includes(v.length)) {
      throw new ModeldeckError('bad_hash', `${value}: not a ${name} (${lengths[name].join(' or ')} hex digits)`);
    }
    const { store } = this.requireEntry(file);
    const stored = name === 'AutoV3' ? v.slice(0, 12) : v;
    return store.withLock(() => {
      const { entry } = this.requireEntry(file);
      const updated: ModelEntry = {
        ...entry,
        hashes: { ...entry.hashes, [name]: stored },
        hashSources: { ...entry.hashSources, [name]: 'manual' },
        manual: { ...entry.manual, hashes: { ...entry.manual?.hashes, [name]: stored } },
        civitai: entry.manual?.link ? entry.civitai : { status: 'unknown' },
      };
      return this.save(store, updated);
    }, this.lockOptions);
  }

  /** Every model's hashes, Civitai ids and manual edits, with paths relative to its root. */
  export(root?: string): ExportDocument {
    return exportLibrary(this.storeFor(root).all());
  }

  /**
   * Applies an export by SHA256 (or fingerprint) to `root`: works after moves,
   * renames, and on another machine. Files the index does not know yet (a root
   * never scanned) are indexed first, offline: fingerprints for all, a full
   * hash only where a fingerprint matches an exported model, to confirm it.
   */
  async import(doc: unknown, root?: string, options: { index?: boolean } = {}): Promise<ImportReport> {
    const store = this.storeFor(root);
    // A foreign document changes nothing, not even the index.
    const { doc: valid } = validateExport(doc);
    let indexed = 0;
    if (options.index !== false) {
      const prints = new Set(valid.models.map((m) => m.fingerprint));
      const scanned = await this.enqueue(() => this.runScan({ offline: true, previews: false, hashOnly: (e) => prints.has(e.fingerprint) }, [store.root]));
      indexed = scanned.added;
    }
    return store.withLock(async () => {
      const report = importIntoLibrary(store, doc);
      if (indexed) report.indexed = indexed;
      await store.compact();
      return report;
    }, this.lockOptions);
  }

  // ---- moves, the trash --------------------------------------------------------

  /**
   * Moves a model with its sidecars and previews to `dest` (a folder, or a new
   * path and name), within a root or to another root of this library. Nothing
   * is overwritten; the index follows without a re-hash.
   */
  async move(file: string, dest: string): Promise<{ model: LibraryModel; leftAlone: string[] }> {
    const from = this.requireEntry(file);
    const destAbs = resolve(dest);
    const destStat = await lstatOrNull(destAbs);
    const target = destStat?.isDirectory() || dest.endsWith('/') ? join(destAbs, basename(from.entry.path)) : destAbs;
    const toStore = this.storeHolding(target);
    if (!toStore) throw new ModeldeckError('outside', `${dest}: not inside a root of this library`);
    await makeFolderInside(toStore.root, dirname(target));
    return from.store.withLock(() =>
      toStore.withLock(async () => {
        const { store, entry } = this.requireEntry(file);
        const abs = join(store.root, entry.path);
        const real = await checkedTarget(toStore.root, target);
        const previewAbs = entry.preview ? join(store.root, entry.preview) : undefined;
        const sidecars = await sidecarsOf(abs, previewAbs);
        const moves = await checkMoves(toStore.root, movesFor(abs, real, sidecars.files));
        await moveAll(moves);
        const newPath = relPath(toStore.root, moves[0].to);
        const movedPreview = moves.find((m) => m.from === previewAbs);
        const preview = movedPreview ? relPath(toStore.root, movedPreview.to) : store === toStore ? entry.preview : undefined;
        const moved: ModelEntry = { ...entry, path: newPath };
        if (preview) moved.preview = preview;
        else delete moved.preview;
        store.delete(entry.path);
        return { model: this.save(toStore, moved), leftAlone: sidecars.leftAlone };
      }, this.lockOptions),
    this.lockOptions);
  }

  /** Moves models with their sidecars into their root's trash (`.modeldeck/trash/`), from where `restore` puts them back. */
  async remove(file: string): Promise<{ item: TrashItem; root: string; leftAlone: string[] }> {
    const { store } = this.requireEntry(file);
    return store.withLock(async () => {
      const { entry } = this.requireEntry(file);
      const done = await moveToTrash(store.root, entry);
      store.delete(entry.path);
      return { ...done, root: store.root };
    }, this.lockOptions);
  }

  /** What every root's trash holds. */
  async trash(): Promise<{ items: Array<TrashItem & { root: string }>; problems: string[] }> {
    const items: Array<TrashItem & { root: string }> = [];
    const problems: string[] = [];
    for (const root of this.roots) {
      const got = await listTrash(root);
      items.push(...got.items.map((i) => ({ ...i, root })));
      problems.push(...got.problems);
    }
    return { items, problems };
  }

  /** Puts a trashed model back (by trash id or by its original path) and into the index. */
  async restore(idOrPath: string): Promise<LibraryModel> {
    const { items } = await this.trash();
    const wanted = resolve(idOrPath);
    const matches = items.filter((i) => i.id === idOrPath || join(i.root, i.path) === wanted || i.path === idOrPath);
    if (matches.length === 0) throw new ModeldeckError('not_in_trash', `${idOrPath}: not in the trash`);
    // The same path trashed twice: the latest goes back.
    const item = matches[matches.length - 1];
    const store = this.stores.get(item.root)!;
    return store.withLock(async () => {
      if (store.get(item.path)) throw new ModeldeckError('exists', `${join(item.root, item.path)}: the library has a model there; nothing restored`);
      await restoreFromTrash(item.root, item.id);
      const st = await lstat(join(item.root, item.path));
      const entry: ModelEntry = item.entry
        ? { ...item.entry, mtimeMs: st.mtimeMs }
        : { path: item.path, size: st.size, mtimeMs: 0, fingerprint: '', hashes: {}, hashSources: {}, verified: false, kind: 'unknown', baseModel: 'unknown', evidence: [], conflicts: [], civitai: { status: 'unknown' }, addedAt: Date.now(), warnings: [] };
      return this.save(store, entry);
    }, this.lockOptions);
  }

  /**
   * Empties the trash of every root for good (trash-empty.ts): with `dryRun`
   * the plan only (items, files, bytes); `before` keeps items trashed since;
   * `only` (root → ids) removes no item the user was not shown.
   */
  async emptyTrash(options: { before?: number; only?: ReadonlyMap<string, ReadonlySet<string>>; dryRun?: boolean } = {}): Promise<TrashEmptyReport> {
    const total: TrashEmptyReport = { items: [], files: 0, bytes: 0, problems: [] };
    for (const [root, store] of this.stores) {
      const only = options.only ? (options.only.get(root) ?? new Set<string>()) : undefined;
      if (only && only.size === 0) continue;
      const opts = { before: options.before, only };
      // Under the root's lock: a restore from another process never meets half an item.
      const r = options.dryRun ? await planTrashEmpty(root, opts) : await store.withLock(() => emptyTrash(root, opts), this.lockOptions);
      total.items.push(...r.items);
      total.files += r.files;
      total.bytes += r.bytes;
      total.problems.push(...r.problems);
    }
    return total;
  }

  // ---- duplicates --------------------------------------------------------------

  /** Files with the same SHA256 in every root, from the index (no model file opened). */
  duplicates(): Promise<DuplicatesReport> {
    // Only entries that share a SHA256 or a Civitai version with another are built.
    const sha = new Map<string, number>();
    const version = new Map<number, number>();
    for (const store of this.stores.values()) {
      for (const [, s, v] of store.groupingKeys()) {
        if (s) sha.set(s, (sha.get(s) ?? 0) + 1);
        if (v) version.set(v, (version.get(v) ?? 0) + 1);
      }
    }
    const members: LibraryModel[] = [];
    for (const [root, store] of this.stores) {
      for (const [path, s, v] of store.groupingKeys()) {
        if (!((s && sha.get(s)! > 1) || (v && version.get(v)! > 1))) continue;
        const e = store.get(path);
        if (e) members.push({ ...e, root, absolute: `${root}/${e.path}` });
      }
    }
    return findDuplicates(members, this.roots);
  }

  /**
   * Cleans duplicate groups: the kept file's SHA256 is verified by reading it,
   * and each copy is read and must match before it is trashed, or replaced by
   * a hard link (same file system only) or a symbolic link to the kept file.
   * With `dryRun` nothing is read or changed: the plan is returned.
   */
  async cleanDuplicates(rule: KeepRule, action: 'trash' | 'hardlink' | 'symlink', options: { dryRun?: boolean; signal?: AbortSignal; onProgress?: (p: CleanupProgress) => void } = {}): Promise<CleanupResult> {
    const { steps, skipped } = planCleanup(await this.duplicates(), rule);
    const result: CleanupResult = { steps, skipped, done: [], failed: [] };
    if (options.dryRun) return result;
    const progress = cleanupProgress(steps, options.onProgress);
    for (const step of steps) {
      if (options.signal?.aborted) break;
      const keptHash = await this.verifiedSha256(step.keep.absolute, options.signal, progress.reading(step.keep)).catch((err: Error) => err);
      progress.fileDone(step.keep, 0);
      if (keptHash !== step.sha256) {
        const why = keptHash instanceof Error ? keptHash.message : `its SHA256 is now ${keptHash}, not ${step.sha256}`;
        for (const c of step.remove) {
          result.failed.push({ path: c.absolute, reason: `kept file ${step.keep.absolute} not verified (${why}); left alone` });
          progress.fileDone(c, 1);
        }
        continue;
      }
      for (const copy of step.remove) {
        if (options.signal?.aborted) break;
        try {
          const hash = await this.verifiedSha256(copy.absolute, options.signal, progress.reading(copy));
          if (hash !== step.sha256) throw new ModeldeckError('changed', `its bytes differ from the kept file (SHA256 ${hash}); left alone`);
          if (action === 'trash') await this.remove(copy.absolute);
          else await this.replaceWithLink(copy, step.keep, action);
          result.done.push({ path: copy.absolute, action, kept: step.keep.absolute });
        } catch (err) {
          result.failed.push({ path: copy.absolute, reason: (err as Error).message });
        }
        progress.fileDone(copy, 1);
      }
    }
    // Cancelled: every copy not reached is named, untouched.
    if (options.signal?.aborted) {
      const reached = new Set([...result.done, ...result.failed].map((d) => d.path));
      for (const s of steps) for (const c of s.remove) if (!reached.has(c.absolute)) result.failed.push({ path: c.absolute, reason: 'cancelled before it was verified; left alone' });
    }
    return result;
  }

  private async verifiedSha256(file: string, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<string> {
    const r = await this.engine.hashFile(file, { hashes: ['SHA256'], signal, onProgress });
    return r.hashes.SHA256!;
  }

  /** Replaces a copy by a link to the kept file: the link is made at a new name beside it, then renamed over it. */
  private async replaceWithLink(copy: { root: string; path: string; absolute: string }, keep: { absolute: string }, action: 'hardlink' | 'symlink'): Promise<void> {
    const store = this.stores.get(copy.root)!;
    await store.withLock(async () => {
      const entry = store.get(copy.path);
      const target = await checkedTarget(copy.root, copy.absolute);
      const before = await lstat(target);
      if (!before.isFile() || !entry || before.size !== entry.size || before.mtimeMs !== entry.mtimeMs) throw new ModeldeckError('changed', `${copy.absolute}: changed since it was verified; left alone`);
      if (action === 'hardlink' && before.dev !== (await stat(keep.absolute)).dev) throw new ModeldeckError('cross_device', `${copy.absolute}: on another file system than ${keep.absolute}; a hard link cannot cross it (use --symlink or --trash)`);
      const tmp = tempPathFor(target);
      if (action === 'hardlink') await hardLink(keep.absolute, tmp);
      else await symlink(this.stores.has(copy.root) && keep.absolute.startsWith(copy.root + '/') ? relative(dirname(target), keep.absolute) : keep.absolute, tmp);
      try {
        await rename(tmp, target);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      if (action === 'hardlink') {
        const st = await lstat(target);
        this.save(store, { ...entry, mtimeMs: st.mtimeMs, size: st.size });
      } else {
        // A link is the kept file reached twice: the next scan follows it as such.
        store.delete(copy.path);
      }
    }, this.lockOptions);
  }

  // ---- downloads ---------------------------------------------------------------

  /**
   * Indexes a file `get` has just verified and renamed into place, with the
   * hashes computed while it streamed in: identified, sidecars and preview
   * written, so the next scan opens nothing (see add-downloaded.ts).
   */
  async addDownloaded(file: DownloadedFile): Promise<LibraryModel> {
    const store = this.storeHolding(resolve(file.absolute));
    if (!store) throw new ModeldeckError('outside', `${file.absolute}: not inside a root of this library`);
    const entry = await entryForDownload(store.root, file, { client: this.client, policy: this.policy, now: Date.now() });
    return store.withLock(async () => {
      // The journal line is on disk when put returns; the next scan compacts.
      return this.save(store, { ...entry, addedAt: store.get(entry.path)?.addedAt ?? entry.addedAt });
    }, this.lockOptions);
  }

  /** The Civitai client this library asks (null when opened without Civitai): `get` shares its limiter and cache. */
  get civitai(): CivitaiClient | null {
    return this.client;
  }

  /** The outbound fetch policy of this library (base origin, `MODELDECK_ALLOWED_ORIGINS`). */
  get outboundPolicy(): OutboundPolicy {
    return this.policy;
  }

  // ---- updates -----------------------------------------------------------------

  /** Newer published versions of the identified models (see updates.ts for the rules). */
  updates(options: UpdateOptions = {}): Promise<UpdatesReport> {
    if (!this.client) throw new ModeldeckError('offline', 'checking for updates needs Civitai, and this library was opened without it');
    return checkUpdates(this.client, this.allModels(), options);
  }

  /**
   * Ignores updates of a Civitai model: all of them, or `version` and older
   * ones (a newer version is offered again). Kept on every entry of that model,
   * so it travels in export/import. `clear` forgets the ignores.
   */
  async ignoreUpdates(modelId: number, what: { version?: number; model?: boolean; clear?: boolean }): Promise<number> {
    let changed = 0;
    for (const store of this.stores.values()) {
      await store.withLock(() => {
        for (const e of [...store.all()]) {
          if (e.civitai.link?.modelId !== modelId) continue;
          const updates = what.clear ? undefined : { ...e.updates, ...(what.model ? { model: true as const } : {}), ...(what.version ? { version: Math.max(what.version, e.updates?.version ?? 0) } : {}) };
          const next: ModelEntry = { ...e };
          if (updates && Object.keys(updates).length) next.updates = updates;
          else delete next.updates;
          store.put(next);
          changed++;
        }
      }, this.lockOptions);
    }
    if (changed === 0) throw new ModeldeckError('not_in_library', `Civitai model ${modelId}: no file of it in the library`);
    return changed;
  }

  /**
   * Watches the roots and scans again when model files appear, change or go
   * away (a file still being written is waited for). Changes that arrive while a
   * scan runs are picked up by one more scan, not one per file, so new files are
   * hashed and identified in batches.
   */
  watch(options: LibraryWatchOptions = {}): LibraryWatcher {
    let pending = false;
    let closed = false;
    const rescan = () => {
      if (pending || closed) return;
      pending = true;
      // Queued behind a running scan; by the time it starts it sees every change so far.
      void this.queue.then(() => {
        pending = false;
        if (closed) return;
        return this.scan(options.scan).then(
          (report) => options.onScan?.(report),
          (err: Error) => options.onError?.(err),
        );
      });
    };
    const watcher = watchRoots(this.roots, {
      poll: options.poll,
      pollIntervalMs: options.pollIntervalMs,
      onBatch: (batch) => {
        options.onBatch?.(batch);
        rescan();
      },
      onError: (err) => options.onError?.(err),
    });
    // Changes made between the caller's last scan and the watcher's first look are caught by one scan now.
    const ready = watcher.ready.then(() => rescan());
    this.watchers.add(watcher);
    return {
      ready,
      polledRoots: watcher.polledRoots,
      close: async () => {
        closed = true;
        this.watchers.delete(watcher);
        await watcher.close();
      },
    };
  }

  /**
   * Work a host layer runs on this library (the panel's download queue) that
   * must stop before the library closes: `close()` calls `fn` first and waits
   * for it, so nothing writes into a root after `close()` resolved. Returns
   * the function that takes `fn` off again.
   */
  onClose(fn: () => Promise<void> | void): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  async close(): Promise<void> {
    const closers = [...this.closers];
    this.closers.clear();
    await Promise.all(closers.map((fn) => Promise.resolve().then(fn).catch(() => undefined)));
    await Promise.all([...this.watchers].map((w) => w.close()));
    await this.queue;
    for (const s of this.stores.values()) s.close();
    await this.engine.close();
    await this.client?.close();
    await this.policy.close();
  }

  private async runScan(options: ScanOptions, roots: string[] = this.roots): Promise<ScanReport> {
    const started = Date.now();
    const report = emptyReport(roots);
    const progress: ScanProgress = {
      phase: 'walk',
      filesFound: 0,
      filesToHash: 0,
      filesHashed: 0,
      bytesToHash: 0,
      bytesHashed: 0,
      bytesPerSecond: 0,
      etaSeconds: null,
      lookups: 0,
      previews: 0,
    };
    const emit = () => options.onProgress?.({ ...progress });
    for (const root of roots) {
      const store = this.stores.get(root)!;
      // The index's lock and files live on the drive too: a drive that is gone when the scan
      // takes them is waited for (as inside the scan), then this root is scanned from the start.
      for (;;) {
        try {
          await this.scanOneRoot(root, store, options, report, progress, emit);
          break;
        } catch (err) {
          const guard = new DriveGuard(root, {
            signal: options.signal,
            maxWaitMs: options.disconnectWaitMs,
            onPause: (message) => {
              progress.paused = message;
              emit();
            },
          });
          if (!(await guard.waitIfDisconnected(err))) throw err;
          report.pauses = (report.pauses ?? 0) + 1;
        }
      }
      if (report.cancelled) break;
    }
    progress.phase = 'done';
    emit();
    report.elapsedMs = Date.now() - started;
    return report;
  }

  private async scanOneRoot(root: string, store: IndexStore, options: ScanOptions, report: ScanReport, progress: ScanProgress, emit: () => void): Promise<void> {
    {
      await store.withLock(async () => {
        try {
          await scanRoot({ root, store, engine: this.engine, client: options.offline ? null : this.client, policy: this.policy, report, progress, emit }, options);
        } catch (err) {
          if ((err as ModeldeckError).code !== 'cancelled') throw err;
          report.cancelled = true;
        } finally {
          // Whatever happened, what was done is saved; the journal already holds it.
          await store.compact().catch((err: Error) => report.warnings.push({ path: store.dir, message: `index not saved: ${err.message}` }));
        }
      }, this.lockOptions);
    }
  }

  private allModels(): LibraryModel[] {
    const out: LibraryModel[] = [];
    for (const [root, store] of this.stores) for (const e of store.all()) out.push({ ...e, root, absolute: `${root}/${e.path}` });
    return out;
  }

  /** The store of the root that holds `abs` (a path that may not exist yet). */
  private storeHolding(abs: string): IndexStore | undefined {
    for (const [root, store] of this.stores) {
      const rel = relative(root, abs);
      if (rel && !rel.startsWith('..') && !rel.startsWith(sep)) return store;
    }
    return undefined;
  }

  private locate(file: string): { root: string; store: IndexStore; rel: string } | undefined {
    for (const [root, store] of this.stores) {
      const abs = resolve(root, file);
      const rel = relative(root, abs);
      if (rel && !rel.startsWith('..') && !rel.startsWith(sep) && store.get(rel.split(sep).join('/'))) {
        return { root, store, rel: rel.split(sep).join('/') };
      }
    }
    return undefined;
  }

  private requireEntry(file: string): { store: IndexStore; entry: ModelEntry } {
    const found = this.locate(file);
    const entry = found && found.store.get(found.rel);
    if (!found || !entry) throw new ModeldeckError('not_in_library', `${file}: not in the library (scan it first)`);
    return { store: found.store, entry };
  }

  private save(store: IndexStore, entry: ModelEntry): LibraryModel {
    store.put(entry);
    return { ...entry, root: store.root, absolute: `${store.root}/${entry.path}` };
  }

  private storeFor(root?: string): IndexStore {
    if (root === undefined) {
      if (this.stores.size !== 1) throw new ModeldeckError('which_root', 'this library has several roots: say which');
      return this.stores.values().next().value!;
    }
    const abs = resolve(root);
    const store = [...this.stores.values()].find((s) => s.root === abs || resolve(s.root) === abs);
    if (!store) throw new ModeldeckError('which_root', `${root}: not a root of this library`);
    return store;
  }
}

export interface CleanupResult {
  steps: CleanupStep[];
  /** Groups the keep rule could not decide. */
  skipped: string[];
  done: Array<{ path: string; action: 'trash' | 'hardlink' | 'symlink'; kept: string }>;
  failed: Array<{ path: string; reason: string }>;
}

/**
 * Creates the missing folders of `dir` (a move to `new/folder/name`), after
 * checking that the deepest folder that exists lies inside `root` once its
 * links are resolved: no folder is made through a link leading elsewhere.
 */
async function makeFolderInside(root: string, dir: string): Promise<void> {
  let existing = dir;
  while (!(await lstatOrNull(existing))) existing = dirname(existing);
  if (existing === dir) return;
  const real = await realpath(existing);
  const realRoot = await realpath(root);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new ModeldeckError('outside', `${existing}: resolves to ${real}, outside the library root ${realRoot}`);
  await mkdir(dir, { recursive: true });
}

const managers = new Map<string, Promise<Library>>();

/** A shared Library per set of roots, for notebook cells that each ask for "the" library. */
export function getManager(roots: string[], options: LibraryOptions = {}): Promise<Library> {
  const key = roots.map((r) => resolve(r)).sort().join('\0');
  let lib = managers.get(key);
  if (!lib) {
    const opening = Library.open(roots, options);
    managers.set(key, opening);
    opening.then(
      // A closed library is not handed out again: the next cell opens a fresh one.
      (l) => l.onClose(() => void (managers.get(key) === opening && managers.delete(key))),
      () => managers.delete(key),
    );
    lib = opening;
  }
  return lib;
}

/** The roots a Library opened with these paths has: absolute, links resolved, each once, in the order given. */
export async function resolveRoots(roots: string[]): Promise<string[]> {
  if (roots.length === 0) throw new ModeldeckError('no_roots', 'no library folder given');
  const resolved: string[] = [];
  for (const r of roots) {
    const abs = resolve(r);
    const st = await stat(abs).catch(() => null);
    if (!st?.isDirectory()) throw new ModeldeckError('bad_root', `${r}: not a folder`);
    resolved.push(await realpath(abs));
  }
  return [...new Set(resolved)];
}
