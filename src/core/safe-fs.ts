/**
 * Opening files in a library folder that strangers may write to (a shared
 * Drive folder, an extracted archive, a pod's volume) without being steered by
 * what they planted there.
 *
 * - Nothing is opened through a symbolic link in its last path component
 *   (O_NOFOLLOW): a `journal.jsonl` linked to `~/.bashrc` is refused, not
 *   appended to.
 * - Nothing but a regular file is opened: O_NONBLOCK keeps a planted FIFO from
 *   blocking the open (and with it one of libuv's four fs threads), and the
 *   descriptor is checked with fstat before a byte is read or written.
 * - New files are created with O_EXCL under names no one can guess, so a link
 *   planted at a temporary name cannot redirect the write.
 * - The folders modeldeck owns (`.modeldeck/` and what it makes inside) are
 *   checked with lstat to be real folders.
 * Every refusal is one line naming the path and, for a link, where it points.
 */
import { constants, type Stats, closeSync, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import { ModeldeckError } from './errors';

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } = constants;

/**
 * How a file is opened: read it, append to it (created when missing), create it
 * new (never an existing path), or update an existing one in place (a download's
 * `.part`, written at positions).
 */
export type SafeOpenMode = 'read' | 'append' | 'create' | 'update';

const FLAGS: Record<SafeOpenMode, number> = {
  read: O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
  append: O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK,
  create: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK,
  update: O_RDWR | O_NOFOLLOW | O_NONBLOCK,
};

/** A path modeldeck will not open or write through: a symbolic link, a FIFO, a device, a folder where a file belongs. */
export class UnsafeFileError extends ModeldeckError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super('unsafe_file', `${path}: refused: ${reason}`);
  }
}

/** Opens `path` without following a link and only if it is (or, created now, becomes) a regular file. */
export async function openSafely(path: string, mode: SafeOpenMode, permissions = 0o644): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, FLAGS[mode], permissions);
  } catch (err) {
    throw refusalFor(path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UnsafeFileError(path, `${describeType(st)}, not a regular file`);
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
  return fh;
}

/** The synchronous form of `openSafely`, for the index journal (a line must be on disk before the scan goes on). */
export function openSafelySync(path: string, mode: SafeOpenMode, permissions = 0o644): number {
  let fd: number;
  try {
    fd = openSync(path, FLAGS[mode], permissions);
  } catch (err) {
    throw refusalFor(path, err);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UnsafeFileError(path, `${describeType(st)}, not a regular file`);
  }
  return fd;
}

/**
 * Makes sure `dir` is a real folder (created when missing, its parent must
 * exist): a symlink or a file planted in its place is refused, so nothing
 * modeldeck writes "inside" it can land elsewhere.
 */
export async function ensureRealDir(dir: string): Promise<void> {
  if (isOwnDir(dir, await lstatOrNull(dir))) return;
  await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  // Someone may have raced us with a link between the lstat and the mkdir.
  if (!(await lstat(dir)).isDirectory()) throw new UnsafeFileError(dir, 'replaced by something other than a folder while being created');
}

/** The synchronous form, for the journal's first append. */
export function ensureRealDirSync(dir: string): void {
  if (isOwnDir(dir, lstatOrNullSync(dir))) return;
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (!lstatSync(dir).isDirectory()) throw new UnsafeFileError(dir, 'replaced by something other than a folder while being created');
}

/** True when `st` is a folder, false when nothing is there; anything else at `dir` is refused. */
function isOwnDir(dir: string, st: Stats | null): boolean {
  if (!st) return false;
  if (st.isDirectory()) return true;
  if (st.isSymbolicLink()) throw new UnsafeFileError(dir, `a symbolic link (to ${safeReadlinkSync(dir)}) where modeldeck keeps its own folder; remove the link`);
  throw new UnsafeFileError(dir, `${describeType(st)} where modeldeck keeps its own folder`);
}

function lstatOrNullSync(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** What lstat says a path is, or null when it does not exist. */
export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** `a symbolic link (to X)`, `a FIFO`, ...: how a refusal names what it found. */
export function describeType(st: { isSymbolicLink(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * ELOOP from O_NOFOLLOW means the last component is a link; ENXIO is a FIFO
 * opened for writing with no reader. (Error paths only: the readlink that
 * names the target may be synchronous.)
 */
function refusalFor(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' || code === 'EMLINK') return new UnsafeFileError(path, `a symbolic link (to ${safeReadlinkSync(path)}); modeldeck does not follow links it did not make`);
  if (code === 'ENXIO' || code === 'ENODEV') return new UnsafeFileError(path, 'a FIFO or device, not a regular file');
  return err;
}

function safeReadlinkSync(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}
