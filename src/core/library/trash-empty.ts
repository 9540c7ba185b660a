/**
 * Emptying a root's trash for good: the plan (which items, how many files,
 * how many bytes) and the removal.
 *
 * The trash folder can be written by anyone who shares the library, so
 * nothing here trusts it: which items exist comes from listing the folder,
 * an item's size from the files actually in its folder (never from its
 * manifest), and every removal goes through folders held open with
 * O_NOFOLLOW (pinned-dir.ts): only names directly inside
 * `<root>/.modeldeck/trash/<id>/` are unlinked, a link is removed as a link
 * (never followed), a folder inside an item is left alone and named.
 *
 * Items whose manifest does not check out (a crash between the folder and
 * its manifest, an emptying cut short, a planted folder) are in the trash
 * folder all the same: a full empty removes them too; an age filter leaves
 * them (their age is not known).
 */
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ModeldeckError } from '../errors';
import { unsafeNameReason } from '../sidecars/paths';
import { listTrash, trashDir, TRASH_DIR } from './file-moves';
import { INDEX_DIR } from './index-files';
import { PinnedDir } from './pinned-dir';

const MANIFEST = 'item.json';

export interface TrashEmptyItem {
  root: string;
  id: string;
  /** The model's original path (null for an item whose manifest did not check out). */
  path: string | null;
  trashedAt: number | null;
  /** Files in the item's folder besides its manifest (the model, its sidecars and previews). */
  files: number;
  bytes: number;
}

export interface TrashEmptyOptions {
  /** Only items trashed before this time (ms since the epoch). */
  before?: number;
  /** Only these item ids (those shown to the user); others stay. */
  only?: ReadonlySet<string>;
}

export interface TrashEmptyReport {
  items: TrashEmptyItem[];
  files: number;
  bytes: number;
  /** Whatever was left alone, and why. */
  problems: string[];
}

/** What emptying `root`'s trash with these options would remove. Reads folders only. */
export async function planTrashEmpty(root: string, options: TrashEmptyOptions = {}): Promise<TrashEmptyReport> {
  return walk(root, options, false);
}

/** Removes what `planTrashEmpty` lists (as it is now); the caller holds the root's lock. */
export async function emptyTrash(root: string, options: TrashEmptyOptions = {}): Promise<TrashEmptyReport> {
  return walk(root, options, true);
}

async function walk(root: string, options: TrashEmptyOptions, remove: boolean): Promise<TrashEmptyReport> {
  const report: TrashEmptyReport = { items: [], files: 0, bytes: 0, problems: [] };
  const { items } = await listTrash(root);
  const byId = new Map(items.map((i) => [i.id, i]));
  const opened: PinnedDir[] = [];
  try {
    const top = await PinnedDir.openRoot(root);
    opened.push(top);
    const meta = await top.sub(INDEX_DIR).catch(missingIsEmpty);
    if (!meta) return report;
    opened.push(meta);
    const trash = await meta.sub(TRASH_DIR).catch(missingIsEmpty);
    if (!trash) return report;
    opened.push(trash);
    for (const id of (await readdir(trash.self)).sort()) {
      const item = byId.get(id);
      if (unsafeNameReason(id)) continue;
      if (options.only && !options.only.has(id)) continue;
      // An item without a readable manifest has no known age: an age filter leaves it.
      if (!item && options.before !== undefined) continue;
      if (item && options.before !== undefined && item.trashedAt >= options.before) continue;
      const entry = await handleItem(trash, id, remove).catch((err: Error) => err);
      if (entry instanceof Error) {
        // PinnedDir's messages start with the folder they are about.
        report.problems.push(entry instanceof ModeldeckError ? entry.message : `${join(trashDir(root), id)}: ${entry.message}`);
        continue;
      }
      report.problems.push(...entry.leftAlone.map((n) => `${join(trashDir(root), id, n)}: a folder inside a trash item; left alone`));
      report.items.push({ root, id, path: item?.path ?? null, trashedAt: item?.trashedAt ?? null, files: entry.files, bytes: entry.bytes });
      report.files += entry.files;
      report.bytes += entry.bytes;
    }
  } catch (err) {
    if (err instanceof ModeldeckError) throw new ModeldeckError(err.code, `${err.message}; the trash was not emptied`);
    throw err;
  } finally {
    for (const d of opened.reverse()) await d.close();
  }
  return report;
}

function missingIsEmpty(err: unknown): null {
  if (err instanceof ModeldeckError && err.code === 'not_found') return null;
  throw err;
}

/** One item folder: counts (and with `remove`, unlinks) the names directly inside it, the manifest first. */
async function handleItem(trash: PinnedDir, id: string, remove: boolean): Promise<{ files: number; bytes: number; leftAlone: string[] }> {
  const dir = await trash.sub(id);
  try {
    const names = (await readdir(dir.self)).sort((a, b) => (a === MANIFEST ? -1 : b === MANIFEST ? 1 : a < b ? -1 : 1));
    let files = 0;
    let bytes = 0;
    const leftAlone: string[] = [];
    for (const name of names) {
      const st = await lstat(dir.at(name)).catch(() => null);
      if (!st) continue;
      if (st.isDirectory()) {
        leftAlone.push(name);
        continue;
      }
      if (name !== MANIFEST) {
        files++;
        if (st.isFile()) bytes += st.size;
      }
      // The manifest goes first: an emptying cut short leaves files no restore would put back half.
      if (remove) await unlink(dir.at(name));
    }
    // rmdir by name in the pinned trash folder: a link put in the item's place is not a folder (ENOTDIR).
    if (remove && leftAlone.length === 0) await rmdir(trash.at(id));
    return { files, bytes, leftAlone };
  } finally {
    await dir.close();
  }
}
