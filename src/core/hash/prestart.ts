/**
 * Hash workers started before the engine is loaded.
 *
 * A worker thread answers its first message about 20 ms after it is created (it
 * boots a Node environment of its own and loads the digests), and the default
 * hashes wait for it: the main thread fills the ring, then waits for the
 * worker's first acknowledgement. Started before the CLI loads the rest of its
 * modules, that boot runs on the other core while the main thread loads
 * (docs/benchmarks.md, "start-up and first-touch costs"). The engine adopts the
 * ring and the lanes (HashEngineOptions.prestarted).
 *
 * Loads only node:path and node:worker_threads.
 */
import { hasSafetensorsExtension } from '../safetensors-name';
import { assignLanes } from './assign-lanes';
import type { HashName } from './names';
import { BLOCK_SIZE, SLOT_COUNT, allocateRing } from './ring';
import { planStreams } from './streams';
import { WorkerLane } from './worker-lane';

export interface PrestartedWorkers {
  /** The ring the workers were given; the engine reads into it. */
  slots: SharedArrayBuffer[];
  lanes: WorkerLane[];
}

export function prestartWorkers(count: number): PrestartedWorkers {
  const slots = allocateRing(BLOCK_SIZE, SLOT_COUNT);
  return { slots, lanes: Array.from({ length: count }, () => new WorkerLane(slots)) };
}

/**
 * How many workers an engine with default options gives a file of this name
 * and size. AutoV3's range is taken as the whole file less 8 bytes: the header
 * is not read here, and the count only changes for a safetensors header within
 * 1 MiB of the file's size.
 */
export function workersFor(file: string, size: number, hashes: readonly HashName[]): number {
  const streams = planStreams({ size, hashes, tensorDataOffset: hasSafetensorsExtension(file) ? 8 : undefined });
  return assignLanes(streams, size).workers.length;
}
