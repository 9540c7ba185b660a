/**
 * The engine's read ring: 3 shared buffers of 2 MiB. Its own module so that
 * prestart.ts can allocate the ring before the engine is loaded. Why these
 * sizes: hash-engine.ts and docs/benchmarks.md, "Block size".
 */
export const BLOCK_SIZE = 2 * 1024 * 1024;
export const SLOT_COUNT = 3;

export function allocateRing(blockSize: number, slotCount: number): SharedArrayBuffer[] {
  return Array.from({ length: Math.max(2, slotCount) }, () => new SharedArrayBuffer(blockSize));
}
