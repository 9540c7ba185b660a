/**
 * The names of what modeldeck keeps in a library root (one place, so the store
 * and the lock agree), and how an index file is opened and read: never through
 * a link, never anything but a regular file of an index's size.
 */
import type { FileHandle } from 'node:fs/promises';
import { ModeldeckError } from '../errors';
import { openSafely } from '../safe-fs';

export const INDEX_DIR = '.modeldeck';
export const SNAPSHOT_FILE = 'index.json';
export const JOURNAL_FILE = 'journal.jsonl';

/** A snapshot or journal larger than this is not ours (50,000 models take about 30 MB). */
const MAX_INDEX_BYTES = 1024 * 1024 * 1024;

/** Which version of a file was read: a change of any of these means someone else wrote it. */
export interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
}

export type WholeRead = { kind: 'missing' } | { kind: 'refused'; reason: string } | { kind: 'ok'; text: string; identity: FileIdentity };

export type Opened = { kind: 'missing' } | { kind: 'refused'; reason: string } | { kind: 'ok'; fh: FileHandle; identity: FileIdentity };

/** Opens an index file for reading, never through a link, never anything but a regular file of an index's size. */
export async function openIndexFile(file: string): Promise<Opened> {
  let fh: FileHandle;
  try {
    fh = await openSafely(file, 'read');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (err instanceof ModeldeckError) return { kind: 'refused', reason: err.message.slice(file.length + 2) };
    throw new ModeldeckError('index_unreadable', `${file}: cannot read the index (${(err as Error).message})`);
  }
  try {
    const st = await fh.stat();
    if (st.size > MAX_INDEX_BYTES) {
      await fh.close();
      return { kind: 'refused', reason: `${st.size} bytes, too large to be an index` };
    }
    return { kind: 'ok', fh, identity: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Reads an index file from `from` to its end. */
export async function readWhole(file: string, from = 0): Promise<WholeRead> {
  const opened = await openIndexFile(file);
  if (opened.kind !== 'ok') return opened;
  const { fh, identity } = opened;
  try {
    return { kind: 'ok', text: (await readBytes(fh, from, Math.max(0, identity.size - from))).toString('utf8'), identity };
  } finally {
    await fh.close();
  }
}

/** `length` bytes of an open file from `from`, or fewer when it ends first. */
export async function readBytes(fh: FileHandle, from: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let n = 0;
  while (n < length) {
    const { bytesRead } = await fh.read(buf, n, length - n, from + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return buf.subarray(0, n);
}

/**
 * Snapshots a first look already read whole (index-peek.ts), so that the
 * store's load that follows parses those bytes instead of reading the file a
 * second time: on a Drive mount at 50 MB/s that second read of a
 * 100,000-model index cost 1.3 s. The store uses them only for the very file
 * it opens (the same inode, size and mtime), and once.
 */
export class ReadSnapshots {
  private readonly byFile = new Map<string, Buffer>();

  keep(identity: FileIdentity, bytes: Buffer): void {
    this.byFile.set(keyOf(identity), bytes);
  }

  /** The bytes read of this very file, given up by this call. */
  take(identity: FileIdentity): Buffer | undefined {
    const key = keyOf(identity);
    const bytes = this.byFile.get(key);
    this.byFile.delete(key);
    return bytes;
  }

  /** Forgets what no load took (the library was already open). */
  clear(): void {
    this.byFile.clear();
  }
}

const keyOf = (i: FileIdentity) => `${i.ino}:${i.size}:${i.mtimeMs}`;
