/**
 * Moving a model file with everything that belongs to it: its sidecars and
 * previews, to another folder or name, to the trash and back.
 *
 * - A sidecar belongs to a model when it has the model's base name and one of
 *   the suffixes peer tools write (`.civitai.info`, `.json`, `.metadata.json`,
 *   `.cm-info.json`, `.preview.*`), or is the entry's recorded preview beside
 *   it. A sidecar that is a link (or a FIFO, a folder) is someone else's
 *   arrangement: left where it is, and named in the result.
 * - Nothing is overwritten: every target is checked (lstat) before the first
 *   file moves, and again just before its own rename.
 * - One file system: `link` then `unlink` (no-replace.ts: a file created at
 *   the target after the check is never replaced), no byte read; `rename`
 *   where links are refused. Across file systems (EXDEV): a
 *   copy to a new temporary name (O_EXCL|O_NOFOLLOW) beside the target,
 *   flushed, read back and compared by SHA-256 with what was read from the
 *   source, renamed into place, and only then the source removed.
 * - A move that fails half way is undone in reverse order, so every file is
 *   at its old place or its new one; the model moves first, so a crash
 *   between files leaves a model the next scan recognises by fingerprint.
 * - Every target lies inside a library root (`checkedTarget`): no write
 *   through a symlinked folder that leads elsewhere.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rmdir, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join, parse } from 'node:path';
import { ModeldeckError, describeFsError } from '../errors';
import { ensureRealDir, lstatOrNull, openSafely } from '../safe-fs';
import { checkedTarget, tempPathFor, unsafeNameReason, writeFileAtomic } from '../sidecars/paths';
import { checkEntry, unsafeEntryPath } from './entry-schema';
import { INDEX_DIR } from './index-files';
import { renameNoReplace } from './no-replace';
import type { ModelEntry } from './types';

/** What other tools write beside a model, after its base name. */
const SIDECAR_SUFFIXES = ['.civitai.info', '.json', '.metadata.json', '.cm-info.json'];

export interface Sidecars {
  /** Absolute paths of regular files that belong to the model. */
  files: string[];
  /** Sidecars that are links or not regular files: never moved. */
  leftAlone: string[];
}

/** The sidecars and previews beside `modelAbs` (whose index entry names `previewAbs`, if any). */
export async function sidecarsOf(modelAbs: string, previewAbs?: string): Promise<Sidecars> {
  const dir = dirname(modelAbs);
  const model = basename(modelAbs);
  const base = parse(model).name;
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Sidecars = { files: [], leftAlone: [] };
  for (const name of names) {
    if (name === model || !name.startsWith(`${base}.`)) continue;
    const rest = name.slice(base.length);
    const belongs = SIDECAR_SUFFIXES.includes(rest) || rest.startsWith('.preview.') || (previewAbs !== undefined && join(dir, name) === previewAbs);
    if (!belongs) continue;
    const st = await lstatOrNull(join(dir, name));
    if (!st) continue;
    (st.isFile() ? out.files : out.leftAlone).push(join(dir, name));
  }
  return out;
}

/** One file's move. */
export interface FileMove {
  from: string;
  to: string;
}

/**
 * The moves for a model and its sidecars to `newModelAbs`: sidecars take the
 * new base name (`a.civitai.info` → `b.civitai.info`). The model comes first.
 */
export function movesFor(modelAbs: string, newModelAbs: string, sidecars: string[]): FileMove[] {
  const oldBase = parse(modelAbs).name;
  const newBase = parse(newModelAbs).name;
  const dest = dirname(newModelAbs);
  return [
    { from: modelAbs, to: newModelAbs },
    ...sidecars.map((from) => ({ from, to: join(dest, newBase + basename(from).slice(oldBase.length)) })),
  ];
}

/** Refuses before anything moves when a target exists or leaves `root`; returns the moves with checked targets. */
export async function checkMoves(root: string, moves: FileMove[]): Promise<FileMove[]> {
  const checked: FileMove[] = [];
  const seen = new Set<string>();
  for (const m of moves) {
    const to = await checkedTarget(root, m.to);
    if (seen.has(to) || (await lstatOrNull(to))) throw new ModeldeckError('exists', `${m.to}: already exists; nothing was moved`);
    seen.add(to);
    checked.push({ from: m.from, to });
  }
  return checked;
}

