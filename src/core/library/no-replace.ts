/**
 * Giving a file a new name without ever replacing a file at that name.
 *
 * Node has no `renameat2(RENAME_NOREPLACE)`, and `rename` replaces whatever
 * is at the target: a file created there between our check and the rename
 * would be lost. `link(2)` never replaces (it fails with EEXIST, decided by
 * the kernel at the moment of the call), so on one file system the move is
 * `link(from, to)` then `unlink(from)`: no byte read, the same inode, and for
 * a moment the file has both names (a crash then leaves it reachable at both,
 * which the scan sees as one file reached twice, never a loss).
 *
 * Where hard links are refused (vfat, exFAT, some FUSE mounts such as
 * Drive's, `fs.protected_hardlinks` on a file of another user) the move falls
 * back to `rename` after one more check: that fallback keeps the small race.
 */
import { link, rename, unlink } from 'node:fs/promises';
import { ModeldeckError, describeFsError } from '../errors';
import { lstatOrNull } from '../safe-fs';

/** Why a link was refused where a rename may still work. */
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EACCES', 'EINVAL']);

/**
 * Renames `from` to `to` unless something is at `to` (then `exists`).
 * Resolves `'cross-device'` when the two are on different file systems (the
 * caller copies instead). `how` says which way it went (the tests check it).
 */
export async function renameNoReplace(from: string, to: string): Promise<'linked' | 'renamed' | 'cross-device'> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw new ModeldeckError('exists', `${to}: already exists; nothing was moved`);
    if (code === 'EXDEV') return 'cross-device';
    if (!LINK_UNSUPPORTED.has(code)) throw new ModeldeckError('move_failed', `${from} → ${to}: ${describeFsError(err)}`, { cause: err });
    return renameChecked(from, to);
  }
  try {
    await unlink(from);
  } catch (err) {
    // The old name cannot go (a read-only source folder): take the new one back, so nothing has moved.
    await unlink(to).catch(() => undefined);
    throw new ModeldeckError('move_failed', `${from}: ${describeFsError(err)}; nothing was moved`, { cause: err });
  }
  return 'linked';
}

async function renameChecked(from: string, to: string): Promise<'renamed' | 'cross-device'> {
  if (await lstatOrNull(to)) throw new ModeldeckError('exists', `${to}: already exists; nothing was moved`);
  try {
    await rename(from, to);
    return 'renamed';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') return 'cross-device';
    throw new ModeldeckError('move_failed', `${from} → ${to}: ${describeFsError(err)}`, { cause: err });
  }
}
