/**
 * Which byte ranges of a file feed which digest, and how the digests become the
 * six Civitai hashes.
 *
 * One read of the file feeds every stream: each stream takes the part of a
 * block that falls inside its range.
 */
import type { Algo } from './digest';
import type { FileHashes, HashName } from './names';

/** A1111's legacy model_hash: SHA-256 of 64 KiB at 1 MiB. */
export const AUTOV1_OFFSET = 0x100000;
export const AUTOV1_LENGTH = 0x10000;
/** Civitai does not compute AutoV1 for files under 2 MiB (its scanner returns null). */
export const AUTOV1_MIN_SIZE = 0x200000;

export type StreamId = 'sha256' | 'autov1' | 'autov3' | 'blake3' | 'crc32';

export interface StreamSpec {
  id: StreamId;
  algo: Algo;
  /** Byte range [start, end) of the file. */
  start: number;
  end: number;
}

export interface PlanInput {
  size: number;
  hashes: readonly HashName[];
  /** Where a safetensors file's tensor bytes start (8 + header length); absent for other files. */
  tensorDataOffset?: number;
}

export function planStreams({ size, hashes, tensorDataOffset }: PlanInput): StreamSpec[] {
  const want = new Set(hashes);
  const streams: StreamSpec[] = [];
  if (want.has('SHA256') || want.has('AutoV2')) streams.push({ id: 'sha256', algo: 'sha256', start: 0, end: size });
  if (want.has('AutoV1') && size >= AUTOV1_MIN_SIZE) {
    streams.push({ id: 'autov1', algo: 'sha256', start: AUTOV1_OFFSET, end: AUTOV1_OFFSET + AUTOV1_LENGTH });
  }
  if (want.has('AutoV3') && tensorDataOffset !== undefined) {
    streams.push({ id: 'autov3', algo: 'sha256', start: tensorDataOffset, end: size });
  }
  if (want.has('BLAKE3')) streams.push({ id: 'blake3', algo: 'blake3', start: 0, end: size });
  if (want.has('CRC32')) streams.push({ id: 'crc32', algo: 'crc32', start: 0, end: size });
  return streams;
}

/** Byte-swaps an 8-hex CRC-32: Civitai's scanner (.NET Crc32) stores the little-endian bytes. */
export function crc32CivitaiOrder(hex: string): string {
  return hex.match(/../g)!.reverse().join('');
}

/** Turns stream digests into the hashes that were asked for, in Civitai's stored forms. */
export function toFileHashes(digests: Partial<Record<StreamId, string>>, hashes: readonly HashName[]): FileHashes {
  const want = new Set(hashes);
  const out: FileHashes = {};
  const sha = digests.sha256;
  if (sha && want.has('SHA256')) out.SHA256 = sha;
  if (digests.autov1 && want.has('AutoV1')) out.AutoV1 = digests.autov1.slice(0, 8);
  if (sha && want.has('AutoV2')) out.AutoV2 = sha.slice(0, 10);
  if (digests.autov3 && want.has('AutoV3')) {
    out.AutoV3 = digests.autov3.slice(0, 12);
    out.AutoV3Full = digests.autov3;
  }
  if (digests.blake3 && want.has('BLAKE3')) out.BLAKE3 = digests.blake3;
  if (digests.crc32 && want.has('CRC32')) out.CRC32 = crc32CivitaiOrder(digests.crc32);
  return out;
}

/** Feeds the part of a block at file offset `offset` that lies inside the stream's range. */
export function feedBlock(
  stream: StreamSpec,
  update: (bytes: Uint8Array) => void,
  block: Uint8Array,
  offset: number,
): void {
  const lo = Math.max(stream.start, offset);
  const hi = Math.min(stream.end, offset + block.length);
  if (lo < hi) update(block.subarray(lo - offset, hi - offset));
}
