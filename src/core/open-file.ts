import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { FileAccessError, describeFsError } from './errors';
import { describeType } from './safe-fs';

/**
 * Opens a model file for reading; a failure is a FileAccessError with a plain
 * reason ("no such file"...). Links are followed (models reached through a
 * linked folder are the user's layout), but only a regular file is opened:
 * O_NONBLOCK keeps a FIFO planted under a model's name from blocking the open.
 */
export async function openForReading(file: string): Promise<FileHandle> {
  return (await openForReadingWithStat(file)).fh;
}

/** The same, with the stat taken to check the file (one round trip less on a mount where each costs). */
export async function openForReadingWithStat(file: string): Promise<{ fh: FileHandle; st: Stats }> {
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new FileAccessError(file, describeFsError(err), { cause: err });
  }
  const st = await fh.stat().catch(() => null);
  if (!st?.isFile()) {
    await fh.close().catch(() => undefined);
    throw new FileAccessError(file, st ? `${describeType(st)}, not a regular file` : 'cannot be examined');
  }
  return { fh, st };
}
