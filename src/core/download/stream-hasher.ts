/**
 * The library's hashes computed from bytes fed in file order, as they arrive:
 * the same streams and the same stored forms as the hash engine
 * (`planStreams`, `feedBlock`, `toFileHashes`), so an entry made from a
 * download equals one a scan would make and the next scan opens nothing.
 *
 * AutoV3 needs the safetensors header length, so the streams are planned once
 * the first 8 bytes are in.
 */
import { createDigest, type Digest } from '../hash/digest';
import type { FileHashes, HashName } from '../hash/names';
import { planStreams, toFileHashes, feedBlock, type StreamId, type StreamSpec } from '../hash/streams';
import { checkHeaderLength } from '../safetensors';

export class StreamHasher {
  private streams: Array<{ spec: StreamSpec; digest: Digest }> | null = null;
  private head = Buffer.alloc(0);
  /** Bytes consumed so far (the next byte expected is at this offset). */
  offset = 0;
  /** Set when the header could not be read as safetensors: AutoV3 is skipped, the others go on. */
  warning: string | undefined;

  private constructor(
    private readonly name: string,
    private readonly size: number,
    private readonly hashes: readonly HashName[],
    private readonly safetensors: boolean,
  ) {}

  static async create(name: string, size: number, hashes: readonly HashName[], safetensors: boolean): Promise<StreamHasher> {
    const h = new StreamHasher(name, size, hashes, safetensors);
    // Digests are created up front (BLAKE3 loads WebAssembly); planned once the header is known.
    await h.prepare();
    return h;
  }

  private pendingDigests = new Map<StreamId, Digest>();

  private async prepare(): Promise<void> {
    // Every stream the plan can hold, so `plan()` stays synchronous.
    for (const spec of planStreams({ size: this.size, hashes: this.hashes, tensorDataOffset: this.safetensors ? 8 : undefined })) {
      this.pendingDigests.set(spec.id, await createDigest(spec.algo));
    }
  }

  private plan(): void {
    let tensorDataOffset: number | undefined;
    if (this.safetensors && this.hashes.includes('AutoV3')) {
      try {
        tensorDataOffset = 8 + checkHeaderLength(this.name, this.head.subarray(0, 8), this.size);
      } catch (err) {
        this.warning = (err as Error).message;
      }
    }
    this.streams = planStreams({ size: this.size, hashes: this.hashes, tensorDataOffset }).map((spec) => ({ spec, digest: this.pendingDigests.get(spec.id)! }));
  }

  /** Feeds the bytes at `this.offset`; bytes must come in order. */
  update(bytes: Uint8Array): void {
    if (!this.streams) {
      this.head = Buffer.concat([this.head, bytes.subarray(0, Math.max(0, 8 - this.head.length))]);
      if (this.head.length >= 8 || this.offset + bytes.length >= this.size) this.plan();
      if (!this.streams) {
        // Still under 8 bytes: keep them for the plan (the digests see them once it is made).
        this.buffered.push(Buffer.from(bytes));
        this.offset += bytes.length;
        return;
      }
      const early = this.buffered;
      this.buffered = [];
      let at = 0;
      for (const b of early) {
        this.feed(b, at);
        at += b.length;
      }
    }
    this.feed(bytes, this.offset);
    this.offset += bytes.length;
  }

  private buffered: Buffer[] = [];

  private feed(bytes: Uint8Array, offset: number): void {
    for (const { spec, digest } of this.streams!) feedBlock(spec, (b) => digest.update(b), bytes, offset);
  }

  /** The hashes, once every byte has been fed. */
  result(): FileHashes {
    if (this.offset !== this.size) throw new Error(`hashed ${this.offset} of ${this.size} bytes`);
    if (!this.streams) this.plan();
    const digests: Partial<Record<StreamId, string>> = {};
    for (const { spec, digest } of this.streams!) digests[spec.id] = digest.hex();
    return toFileHashes(digests, this.hashes);
  }
}
