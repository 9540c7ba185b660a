import { open, type FileHandle } from 'node:fs/promises';
import { FileAccessError, describeFsError } from './errors';

/** Opens a file for reading; a failure is a FileAccessError with a plain reason ("no such file"...). */
export async function openForReading(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (err) {
    throw new FileAccessError(file, describeFsError(err), { cause: err });
  }
}
