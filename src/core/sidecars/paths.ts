/**
 * Where sidecars may be written, and how they are written.
 *
 * Every file this module writes (`.civitai.info`, `.json`, previews, their
 * temporary files) goes through `checkedTarget`: the target must lie inside the
 * library root both as written and after resolving symlinks of its folder, so a
 * model reached through a symlinked folder that points elsewhere cannot make us
 * write outside the root. Names are checked, never taken from Civitai: sidecar
 * names derive from the model file's own name (`base` + suffix).
 */
import { randomBytes } from 'node:crypto';
import { realpath, rename, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, parse, relative, resolve } from 'node:path';
import { ModeldeckError, describeFsError } from '../errors';
import { describeType, lstatOrNull, openSafely } from '../safe-fs';

/** Most file systems (ext4, NTFS, Drive's FUSE) cap a name at 255 bytes. */
export const MAX_NAME_BYTES = 255;

/** A write that would leave the library root, or a name that is not a plain file name. */
export class UnsafePathError extends ModeldeckError {
  constructor(readonly target: string, reason: string, options?: { cause?: unknown }) {
    super('unsafe_path', `${target}: refused to write: ${reason}`, options);
  }
}

/** A sidecar or preview that could not be written (I/O error, bad download...). */
export class SidecarWriteError extends ModeldeckError {
  constructor(readonly target: string, reason: string, options?: { cause?: unknown }) {
    super('sidecar_write', `${target}: ${reason}`, options);
  }
}

/** `dir/NAME.ext` → `dir/NAME`: every peer tool strips only the last extension (formats §0). */
export function sidecarBase(modelPath: string): string {
  const p = parse(modelPath);
  return join(p.dir, p.name);
}

/** Why `name` is not a plain, safe file name, or null when it is. */
export function unsafeNameReason(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return 'empty or dot name';
  if (/[/\\]/.test(name)) return 'file name contains a path separator';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'file name contains a control character';
  if (name.includes('..')) return 'file name contains ".."';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `file name longer than ${MAX_NAME_BYTES} bytes`;
  return null;
}

/**
 * A name from elsewhere (Civitai, a user) made safe to use as one file name:
 * separators, control characters and `..` replaced, length capped on a
 * character boundary. Never returns an empty or dot name.
 */
export function sanitizeFileName(name: string, maxBytes = MAX_NAME_BYTES): string {
  // eslint-disable-next-line no-control-regex
  let s = name.replace(/[/\\\u0000-\u001f\u007f]/g, '_').replace(/\.{2,}/g, '_').trim();
  if (s === '' || s === '.') s = '_';
  while (Buffer.byteLength(s, 'utf8') > maxBytes) s = Array.from(s).slice(0, -1).join('');
  return s;
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The real path to write `target` at, after checking that it stays inside
 * `root`: lexically (resolve + relative), then again with the parent folder's
 * symlinks resolved against the root's real path. Throws UnsafePathError.
 * The target itself may be a symlink: writes replace it by rename, never follow it.
 */
export async function checkedTarget(root: string, target: string): Promise<string> {
  const absRoot = resolve(root);
  const abs = resolve(target);
  const name = basename(abs);
  const bad = unsafeNameReason(name);
  if (bad) throw new UnsafePathError(target, bad);
  if (abs === absRoot || !inside(absRoot, abs)) throw new UnsafePathError(target, `outside the library root ${absRoot}`);
  let realRoot: string;
  let realParent: string;
  try {
    realRoot = await realpath(absRoot);
    realParent = await realpath(dirname(abs));
  } catch (err) {
    // The cause tells a mount failing for a moment (retried by the writers) from a folder that is not there.
    throw new UnsafePathError(target, `cannot resolve its folder (${describeFsError(err)})`, { cause: err });
  }
  if (!inside(realRoot, realParent)) {
    throw new UnsafePathError(target, `its folder resolves to ${realParent}, outside the library root ${realRoot} (a symlinked folder?)`);
  }
  return join(realParent, name);
}

/**
 * Writes `data` at `target` atomically: a temporary file in the same folder
 * (so the rename never crosses devices), flushed, then renamed over the
 * target. Readers see the old file or the new one, never half of one; a
 * failure removes the temporary file. `target` must come from `checkedTarget`.
 * `sync: false` skips the fsync (a file only a process crash must survive,
 * rewritten a few times a second: a download's state).
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: { sync?: boolean } = {}): Promise<void> {
  // A sidecar that is a link (or a FIFO, a folder) is someone else's arrangement: left alone, never replaced or written through.
  const existing = await lstatOrNull(target).catch(() => null);
  if (existing && !existing.isFile()) throw new SidecarWriteError(target, `${describeType(existing)}; left alone`);
  const tmp = tempPathFor(target);
  let written = false;
  try {
    const fh = await openSafely(tmp, 'create');
    try {
      await fh.writeFile(data);
      if (options.sync !== false) await fh.sync().catch(() => undefined); // some FUSE mounts refuse fsync; the rename still orders the write
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    written = true;
  } catch (err) {
    throw new SidecarWriteError(target, `cannot write (${describeFsError(err)})`, { cause: err });
  } finally {
    if (!written) await removeTemp(tmp);
    else await removeStrandedTemps();
  }
}

/**
 * Temporary files a dropped mount did not let us remove. The target never saw
 * them (only a finished file is renamed onto it); they are removed after the
 * next write that works, when the mount answers again.
 */
const strandedTemps = new Set<string>();

async function removeTemp(tmp: string): Promise<void> {
  try {
    await unlink(tmp);
    strandedTemps.delete(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') strandedTemps.delete(tmp);
    else strandedTemps.add(tmp);
  }
}

async function removeStrandedTemps(): Promise<void> {
  await Promise.all([...strandedTemps].map(removeTemp));
}

/** A short hidden name beside `target` (short so that a long model name still fits in 255 bytes). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.mdk-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}
