/**
 * A `.part` seen as a file the hash engine can read while it is still being
 * written: a read waits until the bytes it asks for are on disk (the written
 * prefix has reached them), then reads them back, which comes from the page
 * cache since they were just written. So the engine's worker threads hash
 * the download in file order while the main thread only receives and writes,
 * and a resume's bytes already on disk are simply read first.
 */
import type { BlockSource } from '../hash/hash-engine';
import { DownloadError } from './errors';
import type { PartFile } from './part-file';

export class GrowingPart implements BlockSource {
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;

  /** `written()` is the end of the contiguous prefix written so far. */
  constructor(
    private readonly fh: PartFile,
    readonly file: string,
    readonly size: number,
    private readonly written: () => number,
  ) {}

  /** More bytes are on disk (or the download ended): a waiting read looks again. */
  notify(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The download failed or was cancelled: a waiting read (and every later one) fails with this. */
  fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  async read(buf: Uint8Array, at: number, length: number, position: number): Promise<number> {
    if (length === 0 || position >= this.size) return 0;
    const want = Math.min(this.size, position + length);
    while (this.written() < want) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
    if (this.failure) throw this.failure;
    const { bytesRead } = await this.fh.read(buf, at, want - position, position);
    if (bytesRead === 0) throw new DownloadError('short_body', `${this.file}: shorter on disk than written`);
    return bytesRead;
  }
}
