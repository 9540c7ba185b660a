/**
 * The index of one library root, in `<root>/.modeldeck/`, beside the models,
 * so a fresh Colab runtime that mounts the same Drive finds every hash again.
 *
 * Two files:
 * - `index.json`: a snapshot of every entry, replaced atomically (written to a
 *   new temporary file, flushed, renamed over the old one);
 * - `journal.jsonl`: entries finished since the snapshot, one JSON line each,
 *   appended as a scan goes. A scan killed at any moment (kill -9) loses at most
 *   the line being written: loading replays the journal over the snapshot and
 *   ignores a torn last line, so the next scan does not hash finished files again.
 *
 * Several processes share one index (a kernel's panel, the CLI, `watch`): every
 * change is made holding the library lock (`withLock`), on a view brought up to
 * date after taking it (`refresh` replays what others appended, or reloads after
 * another process compacted). A long-lived reader calls `refresh` to see others'
 * changes. Nothing here is opened through a link, and every row read is checked
 * against the entry schema (a bad one is dropped, reported once, and gone from
 * the files at the next compaction).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, fstatSync, readSync, writeSync } from 'node:fs';
import { rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ModeldeckError } from '../errors';
import { isTransientIoError } from '../io/transient';
import { ensureRealDir, ensureRealDirSync, lstatOrNull, openSafely, openSafelySync } from '../safe-fs';
import { checkEntry } from './entry-schema';
import { decodeEntry, encodeEntry, type EntryRow } from './index-codec';
import { bytesSource, readSnapshotRows } from './snapshot-rows';
import { INDEX_DIR, JOURNAL_FILE, SNAPSHOT_FILE, openIndexFile, readWhole, type FileIdentity, type ReadSnapshots } from './index-files';
import { LibraryLock, type AcquireOptions } from './lock';
import type { ModelEntry } from './types';

export { INDEX_DIR };
/** Bumped when the entry shape changes incompatibly; an index of another format is set aside, not misread. */
export const INDEX_FORMAT = 1;

interface Snapshot {
  format: number;
  tool: 'modeldeck';
  savedAt: number;
  /** One row per model, in the compact form of index-codec.ts. */
  rows: EntryRow[];
}

/** A journal line: an entry written, or a path removed. */
type JournalLine = { put: ModelEntry } | { del: string };

/**
 * Which version of a root's index: the snapshot's identity and how far into
 * which journal. Two equal versions load as the same entries, so what a
 * process derived from its entries (index-cache.ts) holds for another process
 * that finds this version on disk.
 */
export interface IndexVersion {
  snapshot: FileIdentity | null;
  journal: { ino: number; size: number } | null;
}

export function sameIndexVersion(a: IndexVersion, b: IndexVersion): boolean {
  const ja = a.journal;
  const jb = b.journal;
  return sameIdentity(a.snapshot, b.snapshot) && (ja === jb || (!!ja && !!jb && ja.ino === jb.ino && ja.size === jb.size));
}

export class IndexStore {
  readonly dir: string;
  /**
   * Entries by path. The usual snapshot is decoded as it is read, row by row
   * (snapshot-rows.ts); a snapshot read whole (another layout) keeps its rows
   * and decodes each on first access.
   */
  private entries = new Map<string, ModelEntry | EntryRow>();
  private journalFd: number | null = null;
  /** Journal lines a dropped mount refused, written before the next one. */
  private unwritten = '';
  private snapshotSeen: FileIdentity | null = null;
  private journalSeen: { ino: number; offset: number } | null = null;
  private lock: LibraryLock | null = null;
  private lockDepth = 0;
  private acquiring: Promise<void> | null = null;
  private refreshChain: Promise<unknown> = Promise.resolve();
  /** Problems met while loading (a damaged snapshot set aside, damaged rows or lines dropped). */
  readonly loadWarnings: string[] = [];

  private constructor(
    readonly root: string,
    /** Snapshot bytes a first look read (index-peek.ts), for the first load only. */
    private lookedAt: ReadSnapshots | null,
  ) {
    this.dir = join(root, INDEX_DIR);
  }

