/**
 * The index of one library root, in `<root>/.modeldeck/`, beside the models,
 * so a fresh Colab runtime that mounts the same Drive finds every hash again.
 *
 * Two files:
 * - `index.json`: a snapshot of every entry, replaced atomically (written to a
 *   temporary file, flushed, renamed over the old one);
 * - `journal.jsonl`: entries finished since the snapshot, one JSON line each,
 *   appended as a scan goes. A scan killed at any moment (kill -9) loses at most
 *   the line being written: loading replays the journal over the snapshot and
 *   ignores a torn last line, so the next scan does not hash finished files again.
 * `compact()` writes a new snapshot and empties the journal.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ModeldeckError } from '../errors';
import { decodeEntry, encodeEntry, type EntryRow } from './index-codec';
import type { ModelEntry } from './types';

export const INDEX_DIR = '.modeldeck';
const SNAPSHOT = 'index.json';
const JOURNAL = 'journal.jsonl';
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

export class IndexStore {
  readonly dir: string;
  /**
   * Entries by path. Rows from the snapshot are decoded on first access: a
   * 50,000-model index then opens in the time of one JSON.parse, and a session
   * that looks at a few models never builds the rest.
   */
  private readonly entries = new Map<string, ModelEntry | EntryRow>();
  private journalFd: number | null = null;
  /** Problems met while loading (a damaged snapshot set aside, torn journal lines). */
  readonly loadWarnings: string[] = [];

  private constructor(readonly root: string) {
    this.dir = join(root, INDEX_DIR);
  }

  static async load(root: string): Promise<IndexStore> {
    const store = new IndexStore(root);
    await store.readSnapshot();
    await store.replayJournal();
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

  private decode(path: string, row: EntryRow): ModelEntry | undefined {
    const entry = decodeEntry(row);
    if (entry) this.entries.set(path, entry);
    else {
      this.entries.delete(path);
      this.loadWarnings.push(`${join(this.dir, SNAPSHOT)}: the entry of ${path} is damaged and was dropped (a rescan restores it)`);
    }
    return entry ?? undefined;
  }

  /** Records an entry in memory and appends it to the journal, so it survives a crash. */
  put(entry: ModelEntry): void {
    this.entries.set(entry.path, entry);
    this.append({ put: entry });
  }

  delete(path: string): void {
    if (this.entries.delete(path)) this.append({ del: path });
  }

  /** Writes a new snapshot atomically and empties the journal. */
  async compact(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const rows = Array.from(this.entries.values(), (e) => (Array.isArray(e) ? e : encodeEntry(e)));
    const snapshot: Snapshot = { format: INDEX_FORMAT, tool: 'modeldeck', savedAt: Date.now(), rows };
    const target = join(this.dir, SNAPSHOT);
    const tmp = `${target}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(snapshot));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    this.closeJournal();
    await writeFile(join(this.dir, JOURNAL), '');
  }

  /** Flushes and closes the journal; the in-memory entries stay usable. */
  close(): void {
    this.closeJournal();
  }

  private append(line: JournalLine): void {
    if (this.journalFd === null) {
      // Synchronous on purpose: each line is small, and a line must be on disk before the
      // scan moves on, or a kill -9 right after a long hash would lose that hash.
      mkdirSync(this.dir, { recursive: true });
      this.journalFd = openSync(join(this.dir, JOURNAL), 'a');
    }
    writeSync(this.journalFd, JSON.stringify(line) + '\n');
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

  private async readSnapshot(): Promise<void> {
    const file = join(this.dir, SNAPSHOT);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new ModeldeckError('index_unreadable', `${file}: cannot read the index (${(err as Error).message})`);
    }
    let snapshot: Snapshot | null = null;
    try {
      snapshot = JSON.parse(text) as Snapshot;
    } catch {
      snapshot = null;
    }
    if (!snapshot || snapshot.tool !== 'modeldeck' || snapshot.format !== INDEX_FORMAT || !Array.isArray(snapshot.rows)) {
      // Never lose what was there: keep the unreadable file aside and start afresh (a rescan rebuilds it).
      const aside = `${file}.unreadable-${Date.now()}`;
      await rename(file, aside).catch(() => undefined);
      this.loadWarnings.push(`${file}: not a modeldeck index of format ${INDEX_FORMAT}; kept as ${aside} and starting a new index`);
      return;
    }
    let damaged = 0;
    for (const row of snapshot.rows) {
      if (Array.isArray(row) && typeof row[0] === 'string') this.entries.set(row[0], row);
      else damaged++;
    }
    if (damaged) this.loadWarnings.push(`${file}: ${damaged} damaged entries skipped (a rescan restores them)`);
  }

  private async replayJournal(): Promise<void> {
    const file = join(this.dir, JOURNAL);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return;
    }
    const lines = text.split('\n');
    lines.forEach((raw, i) => {
      if (!raw) return;
      let line: JournalLine;
      try {
        line = JSON.parse(raw);
      } catch {
        // The last line may be torn by a crash mid-write; anything else is damage worth reporting.
        if (i < lines.length - 2) this.loadWarnings.push(`${file}: line ${i + 1} is damaged and was skipped`);
        return;
      }
      if ('put' in line && isEntry(line.put)) this.entries.set(line.put.path, line.put);
      else if ('del' in line && typeof line.del === 'string') this.entries.delete(line.del);
    });
  }

  /** Removes the index folder (for tests and `modeldeck forget`). */
  async destroy(): Promise<void> {
    this.closeJournal();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function isEntry(e: unknown): e is ModelEntry {
  const x = e as ModelEntry | null;
  return !!x && typeof x.path === 'string' && typeof x.size === 'number' && typeof x.mtimeMs === 'number' && typeof x.hashes === 'object';
}
