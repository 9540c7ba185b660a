/**
 * Spreads the streams of one file over threads.
 *
 * The main thread takes the first whole-file stream (SHA-256, when asked) and
 * the small ones; every other heavy stream gets a worker of its own, so that the
 * default hashes (SHA-256 of the file and AutoV3 of nearly the same bytes) run
 * on both cores. CRC-32 through zlib is cheap enough to ride along on the main
 * thread. Small files are hashed on the main thread alone: for them, waking a
 * worker costs more than it saves.
 *
 * A download asks for no heavy stream on the main thread (`mainTakesOne`
 * false): there the main thread receives and writes the bytes.
 */
import type { StreamSpec } from './streams';

/** Files below this size are hashed on the main thread only (the default of HashEngine's option). */
export const WORKER_MIN_FILE_SIZE = 16 * 1024 * 1024;
const SMALL_STREAM = 1024 * 1024;

export interface LaneAssignment {
  main: StreamSpec[];
  workers: StreamSpec[][];
}

export function assignLanes(streams: StreamSpec[], fileSize: number, workerMinFileSize = WORKER_MIN_FILE_SIZE, mainTakesOne = true): LaneAssignment {
  if (fileSize < workerMinFileSize) return { main: [...streams], workers: [] };
  const heavy = streams.filter((s) => s.end - s.start > SMALL_STREAM && s.algo !== 'crc32');
  const main = streams.filter((s) => !heavy.includes(s));
  if (!mainTakesOne) return { main, workers: heavy.map((s) => [s]) };
  const [first, ...rest] = heavy;
  if (first) main.unshift(first);
  return { main, workers: rest.map((s) => [s]) };
}
