/**
 * Reading a small file that someone else wrote (a sidecar, a preview) without
 * trusting its size: refused unread above the cap, and never more than the cap
 * read even if the file grows between stat and read. Never throws.
 */
import { open } from 'node:fs/promises';

export type CappedRead =
  | { kind: 'ok'; bytes: Buffer }
  /** ENOENT or ENOTDIR. */
  | { kind: 'missing' }
  | { kind: 'not_a_file' }
  /** `size` as stat saw it, or null when the file grew past the cap while being read. */
  | { kind: 'too_large'; size: number | null }
  | { kind: 'unreadable'; error: unknown };

export async function readFileCapped(file: string, maxBytes: number): Promise<CappedRead> {
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { kind: 'not_a_file' };
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
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'unreadable', error: err };
  }
}