  static async load(root: string, read?: ReadSnapshots): Promise<IndexStore> {
    const store = new IndexStore(root, read ?? null);
    await store.reload();
    store.lookedAt = null;
    return store;
  }

  get size(): number {
    return this.entries.size;
  }

  get(path: string): ModelEntry | undefined {
    const e = this.entries.get(path);
    return Array.isArray(e) ? this.decode(path, e) : e;
  }

  *all(): IterableIterator<ModelEntry> {
    for (const [path, e] of this.entries) {
      const entry = Array.isArray(e) ? this.decode(path, e) : e;
      if (entry) yield entry;
    }
  }

  /**
   * Each entry's path, SHA256 and Civitai version id, read from the compact
   * row without decoding it (grouping 50,000 models for duplicates must not
   * build them all). Unchecked: callers `get` the entries they keep, which
   * decodes and checks them.
   */
  *groupingKeys(): IterableIterator<[path: string, sha256: string | undefined, versionId: number | undefined]> {
    for (const [path, e] of this.entries) {
      if (!Array.isArray(e)) {
        yield [path, e.hashes.SHA256, e.civitai.link?.versionId];
        continue;
      }
      const hashes = e[4] as { SHA256?: unknown } | null;
      const civitai = e[12] as unknown[] | undefined;
      const link = Array.isArray(civitai) && Array.isArray(civitai[2]) ? civitai[2] : undefined;
      yield [path, typeof hashes?.SHA256 === 'string' ? hashes.SHA256 : undefined, typeof link?.[1] === 'number' ? link[1] : undefined];
    }
  }

  /**
   * Runs `fn` holding the library lock, on a view brought up to date first.
   * Re-entrant: a link made while this store's own scan runs needs no second lock.
   */
  async withLock<T>(fn: () => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    await this.enterLock(options);
    try {
      return await fn();
    } finally {
      if (--this.lockDepth === 0) {
        // Another process may compact as soon as we let go, replacing the journal: never append to the old one.
        this.closeJournal();
        const lock = this.lock;
        this.lock = null;
        await lock?.release();
      }
    }
  }

  /** Joins a lock this store holds or is taking, else takes it; callers in one process never wait for each other's acquisition. */
  private async enterLock(options: AcquireOptions): Promise<void> {
    for (;;) {
      if (this.lockDepth > 0) {
        this.lockDepth++;
        return;
      }
      if (!this.acquiring) {
        this.acquiring = this.takeLock(options).finally(() => {
          this.acquiring = null;
        });
        return this.acquiring;
      }
      await this.acquiring.catch(() => undefined);
    }
  }

  private async takeLock(options: AcquireOptions): Promise<void> {
    const lock = await LibraryLock.acquire(this.root, options);
    try {
      await this.refreshInTurn();
    } catch (err) {
      await lock.release();
      throw err;
    }
    this.lock = lock;
    this.lockDepth = 1;
  }

  /**
   * Catches up with what other processes wrote: replays journal lines appended
   * since the last look, or reloads everything when the snapshot was replaced.
   * Returns whether anything was read. Cheap when nothing changed (two lstats).
   * While this store holds the lock it is the only writer and already up to
   * date (and replaying its own lines then could undo newer changes).
   */
  refresh(): Promise<boolean> {
    if (this.lockDepth > 0) return Promise.resolve(false);
    return this.refreshInTurn();
  }

  /** One refresh at a time, each after the one before (a refresh begun before the lock was taken does not count). */
  private refreshInTurn(): Promise<boolean> {
    const run = this.refreshChain.then(() => this.readChanges());
    this.refreshChain = run.catch(() => false);
    return run;
  }

  private async readChanges(): Promise<boolean> {
    const { snapshot: snap, journal } = await IndexStore.versionOnDisk(this.root);
    const seen = this.journalSeen;
    // A new snapshot, or a journal replaced, removed or cut short (older versions emptied it in place): read it all again.
    const replaced = seen && (!journal || journal.ino !== seen.ino || journal.size < seen.offset);
    if (!sameIdentity(snap, this.snapshotSeen) || replaced) {
      await this.reload();
      return true;
    }
    const offset = seen?.offset ?? 0;
    if (!journal || journal.size <= offset) return false;
    await this.replayJournal(offset);
    return true;
  }