/** Moves every file, or none: a failure puts back the files already moved, in reverse order. */
export async function moveAll(moves: FileMove[]): Promise<void> {
  const done: FileMove[] = [];
  try {
    for (const m of moves) {
      await moveOne(m.from, m.to);
      done.push(m);
    }
  } catch (err) {
    const stuck: string[] = [];
    for (const m of done.reverse()) await moveOne(m.to, m.from).catch(() => stuck.push(`${m.to} (from ${m.from})`));
    const where = stuck.length ? `; could not be put back, now at: ${stuck.join(', ')}` : '; the files already moved were put back';
    throw new ModeldeckError('move_failed', `${(err as Error).message}${where}`, { cause: err });
  }
}

/** One file to a path that must not exist: rename, or across file systems a verified copy then removal. */
export async function moveOne(from: string, to: string): Promise<void> {
  const src = await lstat(from).catch((err) => {
    throw new ModeldeckError('move_failed', `${from}: ${describeFsError(err)}`);
  });
  if (!src.isFile()) throw new ModeldeckError('move_failed', `${from}: not a regular file; left alone`);
  if (await lstatOrNull(to)) throw new ModeldeckError('exists', `${to}: already exists`);
  // link + unlink on one file system: a file created at `to` since the check is never replaced.
  if ((await renameNoReplace(from, to)) !== 'cross-device') return;
  await copyVerified(from, to, src.atime, src.mtime);
  await unlink(from);
}

/** Copies `from` to a new temporary file beside `to`, reads it back, compares SHA-256, then renames it to `to`. */
async function copyVerified(from: string, to: string, atime: Date, mtime: Date): Promise<void> {
  const tmp = tempPathFor(to);
  let placed = false;
  try {
    const source = await openSafely(from, 'read');
    const readHash = createHash('sha256');
    try {
      const out = await openSafely(tmp, 'create');
      try {
        const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
        for (;;) {
          const { bytesRead } = await source.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          readHash.update(buf.subarray(0, bytesRead));
          await out.write(buf, 0, bytesRead);
        }
        await out.sync().catch(() => undefined);
      } finally {
        await out.close();
      }
    } finally {
      await source.close();
    }
    const copyHash = await sha256Of(tmp);
    if (copyHash !== readHash.digest('hex').toUpperCase()) throw new ModeldeckError('move_failed', `${to}: the copy differs from ${from}; nothing removed`);
    await utimes(tmp, atime, mtime);
    if (await lstatOrNull(to)) throw new ModeldeckError('exists', `${to}: appeared while copying`);
    // The temporary file is beside the target: one file system, so this never copies again.
    if ((await renameNoReplace(tmp, to)) === 'cross-device') throw new ModeldeckError('move_failed', `${to}: its folder changed file system while copying`);
    placed = true;
  } finally {
    if (!placed) await unlink(tmp).catch(() => undefined);
  }
}

/** SHA-256 of a small or large file read through a safe descriptor (upper-case hex). */
export async function sha256Of(path: string): Promise<string> {
  const fh = await openSafely(path, 'read');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
    return h.digest('hex').toUpperCase();
  } finally {
    await fh.close();
  }
}

// ---- the trash ---------------------------------------------------------------

export const TRASH_DIR = 'trash';
const MANIFEST = 'item.json';
const MANIFEST_MAX = 4 * 1024 * 1024;

/** What the trash remembers of one removed model. */
export interface TrashItem {
  /** The item's folder name under `.modeldeck/trash/`. */
  id: string;
  /** The model's path relative to the root, where restore puts it back. */
  path: string;
  trashedAt: number;
  /** Every file moved: its name in the item folder and its path relative to the root. */
  files: Array<{ name: string; path: string }>;
  /** The index entry as it was, put back by restore. */
  entry?: ModelEntry;
}

export function trashDir(root: string): string {
  return join(root, INDEX_DIR, TRASH_DIR);
}

