/**
 * Reading a small file that someone else wrote (a sidecar, a preview) without
 * trusting it: never through a symbolic link, never anything but a regular file
 * (a FIFO would block the read forever), refused unread above the cap, and
 * never more than the cap read even if the file grows between stat and read.
 * Never throws.
 */
import { UnsafeFileError, openSafely } from './safe-fs';

export type CappedRead =
  | { kind: 'ok'; bytes: Buffer }
  /** ENOENT or ENOTDIR. */
  | { kind: 'missing' }
  /** A symbolic link, a FIFO, a folder...: `reason` says which. */
  | { kind: 'not_a_file'; reason: string }
  /** `size` as stat saw it, or null when the file grew past the cap while being read. */
  | { kind: 'too_large'; size: number | null }
  | { kind: 'unreadable'; error: unknown };

export async function readFileCapped(file: string, maxBytes: number): Promise<CappedRead> {
  try {
    const fh = await openSafely(file, 'read');
    try {
      const st = await fh.stat();
      if (st.size > maxBytes) return { kind: 'too_large', size: st.size };
      const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      if (n > maxBytes) return { kind: 'too_large', size: null };
      return { kind: 'ok', bytes: buf.subarray(0, n) };
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof UnsafeFileError) return { kind: 'not_a_file', reason: err.reason };
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'EISDIR') return { kind: 'not_a_file', reason: 'a folder, not a regular file' };
    return { kind: 'unreadable', error: err };
  }
}
