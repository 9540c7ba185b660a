/**
 * Reading a safetensors header without reading the tensors.
 *
 * Layout: an unsigned 64-bit little-endian length N, then N bytes of UTF-8 JSON
 * (starting with `{`, possibly right-padded with spaces), then the tensor bytes.
 * The JSON maps tensor names to `{dtype, shape, data_offsets}` (offsets relative
 * to the start of the tensor bytes) and may hold a `__metadata__` map of strings.
 *
 * Everything here is defensive: a hostile or truncated file yields a
 * MalformedFileError with a one-line reason, and the length is checked against
 * the file size and a hard cap before anything is allocated.
 */
import { openForReading } from './open-file';
import type { FileHandle } from 'node:fs/promises';
import { FileAccessError, MalformedFileError, describeFsError } from './errors';

/** The safetensors format's own limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

// By name only, in a module that loads nothing (the hash CLI's lean start-up uses it).
export { SAFETENSORS_EXTENSIONS, hasSafetensorsExtension } from './safetensors-name';

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** [begin, end) relative to the start of the tensor bytes. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** N, the JSON header's length in bytes. */
  headerLength: number;
  /** Where the tensor bytes start in the file: 8 + N. AutoV3 hashes from here to the end. */
  dataOffset: number;
  /** `__metadata__`, with every value kept as the string it is in the file. */
  metadata: Record<string, string>;
  tensors: Map<string, TensorInfo>;
}

/**
 * Validates the 8-byte length prefix against the file size and the format's cap.
 * Returns N. Used by the hashing engine, which needs only where the tensors start.
 */
export function checkHeaderLength(file: string, prefix: Buffer, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new MalformedFileError(file, `not a safetensors file: ${fileSize} bytes, too short for the 8-byte header length`);
  }
  const n = prefix.readBigUInt64LE(0);
  if (n < 2n) throw new MalformedFileError(file, `not a safetensors file: header length ${n} is too small`);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new MalformedFileError(file, `not a safetensors file: header length ${n} exceeds the 100 MB limit`);
  }
  if (n > BigInt(fileSize - 8)) {
    throw new MalformedFileError(
      file,
      `truncated or not a safetensors file: header length ${n} is larger than the ${fileSize - 8} bytes after the length`,
    );
  }
  return Number(n);
}

/** Reads and validates the header of an open file. */
export async function readSafetensorsHeaderFrom(
  fh: FileHandle,
  file: string,
  fileSize: number,
): Promise<SafetensorsHeader> {
  const prefix = Buffer.alloc(8);
  // A file shorter than the prefix gets checkHeaderLength's "too short" reason, not "truncated".
  if (fileSize >= 8) await readExactly(fh, prefix, 0, file);
  const headerLength = checkHeaderLength(file, prefix, fileSize);
  const json = Buffer.alloc(headerLength);
  await readExactly(fh, json, 8, file);
  return parseHeaderJson(file, json, headerLength, fileSize);
}

/** Opens `file` and reads its safetensors header. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await openForReading(file);
  try {
    const { size } = await fh.stat();
    return await readSafetensorsHeaderFrom(fh, file, size);
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: FileHandle, buf: Buffer, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, done, buf.length - done, position + done));
    } catch (err) {
      throw new FileAccessError(file, describeFsError(err), { cause: err });
    }
    if (bytesRead === 0) throw new MalformedFileError(file, 'truncated safetensors header');
    done += bytesRead;
  }
}

function parseHeaderJson(file: string, json: Buffer, headerLength: number, fileSize: number): SafetensorsHeader {
  if (json[0] !== 0x7b) throw new MalformedFileError(file, 'not a safetensors file: the header does not start with "{"');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new MalformedFileError(file, `invalid safetensors header JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MalformedFileError(file, 'invalid safetensors header: not a JSON object');
  }
  const dataLength = fileSize - 8 - headerLength;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new MalformedFileError(file, 'invalid safetensors header: __metadata__ is not an object');
      }
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        // The format says strings; some writers put numbers. Keep them as text rather than fail.
        metadata[key] = typeof v === 'string' ? v : JSON.stringify(v);
      }
      continue;
    }
    tensors.set(name, parseTensor(file, name, value, dataLength));
  }
  return { headerLength, dataOffset: 8 + headerLength, metadata, tensors };
}

function parseTensor(file: string, name: string, value: unknown, dataLength: number): TensorInfo {
  const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  const bad = (why: string) => new MalformedFileError(file, `invalid safetensors header: tensor "${name.slice(0, 80)}" ${why}`);
  if (t === null || typeof t !== 'object') throw bad('is not an object');
  if (typeof t.dtype !== 'string') throw bad('has no dtype');
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('has an invalid shape');
  const offsets = t.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw bad('has invalid data_offsets');
  }
  if (offsets[1] > dataLength) throw bad(`ends at byte ${offsets[1]}, past the ${dataLength} tensor bytes (truncated file?)`);
  return { dtype: t.dtype, shape: t.shape as number[], dataOffsets: [offsets[0], offsets[1]] };
}