/** Moves a model and its sidecars into `<root>/.modeldeck/trash/<id>/`, with a manifest restore reads. */
export async function moveToTrash(root: string, entry: ModelEntry): Promise<{ item: TrashItem; leftAlone: string[] }> {
  const modelAbs = join(root, entry.path);
  const sidecars = await sidecarsOf(modelAbs, entry.preview ? join(root, entry.preview) : undefined);
  await ensureRealDir(join(root, INDEX_DIR));
  await ensureRealDir(trashDir(root));
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const dir = join(trashDir(root), id);
  await mkdir(dir); // new: fails if the name exists
  const files = [modelAbs, ...sidecars.files];
  const item: TrashItem = {
    id,
    path: entry.path,
    trashedAt: Date.now(),
    files: files.map((abs) => ({ name: basename(abs), path: relPath(root, abs) })),
    entry,
  };
  // The manifest first: a crash after it leaves an item restore can finish from wherever each file is.
  await writeFileAtomic(await checkedTarget(root, join(dir, MANIFEST)), JSON.stringify(item));
  await moveAll(await checkMoves(root, files.map((from) => ({ from, to: join(dir, basename(from)) }))));
  return { item, leftAlone: sidecars.leftAlone };
}

/** Every item in a root's trash, oldest first; manifests that do not check out are named in `problems`. */
export async function listTrash(root: string): Promise<{ items: TrashItem[]; problems: string[] }> {
  const dir = trashDir(root);
  const st = await lstatOrNull(dir);
  if (!st) return { items: [], problems: [] };
  if (!st.isDirectory()) return { items: [], problems: [`${dir}: not a folder; left alone`] };
  const items: TrashItem[] = [];
  const problems: string[] = [];
  for (const id of (await readdir(dir)).sort()) {
    const got = await readManifest(root, id).catch((err: Error) => err);
    if (got instanceof Error) problems.push(`${join(dir, id)}: ${got.message}`);
    else items.push(got);
  }
  items.sort((a, b) => a.trashedAt - b.trashedAt);
  return { items, problems };
}

/** Reads and checks one manifest: names and paths must be plain and inside the root, the entry a valid one. */
async function readManifest(root: string, id: string): Promise<TrashItem> {
  if (unsafeNameReason(id)) throw new ModeldeckError('bad_trash', 'not a trash item');
  const fh = await openSafely(join(trashDir(root), id, MANIFEST), 'read');
  let text: string;
  try {
    const { size } = await fh.stat();
    if (size > MANIFEST_MAX) throw new ModeldeckError('bad_trash', 'manifest too large');
    text = await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
  const x = JSON.parse(text) as Partial<TrashItem>;
  const bad = (why: string) => new ModeldeckError('bad_trash', `not a trash item (${why})`);
  if (unsafeEntryPath(x.path)) throw bad('path');
  if (typeof x.trashedAt !== 'number') throw bad('trashedAt');
  if (!Array.isArray(x.files) || x.files.length === 0 || x.files.length > 100) throw bad('files');
  for (const f of x.files) if (!f || typeof f !== 'object' || unsafeNameReason(f.name) || unsafeEntryPath(f.path)) throw bad('a file');
  let entry: ModelEntry | undefined;
  if (x.entry !== undefined) {
    const checked = checkEntry(x.entry);
    if ('error' in checked) throw bad(`entry: ${checked.error}`);
    if (checked.entry.path !== x.path) throw bad('entry path');
    entry = checked.entry;
  }
  return { id, path: x.path!, trashedAt: x.trashedAt, files: x.files, entry };
}

/** Puts an item's files back where they were (refusing to overwrite anything) and removes the item. */
export async function restoreFromTrash(root: string, id: string): Promise<TrashItem> {
  const item = await readManifest(root, id);
  const dir = join(trashDir(root), id);
  const moves: FileMove[] = [];
  for (const f of item.files) {
    const from = join(dir, f.name);
    // A file already back (an interrupted restore) is not moved again.
    if (!(await lstatOrNull(from))) continue;
    await mkdir(dirname(join(root, f.path)), { recursive: true });
    moves.push({ from, to: join(root, f.path) });
  }
  await moveAll(await checkMoves(root, moves));
  await unlink(join(dir, MANIFEST)).catch(() => undefined);
  await rmdir(dir).catch(() => undefined);
  return item;
}

export function relPath(root: string, abs: string): string {
  return abs.slice(root.length + 1);
}
