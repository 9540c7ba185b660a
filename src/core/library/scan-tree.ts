/**
 * Finding the model files under library roots: the walk, and nothing else
 * (no reading of model bytes; the library decides what to do with each file).
 *
 * Why it is shaped like this:
 * - `readdir` with file types tells files from folders without a `stat` per
 *   entry; only model files (for size and mtime), folders (for their identity)
 *   and symbolic links are stat-ed.
 * - Calls run concurrently under one bound: on Google Drive's FUSE mount each
 *   call waits on the network, so a serial walk of 10,000 files takes minutes,
 *   while an unbounded one floods the mount (and the file-descriptor table).
 * - Symbolic links are followed, but a linked folder is walked only after every
 *   real folder, and only if it was not walked already (same device and inode).
 *   That ends loops (a link to a parent), keeps a file's real path in
 *   preference to a path through a link, and makes the result independent of
 *   the order in which concurrent calls happen to finish.
 * - Problems with one entry (a broken link, an unreadable folder, a file gone
 *   since it was listed) are warnings, never a throw: a scan of a large,
 *   live library must go on.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { CancelledError, describeFsError } from '../errors';
import type { ModelKind } from '../probe/types';
import { boundedCalls, type BoundedCall } from './bounded-calls';
import { folderKind } from './layouts';
import { isHiddenName, isModelFileName, isSkippedDirName } from './model-paths';

export interface FoundFile {
  /** The root it was found under, resolved to an absolute path. */
  root: string;
  /** Relative to its root, `/`-separated (the index key). */
  path: string;
  /** `root` joined with `path`: the path as the user sees it (through links, not resolved). */
  absolute: string;
  size: number;
  mtimeMs: number;
  /** Device and inode of the file itself (links followed): what makes two paths one file. */
  dev: number;
  ino: number;
  /** The kind the nearest known layout folder implies (`models/Lora` -> lora). */
  folderKind?: ModelKind;
}

export interface ScanTreeWarning {
  /** Absolute path of the entry the warning is about. */
  path: string;
  /** The root being walked, and the entry's path relative to it (`''` for the root itself). */
  root: string;
  relative: string;
  /** `broken_link`, `unreadable_folder`, `vanished`, `not_a_folder`, `duplicate_root`, `unreadable`. */
  code: string;
  message: string;
}

export interface ScanTreeProgress {
  /** Folders listed so far. */
  folders: number;
  /** Model files found so far (before paths to the same file are merged). */
  files: number;
}

export interface FindModelFilesOptions {
  signal?: AbortSignal;
  onWarning?(warning: ScanTreeWarning): void;
  /** Called after each folder is listed; cheap enough to drive a "files found" counter. */
  onProgress?(progress: ScanTreeProgress): void;
  /** File-system calls in flight at once (default 24: enough to hide Drive's latency, few enough not to flood it). */
  concurrency?: number;
  /** Each folder's entry names as listed, so later steps (sidecars) need no second readdir. */
  onListing?(folder: string, names: string[]): void;
  /**
   * Asked after a transient error (a mount dropping): resolves true once a mount
   * that was gone is back, and the call is made again instead of being a warning.
   */
  waitForMount?(err: unknown): Promise<boolean>;
}

const DEFAULT_CONCURRENCY = 24;

/**
 * Every model file under `roots`, once each, sorted by root (in the order
 * given) and then by path in walk order (entries sorted by name, code-unit
 * order, so the result does not depend on the locale). Rejects only with a
 * `CancelledError` when `signal` aborts.
 */
export async function findModelFiles(roots: string[], options: FindModelFilesOptions = {}): Promise<FoundFile[]> {
  return new TreeWalk(roots.map((r) => resolve(r)), options).run();
}

/**
 * A place in the walk. `key` is the relative path with NUL between segments:
 * NUL sorts before every character a name can hold, so comparing keys as
 * strings gives depth-first walk order (`a/b` before `a-b`) without arrays.
 */
interface Place {
  rootIndex: number;
  /** Relative to the root, `/`-separated; `''` for the root. */
  relative: string;
  key: string;
  absolute: string;
  /** Reached through a symbolic link (the entry itself, or a folder on the way). */
  viaLink: boolean;
}

/**
 * A model file as reached by one path; several candidates may be one file.
 * Only the numbers are kept, not the `Stats` object: 10,000 of those kept
 * alive doubled the garbage collector's work.
 */
interface Candidate extends Place {
  size: number;
  mtimeMs: number;
  dev: number;
  ino: number;
  folderKind: ModelKind | undefined;
}