  /** The version of the files the entries in memory come from (what this process read and wrote of them). */
  version(): IndexVersion {
    const j = this.journalSeen;
    return { snapshot: this.snapshotSeen && { ...this.snapshotSeen }, journal: j && { ino: j.ino, size: j.offset } };
  }

  /** The version of a root's index files as they are on disk now, without loading them (two lstats). */
  static async versionOnDisk(root: string): Promise<IndexVersion> {
    const dir = join(root, INDEX_DIR);
    const snapshot = identityOf(await lstatOrNull(join(dir, SNAPSHOT_FILE)));
    const j = await lstatOrNull(join(dir, JOURNAL_FILE));
    return { snapshot, journal: j && { ino: j.ino, size: j.size } };
  }

  /** Records an entry in memory and appends it to the journal, so it survives a crash. Only under the lock. */
  put(entry: ModelEntry): void {
    this.requireLock();
    this.entries.set(entry.path, entry);
    this.append({ put: entry });
  }

  delete(path: string): void {
    this.requireLock();
    if (this.entries.delete(path)) this.append({ del: path });
  }

  /** Writes a new snapshot atomically and empties the journal. Only under the lock. */
  async compact(): Promise<void> {
    this.requireLock();
    await ensureRealDir(this.dir);
    const rows = Array.from(this.entries.values(), (e) => (Array.isArray(e) ? e : encodeEntry(e)));
    const snapshot: Snapshot = { format: INDEX_FORMAT, tool: 'modeldeck', savedAt: Date.now(), rows };
    const target = join(this.dir, SNAPSHOT_FILE);
    await this.writeNew(target, JSON.stringify(snapshot));
    this.unwritten = '';
    this.closeJournal();
    // An empty journal renamed into place: the old one (or a link planted there) is replaced, never truncated through.
    const journal = join(this.dir, JOURNAL_FILE);
    await this.writeNew(journal, '');
    this.snapshotSeen = identityOf(await lstatOrNull(target));
    const j = identityOf(await lstatOrNull(journal));
    this.journalSeen = j && { ino: j.ino, offset: 0 };
  }

  /** Flushes and closes the journal; the in-memory entries stay usable. */
  close(): void {
    this.closeJournal();
  }

