/**
 * Builds real safetensors files for tests: the 8-byte little-endian header
 * length, the JSON header (space-padded to 8 bytes, as writers do), then the
 * tensor bytes, each tensor `fill`ed (zero by default) unless given `data`.
 */
import { writeFile } from 'node:fs/promises';

/** Bytes per element of the safetensors dtypes. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

export interface TensorSpec {
  dtype: string;
  shape: number[];
  /** Exact bytes for this tensor; must be shape × dtype size long. */
  data?: Buffer;
}

export interface SafetensorsSpec {
  metadata?: Record<string, string>;
  tensors: Record<string, TensorSpec>;
}

export function tensorByteLength(t: TensorSpec): number {
  const per = DTYPE_BYTES[t.dtype];
  if (per === undefined) throw new Error(`unknown dtype ${t.dtype}`);
  return t.shape.reduce((a, b) => a * b, 1) * per;
}

/** The whole file as a Buffer. `fill` is the byte value of tensors given without `data`. */
export function buildSafetensors(spec: SafetensorsSpec, fill = 0): Buffer {
  const header: Record<string, unknown> = {};
  if (spec.metadata) header.__metadata__ = spec.metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(spec.tensors)) {
    const length = tensorByteLength(t);
    if (t.data && t.data.length !== length) throw new Error(`tensor ${name}: data is ${t.data.length} bytes, shape needs ${length}`);
    chunks.push(t.data ?? Buffer.alloc(length, fill));
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, ...chunks]);
}

/** Writes `buildSafetensors(spec, fill)` to `path`. */
export async function writeSafetensors(path: string, spec: SafetensorsSpec, fill = 0): Promise<void> {
  await writeFile(path, buildSafetensors(spec, fill));
}

/** A file that starts with a raw 8-byte length and then arbitrary bytes, for malformed-header tests. */
export function rawSafetensors(headerLength: bigint, rest: Buffer | string): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength);
  return Buffer.concat([prefix, typeof rest === 'string' ? Buffer.from(rest, 'utf8') : rest]);
}
