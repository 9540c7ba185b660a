/** Messages between the hashing engine and its worker threads. */
import type { StreamSpec } from './streams';

export interface WorkerInit {
  /** The engine's read buffers, shared so that blocks reach workers without a copy. */
  slots: SharedArrayBuffer[];
}

export type ToWorker =
  | { t: 'start'; job: number; streams: StreamSpec[] }
  /** Hash `length` bytes of slot `slot`, which hold the file from `offset`. */
  | { t: 'block'; job: number; slot: number; offset: number; length: number }
  | { t: 'finish'; job: number }
  | { t: 'drop'; job: number };

export type FromWorker =
  /** The worker is done with the slot: the engine may read into it again. */
  | { t: 'ack'; job: number; slot: number }
  | { t: 'result'; job: number; digests: Record<string, string> }
  | { t: 'error'; job: number; message: string };
