/**
 * A folder held open, so that names inside it are the names inside *that*
 * folder, whatever happens to the path meanwhile.
 *
 * Removing files in a folder someone else can write to (the trash of a shared
 * library) by path has a race: between our check that `trash/<id>` is a real
 * folder and the unlink of `trash/<id>/x`, the folder can be swapped for a
 * link to anywhere, and the unlink would follow it. Node has no `unlinkat`,
 * but on Linux `/proc/self/fd/<fd>/<name>` resolves through the open
 * descriptor to the very folder that was opened (renames and swaps of the
 * path do not change it), and the last component is never followed by
 * `unlink` or `lstat`. Each step down is opened with O_NOFOLLOW|O_DIRECTORY,
 * so a link where a folder should be is refused (ELOOP or ENOTDIR).
 *
 * Without `/proc` (not Linux) the same calls go by path after an lstat of
 * each folder: planted links are still refused, a swap in the instant
 * between check and call is not.
 */
import { constants, existsSync } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ModeldeckError } from '../errors';

const PROC_FD = '/proc/self/fd';
let procUsable: boolean | undefined;

function haveProc(): boolean {
  procUsable ??= process.platform === 'linux' && existsSync(PROC_FD);
  return procUsable;
}

export class PinnedDir {
  private constructor(
    /** The path it was opened by (for messages). */
    readonly shownAs: string,
    private readonly handle: FileHandle | null,
    private readonly fallbackPath: string,
  ) {}

  /** Opens a folder the user named (a library root): links on its path are the user's layout and followed. */
  static async openRoot(path: string): Promise<PinnedDir> {
    if (!haveProc()) {
      if (!(await lstat(path).catch(() => null))) throw new ModeldeckError('not_found', `${path}: no such folder`);
      return new PinnedDir(path, null, path);
    }
    const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY).catch((err) => {
      throw notAFolder(path, err);
    });
    return new PinnedDir(path, fh, path);
  }

  /** A path that names `name` inside this very folder (for lstat, unlink, readdir, rmdir). */
  at(name: string): string {
    return this.handle ? `${PROC_FD}/${this.handle.fd}/${name}` : join(this.fallbackPath, name);
  }

  /** The folder itself, for readdir. */
  get self(): string {
    return this.handle ? `${PROC_FD}/${this.handle.fd}` : this.fallbackPath;
  }

  /** Opens the sub-folder `name`; refuses a link or anything but a folder. */
  async sub(name: string): Promise<PinnedDir> {
    const shown = join(this.shownAs, name);
    if (!this.handle) {
      const st = await lstat(join(this.fallbackPath, name)).catch((err) => {
        throw notAFolder(shown, err);
      });
      if (!st.isDirectory()) throw new ModeldeckError('not_a_folder', `${shown}: not a real folder (a link or a file); left alone`);
      return new PinnedDir(shown, null, join(this.fallbackPath, name));
    }
    const fh = await open(this.at(name), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch((err) => {
      throw notAFolder(shown, err);
    });
    return new PinnedDir(shown, fh, join(this.fallbackPath, name));
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
  }
}

function notAFolder(path: string, err: unknown): ModeldeckError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ModeldeckError('not_found', `${path}: no such folder`);
  if (code === 'ELOOP' || code === 'ENOTDIR') return new ModeldeckError('not_a_folder', `${path}: not a real folder (a link or a file); left alone`);
  return new ModeldeckError('fs', `${path}: ${(err as Error).message}`);
}