  /** Removes the index folder (for tests and `modeldeck forget`). */
  async destroy(): Promise<void> {
    this.closeJournal();
    await rm(this.dir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------

  private requireLock(): void {
    if (this.lockDepth === 0) throw new ModeldeckError('internal', `${this.dir}: index changed without holding the library lock`);
  }

  private decode(path: string, row: EntryRow): ModelEntry | undefined {
    const decoded = decodeEntry(row);
    if ('entry' in decoded && decoded.entry.path === path) {
      this.entries.set(path, decoded.entry);
      return decoded.entry;
    }
    this.entries.delete(path);
    const why = 'error' in decoded ? decoded.error : 'path does not match its key';
    this.loadWarnings.push(`${join(this.dir, SNAPSHOT_FILE)}: the entry of ${JSON.stringify(String(path).slice(0, 200))} is damaged (${why}) and was dropped (a rescan restores it)`);
    return undefined;
  }

  /** Writes `data` to a new file under an unguessable name, flushed, then renamed over `target`. */
  private async writeNew(target: string, data: string): Promise<void> {
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    let fh: FileHandle | null = null;
    try {
      fh = await openSafely(tmp, 'create');
      await fh.writeFile(data);
      await fh.sync().catch(() => undefined); // some FUSE mounts do not implement fsync
      await fh.close();
      fh = null;
      await rename(tmp, target);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  private append(line: JournalLine): void {
    const text = JSON.stringify(line) + '\n';
    try {
      this.appendText(this.unwritten + text);
      this.unwritten = '';
    } catch (err) {
      if (!isTransientIoError(err)) throw err;
      // The mount dropped (Drive): the entry is in memory; its line is written with the next one, or by the next compaction.
      this.unwritten += text;
      if (this.journalFd !== null) {
        try {
          closeSync(this.journalFd);
        } catch {
          // already unusable
        }
        this.journalFd = null;
      }
    }
  }

  private appendText(text: string): void {
    if (this.journalFd === null) {
      // Synchronous on purpose: each line is small, and a line must be on disk before the
      // scan moves on, or a kill -9 right after a long hash would lose that hash.
      ensureRealDirSync(this.dir);
      const fd = openSafelySync(join(this.dir, JOURNAL_FILE), 'append');
      const st = fstatSync(fd);
      // A line torn by a crash would swallow the next one: start on a fresh line.
      if (st.size > 0 && lastByte(join(this.dir, JOURNAL_FILE), st.size) !== 0x0a) writeSync(fd, '\n');
      this.journalFd = fd;
      if (!this.journalSeen || this.journalSeen.ino !== st.ino) this.journalSeen = { ino: st.ino, offset: 0 };
      this.journalSeen.offset = fstatSync(fd).size;
    }
    const written = writeSync(this.journalFd, text);
    // Under the lock no one else appends, so what we wrote needs no replay.
    if (this.journalSeen) this.journalSeen.offset += Buffer.byteLength(text) === written ? written : 0;
  }

  private closeJournal(): void {
    if (this.journalFd === null) return;
    try {
      fsyncSync(this.journalFd);
    } catch {
      // Some FUSE mounts do not implement fsync; the data was written all the same.
    }
    closeSync(this.journalFd);
    this.journalFd = null;
  }

  /** Reads the snapshot and the whole journal again. */
  private async reload(): Promise<void> {
    await this.checkDir();
    this.entries = new Map();
    this.snapshotSeen = null;
    this.journalSeen = null;
    await this.readSnapshot();
    await this.replayJournal(0);
  }

  /** `.modeldeck` must be a real folder (or absent): a planted link is refused before anything is read or written. */
  private async checkDir(): Promise<void> {
    const st = await lstatOrNull(this.dir);
    if (st && !st.isDirectory()) await ensureRealDir(this.dir);
  }

  private async readSnapshot(): Promise<void> {
    const file = join(this.dir, SNAPSHOT_FILE);
    if (await this.streamSnapshot(file)) return;
    const read = await readWhole(file);
    if (read.kind === 'missing') return;
    if (read.kind === 'refused') {
      await this.setAside(file, read.reason);
      return;
    }
    this.snapshotSeen = read.identity;
    let snapshot: Snapshot | null = null;
    try {
      snapshot = JSON.parse(read.text) as Snapshot;
    } catch {
      snapshot = null;
    }
    if (!snapshot || snapshot.tool !== 'modeldeck' || snapshot.format !== INDEX_FORMAT || !Array.isArray(snapshot.rows)) {
      await this.setAside(file, `not a modeldeck index of format ${INDEX_FORMAT}`);
      this.snapshotSeen = null;
      return;
    }
    let damaged = 0;
    for (const row of snapshot.rows) {
      if (Array.isArray(row) && typeof row[0] === 'string') this.entries.set(row[0], row);
      else damaged++;
    }
    if (damaged) this.loadWarnings.push(`${file}: ${damaged} damaged entries skipped (a rescan restores them)`);
  }

  /**
   * The usual snapshot (the layout compact() writes), read row by row and each
   * row decoded at once (snapshot-rows.ts says why). False when the file is
   * missing, refused or not in that layout: then it is read whole, which
   * decides what it is, and nothing read here is kept.
   */
  private async streamSnapshot(file: string): Promise<boolean> {
    const opened = await openIndexFile(file);
    if (opened.kind !== 'ok') return false;
    const entries = new Map<string, ModelEntry | EntryRow>();
    const warnings: string[] = [];
    let damaged = 0;
    let read;
    try {
      // The bytes a first look read of this very file, if it did: not read again.
      const kept = this.lookedAt?.take(opened.identity);
      read = await readSnapshotRows(kept ? bytesSource(kept) : opened.fh, opened.identity.size, (row) => {
        const path = row[0];
        if (typeof path !== 'string') {
          damaged++;
          return;
        }
        const decoded = decodeEntry(row);
        if ('entry' in decoded) entries.set(path, decoded.entry);
        else {
          // As a row decoded on access: dropped, also over an earlier row of the same path.
          entries.delete(path);
          warnings.push(`${file}: the entry of ${JSON.stringify(path.slice(0, 200))} is damaged (${decoded.error}) and was dropped (a rescan restores it)`);
        }
      });
    } finally {
      await opened.fh.close();
    }
    if (read.kind !== 'ok' || read.header.format !== INDEX_FORMAT) return false;
    this.entries = entries;
    this.snapshotSeen = opened.identity;
    this.loadWarnings.push(...warnings);
    if (damaged) this.loadWarnings.push(`${file}: ${damaged} damaged entries skipped (a rescan restores them)`);
    return true;
  }

  /** Never lose what was there: an unreadable or foreign file is kept aside (renaming a link moves the link, not its target). */
  private async setAside(file: string, why: string): Promise<void> {
    const aside = `${file}.unreadable-${Date.now()}`;
    await rename(file, aside).catch(() => undefined);
    this.loadWarnings.push(`${file}: ${why}; kept as ${aside} and starting a new index`);
  }

  private async replayJournal(from: number): Promise<void> {
    const file = join(this.dir, JOURNAL_FILE);
    const read = await readWhole(file, from);
    if (read.kind === 'missing') return;
    if (read.kind === 'refused') {
      await this.setAside(file, read.reason);
      return;
    }
    // Only complete lines: the last one may be being written by the process holding the lock, or torn by a crash.
    const end = read.text.lastIndexOf('\n') + 1;
    this.journalSeen = { ino: read.identity.ino, offset: from + Buffer.byteLength(read.text.slice(0, end)) };
    let damaged = 0;
    const dropped: string[] = [];
    for (const line of journalLines(read.text.slice(0, end))) {
      if ('put' in line) this.entries.set(line.put.path, line.put);
      else if ('del' in line) this.entries.delete(line.del);
      else if ('dropped' in line) dropped.push(line.dropped);
      else damaged++;
    }
    if (damaged) this.loadWarnings.push(`${file}: ${damaged} damaged line(s) skipped`);
    if (dropped.length) this.loadWarnings.push(`${file}: ${dropped.length} invalid entr${dropped.length === 1 ? 'y' : 'ies'} dropped (${dropped[0]}); a rescan restores them`);
  }
}

function identityOf(st: { ino: number; size: number; mtimeMs: number } | null): FileIdentity | null {
  return st ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } : null;
}

function sameIdentity(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return a === b || (!!a && !!b && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs);
}

/** The journal is appended to write-only; its last byte is read through a second, read-only descriptor. */
function lastByte(path: string, size: number): number {
  const fd = openSafelySync(path, 'read');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0];
  } finally {
    closeSync(fd);
  }
}

/** A journal line read back: an entry put (checked), a path removed, an entry the schema refused (why), or a damaged line. */
export type ReadJournalLine = { put: ModelEntry } | { del: string } | { dropped: string } | { damaged: true };

/** The lines of complete journal text, each read and checked as the store applies them (index-peek.ts reads them the same way). */
export function* journalLines(text: string): IterableIterator<ReadJournalLine> {
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    let line: JournalLine;
    try {
      line = JSON.parse(raw) as JournalLine;
    } catch {
      yield { damaged: true };
      continue;
    }
    if (line && typeof line === 'object' && 'put' in line) {
      const checked = checkEntry(line.put);
      yield 'entry' in checked ? { put: checked.entry } : { dropped: checked.error };
    } else if (line && typeof line === 'object' && 'del' in line && typeof line.del === 'string') yield { del: line.del };
    else yield { damaged: true };
  }
}
