/**
 * Reading a GGUF header: magic "GGUF", version, tensor count, key/value count,
 * the key/value metadata, then the tensor infos (name, dims, type, offset).
 * Layout: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (little-endian;
 * version 1 used 32-bit counts and lengths, versions 2 and 3 use 64-bit).
 *
 * Every count and length comes from the file, so each is checked against the
 * bytes left before it is used; reads go through a small window, never one
 * allocation sized by the file. Caps on keys, tensors, string lengths and total
 * bytes scanned keep a huge-but-valid file cheap: the read stops and the result
 * says `truncated`. A file that breaks the format is a MalformedFileError.
 */
import type { FileHandle } from 'node:fs/promises';
import { FileAccessError, MalformedFileError, describeFsError } from '../errors';
import type { GgufInfo, GgufScalar, GgufValue, TensorShape } from './types';

export const GGUF_LIMITS = {
  /** Keys kept; SD GGUFs have a handful, LLM ones a few dozen. */
  maxKeys: 256,
  /** Tensor infos read for name/shape inference (an SDXL UNet has about 1,700). */
  maxTensors: 4096,
  /** Characters kept of a string value; the rest is skipped, not read. */
  maxStringChars: 1024,
  /** Arrays up to this length are kept; longer ones (tokenizer vocabularies) are summarised. */
  maxArrayItems: 16,
  /** Bytes of header scanned at most; LLM tokenizer arrays take a few MB. */
  maxScanBytes: 32 * 1024 * 1024,
} as const;

/** The spec's limit on key length. */
const MAX_KEY_BYTES = 65_535;
/** GGML_MAX_DIMS is 4; allow some slack for future versions. */
const MAX_DIMS = 8;
const MAX_ARRAY_DEPTH = 4;
const WINDOW_BYTES = 64 * 1024;

const TYPE_NAMES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'];
const STRING = 8;
const ARRAY = 9;
/** Byte size of each fixed-size value type (undefined for string and array). */
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export interface GgufHeader {
  info: GgufInfo;
  /** Tensor shapes in PyTorch order (GGUF stores dims innermost first). */
  tensors: Map<string, TensorShape>;
}

/** True when the first bytes are the GGUF magic. */
export function isGgufMagic(prefix: Buffer): boolean {
  return prefix.length >= 4 && prefix.toString('latin1', 0, 4) === 'GGUF';
}

/** Thrown inside the reader when a cap is reached; not an error of the file. */
class StopReading extends Error {}

