/**
 * Builds small GGUF files for tests (little-endian, version 2/3 layout with
 * 64-bit counts and lengths): magic, version, tensor count, kv count, the
 * key/values, then tensor infos. No tensor data follows; the probe never reads it.
 */

export type GgufTestValue =
  | { type: 'string'; value: string }
  | { type: 'uint32'; value: number }
  | { type: 'uint64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'array-uint32'; value: number[] }
  | { type: 'array-string'; value: string[] };

export interface GgufTestTensor {
  name: string;
  /** GGUF order: innermost dimension first. */
  dims: number[];
}

export interface GgufTestSpec {
  version?: number;
  kv: Record<string, GgufTestValue>;
  tensors?: GgufTestTensor[];
  /** Override the counts written in the header (to make them lie). */
  tensorCount?: bigint;
  kvCount?: bigint;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
export const ggufString = (s: string) => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(bytes.length), bytes]);
};

function value(v: GgufTestValue): Buffer {
  switch (v.type) {
    case 'string': return Buffer.concat([u32(8), ggufString(v.value)]);
    case 'uint32': return Buffer.concat([u32(4), u32(v.value)]);
    case 'uint64': return Buffer.concat([u32(10), u64(v.value)]);
    case 'bool': return Buffer.concat([u32(7), Buffer.from([v.value ? 1 : 0])]);
    case 'array-uint32': return Buffer.concat([u32(9), u32(4), u64(v.value.length), ...v.value.map(u32)]);
    case 'array-string': return Buffer.concat([u32(9), u32(8), u64(v.value.length), ...v.value.map(ggufString)]);
  }
}

export function buildGguf(spec: GgufTestSpec): Buffer {
  const tensors = spec.tensors ?? [];
  const parts: Buffer[] = [
    Buffer.from('GGUF', 'latin1'),
    u32(spec.version ?? 3),
    u64(spec.tensorCount ?? BigInt(tensors.length)),
    u64(spec.kvCount ?? BigInt(Object.keys(spec.kv).length)),
  ];
  for (const [key, v] of Object.entries(spec.kv)) parts.push(ggufString(key), value(v));
  for (const t of tensors) {
    parts.push(ggufString(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(1 /* F16 */), u64(0));
  }
  return Buffer.concat(parts);
}

/** Raw header pieces for malformed cases. */
export const ggufBytes = { u32, u64 };