function child(folder: Place, name: string): Place {
  const top = folder.relative === '';
  return {
    rootIndex: folder.rootIndex,
    relative: top ? name : `${folder.relative}/${name}`,
    key: top ? name : `${folder.key}\0${name}`,
    // Plain concatenation: the root is resolved, and `join` normalising 10,000 paths shows in a profile.
    absolute: folder.absolute.endsWith(sep) ? folder.absolute + name : folder.absolute + sep + name,
    viaLink: folder.viaLink,
  };
}

class TreeWalk {
  private readonly limit: BoundedCall;
  /** Identities of the folders walked so far (see `folderIdentity`). */
  private readonly walked = new Set<string>();
  private readonly candidates: Candidate[] = [];
  private linkedFolders: Place[] = [];
  private readonly progress: ScanTreeProgress = { folders: 0, files: 0 };

  constructor(
    private readonly roots: string[],
    private readonly options: FindModelFilesOptions,
  ) {
    this.limit = boundedCalls(options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  async run(): Promise<FoundFile[]> {
    this.checkAborted();
    // Roots one after another, so that a root nested in an earlier one is recognised as such.
    for (const [rootIndex, root] of this.roots.entries()) {
      const place: Place = { rootIndex, relative: '', key: '', absolute: root, viaLink: false };
      const stats = await this.statOrWarn(place, stat, 'unreadable');
      if (!stats) continue;
      if (!stats.isDirectory()) {
        this.warn(place, 'not_a_folder', 'is not a folder');
        continue;
      }
      if (!(await this.claimFolder(place, stats))) {
        this.warn(place, 'duplicate_root', 'is already scanned as part of another root; its files are listed there');
        continue;
      }
      await this.walkFolder(place);
    }
    // Linked folders in rounds, each in sorted order and one at a time, so which
    // path wins for a folder reachable twice does not depend on timing.
    while (this.linkedFolders.length > 0) {
      const round = this.linkedFolders.sort(compareByPlace);
      this.linkedFolders = [];
      for (const place of round) {
        const stats = await this.statOrWarn(place, stat, 'broken_link');
        // Already walked: a loop (a link to a parent) or a second way to the same folder.
        if (stats && (await this.claimFolder(place, stats))) await this.walkFolder(place);
      }
    }
    return this.dedupe();
  }

  /** Lists one folder and dispatches its entries; subfolders are walked concurrently. */
  private async walkFolder(folder: Place): Promise<void> {
    let entries;
    try {
      entries = await this.fs(() => readdir(folder.absolute, { withFileTypes: true }));
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      this.warn(folder, 'unreadable_folder', `cannot list folder: ${describeFsError(err)}`);
      return;
    }
    this.progress.folders++;
    this.options.onProgress?.({ ...this.progress });
    this.options.onListing?.(folder.absolute, entries.map((e) => e.name));
    const kind = folderKind(folder.absolute);
    const work: Array<Promise<void>> = [];
    for (const entry of entries) {
      const name = entry.name;
      if (isHiddenName(name)) continue;
      if (entry.isDirectory()) {
        if (!isSkippedDirName(name)) work.push(this.enterFolder(child(folder, name)));
      } else if (entry.isFile()) {
        // Most entries are previews and sidecars: no object, no call for them.
        if (isModelFileName(name)) work.push(this.addFile(child(folder, name), kind));
      } else if (entry.isSymbolicLink()) {
        work.push(this.followLink(child(folder, name), kind));
      } else if (!entry.isBlockDevice() && !entry.isCharacterDevice() && !entry.isFIFO() && !entry.isSocket()) {
        // Some FUSE and network file systems do not report entry types (DT_UNKNOWN): ask.
        work.push(this.classify(child(folder, name), kind));
      }
    }
    await Promise.all(work);
  }

  private async enterFolder(place: Place): Promise<void> {
    const stats = await this.statOrWarn(place, stat, 'unreadable_folder');
    // A real folder seen twice is a bind mount of an ancestor: skip, or the walk never ends.
    if (stats && (await this.claimFolder(place, stats))) await this.walkFolder(place);
  }

  /** The hot path (one call per model file): plain promise chains, no async frames. */
  private addFile(place: Place, kind: ModelKind | undefined): Promise<void> {
    return this.fs(() => stat(place.absolute)).then(
      (stats) => this.keep(place, kind, stats),
      (err: unknown) => {
        if (err instanceof CancelledError) throw err;
        this.warn(place, 'vanished', describeProblem('vanished', err));
      },
    );
  }

  private keep(place: Place, kind: ModelKind | undefined, stats: Stats): void {
    const { rootIndex, relative, key, absolute, viaLink } = place;
    const { size, mtimeMs, dev, ino } = stats;
    this.candidates.push({ rootIndex, relative, key, absolute, viaLink, size, mtimeMs, dev, ino, folderKind: kind });
    this.progress.files++;
  }

  private async followLink(place: Place, kind: ModelKind | undefined): Promise<void> {
    const name = baseName(place);
    const target = await this.statOrWarn(place, stat, 'broken_link');
    if (!target) return;
    if (target.isDirectory()) {
      if (!isSkippedDirName(name)) this.linkedFolders.push({ ...place, viaLink: true });
    } else if (target.isFile() && isModelFileName(name)) {
      this.keep({ ...place, viaLink: true }, kind, target);
    }
  }

  private async classify(place: Place, kind: ModelKind | undefined): Promise<void> {
    const name = baseName(place);
    const stats = await this.statOrWarn(place, lstat, 'vanished');
    if (!stats) return;
    if (stats.isSymbolicLink()) return this.followLink(place, kind);
    if (stats.isDirectory()) return isSkippedDirName(name) ? undefined : this.enterFolder(place);
    if (stats.isFile() && isModelFileName(name)) this.keep(place, kind, stats);
  }

  /** Marks a folder as walked; false when it was already. */
  private async claimFolder(place: Place, stats: Stats): Promise<boolean> {
    const id = await this.folderIdentity(place, stats);
    if (this.walked.has(id)) return false;
    this.walked.add(id);
    return true;
  }

  /**
   * Device and inode, or the resolved path on file systems that report inode 0
   * (some FUSE mounts), where device and inode would make every folder "the same".
   */
  private async folderIdentity(place: Place, stats: Stats): Promise<string> {
    if (stats.ino !== 0) return `${stats.dev}:${stats.ino}`;
    try {
      return `path:${await this.fs(() => realpath(place.absolute))}`;
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      return `path:${place.absolute}`;
    }
  }

  /**
   * One file reached by several paths is reported once: a path with no link on
   * the way wins (renaming a shortcut then does not look like a move), then the
   * first in walk order. Files on file systems without inode numbers are never merged.
   */
  private dedupe(): FoundFile[] {
    const preference = [...this.candidates].sort(
      (a, b) => Number(a.viaLink) - Number(b.viaLink) || compareByPlace(a, b),
    );
    const kept = new Set<string>();
    const result: Candidate[] = [];
    for (const c of preference) {
      const id = c.ino !== 0 ? `${c.dev}:${c.ino}` : `path:${c.absolute}`;
      if (kept.has(id)) continue;
      kept.add(id);
      result.push(c);
    }
    return result.sort(compareByPlace).map((c) => {
      const found: FoundFile = {
        root: this.roots[c.rootIndex],
        path: c.relative,
        absolute: c.absolute,
        size: c.size,
        mtimeMs: c.mtimeMs,
        dev: c.dev,
        ino: c.ino,
      };
      if (c.folderKind) found.folderKind = c.folderKind;
      return found;
    });
  }

  /** `stat`/`lstat` under the bound; a failure becomes a warning and `undefined`. */
  private async statOrWarn(
    place: Place,
    call: (path: string) => Promise<Stats>,
    code: string,
  ): Promise<Stats | undefined> {
    try {
      return await this.fs(() => call(place.absolute));
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      this.warn(place, code, describeProblem(code, err));
      return undefined;
    }
  }

  /** Runs one file-system call under the concurrency bound, unless the walk was cancelled. */
  private async fs<T>(call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await this.limit(() => {
          this.checkAborted();
          return call();
        });
      } catch (err) {
        // A vanished mount would make every folder look empty and every model removed: wait for it instead.
        if (err instanceof CancelledError || !this.options.waitForMount || !(await this.options.waitForMount(err))) throw err;
      }
    }
  }

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw new CancelledError(`scan of ${this.roots.join(', ')}`);
  }

  private warn(place: Place, code: string, reason: string): void {
    this.options.onWarning?.({
      path: place.absolute,
      root: this.roots[place.rootIndex],
      relative: place.relative,
      code,
      message: `${place.absolute}: ${reason}`,
    });
  }
}

function describeProblem(code: string, err: unknown): string {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'broken_link') {
    if (errno === 'ENOENT') return 'broken symbolic link (its target does not exist)';
    if (errno === 'ELOOP') return 'symbolic link loop (links that point at each other)';
    return `symbolic link cannot be followed: ${describeFsError(err)}`;
  }
  if (code === 'vanished' && errno === 'ENOENT') return 'removed during the scan';
  return describeFsError(err);
}

function baseName(place: Place): string {
  return place.relative.slice(place.relative.lastIndexOf('/') + 1);
}

/** Root order, then walk order; keys compare in code-unit order, the same on every machine and locale. */
function compareByPlace(a: Place, b: Place): number {
  return a.rootIndex - b.rootIndex || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
