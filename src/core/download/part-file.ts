/**
 * The `.part` as the transfer writes it and the hash reads it back, made to
 * outlast a flaky mount. On Google Drive a write or a read can fail for a
 * moment (ENOTCONN, EIO, ESTALE...) while the mount reconnects, and the
 * descriptor may die with the connection. A positioned write or read is
 * idempotent, so after a backoff it is simply done again, on a descriptor
 * opened afresh (shared by every connection: one reopen per outage) after
 * checking that the path still names the same file. Bounded by the same
 * policy as the scan's reads (io/resumable-file.ts); the last failure is
 * thrown as it came, and the transfer keeps the `.part` for `get` to resume.
 */
import type { FileHandle } from 'node:fs/promises';
import { retryTransient } from '../io/retry-transient';
import type { IoRetryOptions } from '../io/resumable-file';
import { openSafely } from '../safe-fs';
import { DownloadError } from './errors';

export class PartFile {
  private reopening: Promise<FileHandle> | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    private readonly identity: { dev: number; ino: number },
    private readonly retry: IoRetryOptions,
  ) {}

  /** Opens an existing `.part` for reading and writing (never through a link: safe-fs). */
  static async open(path: string, retry: IoRetryOptions = {}): Promise<PartFile> {
    const fh = await retryTransient(path, () => openSafely(path, 'update'), retry);
    const st = await fh.stat();
    return new PartFile(path, fh, { dev: st.dev, ino: st.ino }, retry);
  }

  truncate(length: number): Promise<void> {
    return this.again((fh) => fh.truncate(length));
  }

  /** Writes all of `bytes` at `position`. */
  async write(bytes: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      const from = off;
      const { bytesWritten } = await this.again((fh) => fh.write(bytes, from, bytes.length - from, position + from));
      off += bytesWritten;
    }
  }

  read(buf: Uint8Array, at: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return this.again((fh) => fh.read(buf, at, length, position));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }

  /** Runs `op`; after a transient failure again, on the descriptor another caller reopened or on a new one. */
  private again<T>(op: (fh: FileHandle) => Promise<T>): Promise<T> {
    let used: FileHandle | null = null;
    return retryTransient(
      this.path,
      async () => {
        const fh = used === null || this.fh !== used ? this.fh : await this.fresh();
        used = fh;
        return op(fh);
      },
      this.retry,
    );
  }

  /** A descriptor opened after a failure; concurrent callers share one reopen. */
  private fresh(): Promise<FileHandle> {
    if (this.closed) return Promise.reject(new Error(`${this.path}: closed`));
    this.reopening ??= (async () => {
      try {
        const fh = await openSafely(this.path, 'update');
        const st = await fh.stat();
        if (st.dev !== this.identity.dev || st.ino !== this.identity.ino) {
          await fh.close().catch(() => undefined);
          throw new DownloadError('part_changed', `${this.path}: replaced by another file while the mount was away; not written`);
        }
        const old = this.fh;
        this.fh = fh;
        void old.close().catch(() => undefined);
        return fh;
      } finally {
        this.reopening = null;
      }
    })();
    return this.reopening;
  }
}