export async function readGgufHeaderFrom(fh: FileHandle, file: string, fileSize: number): Promise<GgufHeader> {
  const r = new Reader(fh, file, fileSize);
  const bad = (why: string) => new MalformedFileError(file, `not a valid GGUF file: ${why}`);
  if (fileSize < 4) throw bad(`${fileSize} bytes, too short for the magic`);
  await r.need(4);
  if (!isGgufMagic(r.bytes(4))) throw bad('it does not start with "GGUF"');

  await r.need(4);
  const versionBytes = r.bytes(4);
  const version = versionBytes.readUInt32LE(0);
  if (version > 0xffff && [1, 2, 3].includes(versionBytes.readUInt32BE(0))) throw bad('big-endian GGUF is not supported');
  if (version < 1 || version > 3) throw bad(`unsupported version ${version}`);
  r.wide = version >= 2;

  const tensorCount = await r.count('tensor count', 16);
  const kvCount = await r.count('key/value count', 9);
  const info: GgufInfo = { version, tensorCount, kvCount, metadata: {}, truncated: false };
  const tensors = new Map<string, TensorShape>();

  try {
    for (let i = 0; i < kvCount; i++) {
      if (i >= GGUF_LIMITS.maxKeys) throw new StopReading();
      const key = await r.string(MAX_KEY_BYTES, 'key');
      const type = await r.u32();
      const value = await r.value(type, 0);
      // defineProperty, not assignment: a key named "__proto__" must stay a plain key.
      Object.defineProperty(info.metadata, key, { value, enumerable: true, writable: true, configurable: true });
    }
    for (let i = 0; i < tensorCount; i++) {
      if (i >= GGUF_LIMITS.maxTensors) throw new StopReading();
      const name = await r.string(MAX_KEY_BYTES, 'tensor name');
      const nDims = await r.u32();
      if (nDims > MAX_DIMS) throw bad(`tensor "${name.slice(0, 80)}" has ${nDims} dimensions`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(r.wide ? await r.u64Number('tensor dimension') : await r.u32());
      await r.skip(4 + 8); // ggml type, data offset: not needed to probe
      tensors.set(name, { shape: dims.reverse() });
    }
  } catch (err) {
    if (!(err instanceof StopReading)) throw err;
    info.truncated = true;
  }
  return { info, tensors };
}

/** A bounded little-endian reader over a window of the file. */
class Reader {
  pos = 0;
  /** Version 2+ uses 64-bit counts and string lengths. */
  wide = true;
  private window = Buffer.alloc(0);
  private windowStart = 0;
  private readonly limit: number;

  constructor(
    private readonly fh: FileHandle,
    private readonly file: string,
    private readonly fileSize: number,
  ) {
    this.limit = Math.min(fileSize, GGUF_LIMITS.maxScanBytes);
  }

  private bad(why: string): MalformedFileError {
    return new MalformedFileError(this.file, `not a valid GGUF file: ${why}`);
  }

  /** Makes bytes [pos, pos+n) available in the window. */
  async need(n: number): Promise<void> {
    if (this.pos + n > this.fileSize) throw this.bad(`truncated at byte ${this.pos} (the file has ${this.fileSize})`);
    if (this.pos + n > this.limit) throw new StopReading();
    if (this.pos >= this.windowStart && this.pos + n <= this.windowStart + this.window.length) return;
    const length = Math.min(Math.max(n, WINDOW_BYTES), this.limit - this.pos);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.fh.read(buf, done, length - done, this.pos + done));
      } catch (err) {
        throw new FileAccessError(this.file, describeFsError(err), { cause: err });
      }
      if (bytesRead === 0) throw this.bad(`truncated at byte ${this.pos + done}`);
      done += bytesRead;
    }
    this.window = buf;
    this.windowStart = this.pos;
  }

  /** Takes n bytes already made available by `need`. */
  bytes(n: number): Buffer {
    const at = this.pos - this.windowStart;
    this.pos += n;
    return this.window.subarray(at, at + n);
  }

  async skip(n: number): Promise<void> {
    if (this.pos + n > this.fileSize) throw this.bad(`truncated at byte ${this.pos} (the file has ${this.fileSize})`);
    this.pos += n;
  }

  async u32(): Promise<number> {
    await this.need(4);
    return this.bytes(4).readUInt32LE(0);
  }

  async u64(): Promise<bigint> {
    await this.need(8);
    return this.bytes(8).readBigUInt64LE(0);
  }

  /** A 64-bit (or, in version 1, 32-bit) size that must fit what is left of the file. */
  async length(what: string, unitBytes = 1): Promise<number> {
    const n = this.wide ? await this.u64() : BigInt(await this.u32());
    const left = BigInt(this.fileSize - this.pos);
    if (n * BigInt(unitBytes) > left) throw this.bad(`${what} ${n} does not fit in the ${left} bytes left`);
    return Number(n);
  }

  /** A header count; each item takes at least `minItemBytes`. */
  count(what: string, minItemBytes: number): Promise<number> {
    return this.length(what, minItemBytes);
  }

  async u64Number(what: string): Promise<number> {
    const n = await this.u64();
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw this.bad(`${what} ${n} is too large`);
    return Number(n);
  }

  /** A length-prefixed UTF-8 string; only the first `maxStringChars` bytes are read. */
  async string(maxBytes: number, what: string): Promise<string> {
    const n = await this.length(`${what} length`);
    if (n > maxBytes) throw this.bad(`${what} length ${n} exceeds ${maxBytes}`);
    const keep = Math.min(n, GGUF_LIMITS.maxStringChars);
    await this.need(keep);
    const text = this.bytes(keep).toString('utf8');
    await this.skip(n - keep);
    return keep < n ? `${text}…` : text;
  }

  async value(type: number, depth: number): Promise<GgufValue> {
    if (type === STRING) return this.string(Number.MAX_SAFE_INTEGER, 'string');
    if (type === ARRAY) return this.array(depth);
    return this.scalar(type);
  }

  private async scalar(type: number): Promise<GgufScalar> {
    const size = FIXED_SIZE[type];
    if (size === undefined) throw this.bad(`unknown value type ${type}`);
    await this.need(size);
    const b = this.bytes(size);
    switch (type) {
      case 0: return b.readUInt8(0);
      case 1: return b.readInt8(0);
      case 2: return b.readUInt16LE(0);
      case 3: return b.readInt16LE(0);
      case 4: return b.readUInt32LE(0);
      case 5: return b.readInt32LE(0);
      case 6: return b.readFloatLE(0);
      case 7: return b.readUInt8(0) !== 0;
      case 10: return safeNumber(b.readBigUInt64LE(0));
      case 11: return safeNumber(b.readBigInt64LE(0));
      default: return b.readDoubleLE(0);
    }
  }

  private async array(depth: number): Promise<GgufValue> {
    if (depth >= MAX_ARRAY_DEPTH) throw this.bad(`arrays nested more than ${MAX_ARRAY_DEPTH} deep`);
    const itemType = await this.u32();
    const itemName = TYPE_NAMES[itemType];
    if (itemName === undefined) throw this.bad(`unknown array item type ${itemType}`);
    const size = FIXED_SIZE[itemType];
    // Strings take at least their length prefix, arrays their type and count.
    const minItem = size ?? (itemType === STRING ? (this.wide ? 8 : 4) : this.wide ? 12 : 8);
    const length = await this.length('array length', minItem);

    if (length <= GGUF_LIMITS.maxArrayItems && itemType !== ARRAY) {
      const items: GgufScalar[] = [];
      for (let i = 0; i < length; i++) items.push((await this.value(itemType, depth + 1)) as GgufScalar);
      return items;
    }
    if (size !== undefined) {
      await this.skip(length * size);
    } else {
      for (let i = 0; i < length; i++) {
        if (itemType === STRING) await this.skip(await this.length('string length'));
        else await this.array(depth + 1);
      }
    }
    return { type: 'array', itemType: itemName, length };
  }
}

/** JSON has no 64-bit integers: keep exact values as numbers when safe, else as decimal text. */
function safeNumber(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}
