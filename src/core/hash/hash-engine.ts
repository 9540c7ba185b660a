/**
 * The hashing engine: one read of a file feeds every hash asked for.
 *
 * The file is read in 2 MiB blocks into a ring of reused shared buffers. While
 * the main thread hashes block i, the read of block i+1 is already under way
 * (libuv's thread pool does the I/O), and worker threads hash block i for their
 * own streams straight from the shared buffer. A buffer is read into again only
 * when every worker has acknowledged it, so memory stays at the ring's 6 MiB
 * whatever the file size. A first touch of a fresh page costs about 14 us on
 * the VMs this runs on, so every MiB of ring costs 3.5 ms per process: 2 MiB x 3
 * took 747 ms (default hashes, 1 GiB, median of 5 fresh processes) against 814
 * ms for 4 MiB x 4; 1 MiB blocks lose again to the per-read and per-message
 * overhead (docs/benchmarks.md, "Block size").
 *
 * One engine hashes one file at a time (calls queue): reading two files at once
 * from one disk, or one network mount, is slower than reading them in turn.
 */
import { CancelledError, FileAccessError, ModeldeckError } from '../errors';
import { ResumableFile, type IoRetryOptions } from '../io/resumable-file';
import { checkHeaderLength, hasSafetensorsExtension } from '../safetensors';
import { assignLanes } from './assign-lanes';
import { createDigest } from './digest';
import { DEFAULT_HASHES, type FileHashes, type HashName } from './names';
import { feedBlock, planStreams, toFileHashes, type StreamId, type StreamSpec } from './streams';
import type { PrestartedWorkers } from './prestart';
import { BLOCK_SIZE, SLOT_COUNT, allocateRing } from './ring';
import { WorkerLane, type LaneEvents } from './worker-lane';
import type { FromWorker } from './worker-protocol';

export { BLOCK_SIZE, SLOT_COUNT } from './ring';

export interface HashFileOptions {
  /** Which hashes; default SHA256, AutoV1, AutoV2 and AutoV3 (the last for safetensors only). */
  hashes?: readonly HashName[];
  /** Called after each block with bytes hashed so far and the file size. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  signal?: AbortSignal;
  /**
   * How reads that fail for a moment (a network mount dropping) are retried:
   * the hash state stays in memory and reading goes on from the same offset on
   * a fresh descriptor. Default: 6 tries with backoff from 250 ms.
   */
  retry?: IoRetryOptions;
  /** Whether AutoV3 applies, when the source's name does not tell (a download's `.part`); default: by extension. */
  safetensors?: boolean;
  /**
   * With this, a safetensors header that does not parse skips AutoV3 (told here)
   * instead of failing the file: a download keeps its other hashes.
   */
  onHeaderWarning?: (message: string) => void;
}

/** What the engine reads from: a ResumableFile, or a download's `.part` that is still being written. */
export type BlockSource = Pick<ResumableFile, 'file' | 'size' | 'read'>;

export interface HashFileResult {
  file: string;
  size: number;
  hashes: FileHashes;
}

/** Per-file bookkeeping shared between the read loop and the workers' messages. */
interface Job {
  id: number;
  /** Outstanding worker acknowledgements per slot. */
  pending: number[];
  results: Map<WorkerLane, Record<string, string>>;
  failure: Error | null;
  wake: () => void;
}

export interface HashEngineOptions {
  /** Files smaller than this are hashed on the main thread alone (default 16 MiB). */
  workerMinFileSize?: number;
  /** Bytes per read (default BLOCK_SIZE). */
  blockSize?: number;
  /** Read buffers in the ring (default SLOT_COUNT, at least 2). */
  slotCount?: number;
  /**
   * false: every heavy stream on a worker of its own, none on the main thread
   * (a download's main thread is busy receiving and writing). Default true.
   */
  mainThreadHashes?: boolean;
  /**
   * Workers started ahead (prestart.ts): the engine adopts them and reads into
   * their ring, whose size then replaces blockSize and slotCount.
   */
  prestarted?: PrestartedWorkers;
}

export class HashEngine {
  private readonly blockSize: number;
  private readonly sabs: SharedArrayBuffer[];
  private readonly slots: Buffer[];
  private lanes: WorkerLane[] = [];
  private job: Job | null = null;
  private jobCounter = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly laneEvents: LaneEvents = {
    message: (lane, msg) => this.onMessage(lane, msg),
    died: (lane, why) => this.onDied(lane, why),
  };

  constructor(private readonly options: HashEngineOptions = {}) {
    const pre = options.prestarted;
    this.sabs = pre?.slots ?? allocateRing(options.blockSize ?? BLOCK_SIZE, options.slotCount ?? SLOT_COUNT);
    this.blockSize = this.sabs[0].byteLength;
    this.slots = this.sabs.map((sab) => Buffer.from(sab));
    for (const lane of pre?.lanes ?? []) lane.bind(this.laneEvents);
    this.lanes = [...(pre?.lanes ?? [])];
  }

  hashFile(file: string, options: HashFileOptions = {}): Promise<HashFileResult> {
    return this.enqueue(async () => {
      if (options.signal?.aborted) throw new CancelledError(file);
      const source = await ResumableFile.open(file, { ...options.retry, signal: options.retry?.signal ?? options.signal });
      try {
        return await this.run(source, options);
      } finally {
        await source.close();
      }
    });
  }

  /**
   * Hashes a file the caller already opened (the scan opens each new file once
   * for its fingerprint, probe and hashes). The caller closes it. Its retry
   * options are the ones it was opened with.
   */
  hashOpenFile(source: BlockSource, options: Omit<HashFileOptions, 'retry'> = {}): Promise<HashFileResult> {
    return this.enqueue(() => this.run(source, options));
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the worker threads. The engine can still be used: workers start again on demand. */
  async close(): Promise<void> {
    const lanes = this.lanes;
    this.lanes = [];
    await Promise.all(lanes.map((l) => l.terminate()));
  }

  private async run(source: BlockSource, { hashes = DEFAULT_HASHES, onProgress, signal, safetensors, onHeaderWarning }: HashFileOptions): Promise<HashFileResult> {
    const file = source.file;
    if (signal?.aborted) throw new CancelledError(file);
    const size = source.size;
    let tensorDataOffset: number | undefined;
    if (hashes.includes('AutoV3') && (safetensors ?? hasSafetensorsExtension(file))) {
      const prefix = Buffer.alloc(8);
      const bytesRead = await source.read(prefix, 0, Math.min(8, size), 0);
      try {
        tensorDataOffset = 8 + checkHeaderLength(file, prefix.subarray(0, bytesRead), size);
      } catch (err) {
        if (!onHeaderWarning) throw err;
        onHeaderWarning((err as Error).message);
      }
    }
    const streams = planStreams({ size, hashes, tensorDataOffset });
    const digests = await this.hashStreams(source, file, size, streams, onProgress, signal);
    return { file, size, hashes: toFileHashes(digests, hashes) };
  }

  private async hashStreams(
    source: BlockSource,
    file: string,
    size: number,
    streams: StreamSpec[],
    onProgress: HashFileOptions['onProgress'],
    signal: AbortSignal | undefined,
  ): Promise<Partial<Record<StreamId, string>>> {
    const { main, workers } = assignLanes(streams, size, this.options.workerMinFileSize, this.options.mainThreadHashes ?? true);
    const mainDigests = await Promise.all(main.map(async (spec) => ({ spec, digest: await createDigest(spec.algo) })));
    const lanes = this.takeLanes(workers.length);
    const job: Job = { id: ++this.jobCounter, pending: new Array(this.slots.length).fill(0), results: new Map(), failure: null, wake: () => {} };
    this.job = job;
    lanes.forEach((lane, i) => {
      lane.hold(true);
      lane.post({ t: 'start', job: job.id, streams: workers[i] });
    });
    // Only the part of the file that some stream covers is read (AutoV1 alone reads 64 KiB).
    const end = streams.reduce((m, s) => Math.max(m, s.end), 0);
    let offset = streams.reduce((m, s) => Math.min(m, s.start), end);
    // The whole ring also without workers: two buffers would suffice (one hashed,
    // one being read), and touch 2 MiB fewer pages (7 ms at 14 us a fault), but
    // reading each block into the buffer hashed just before made SHA256-only
    // 1 GiB take 780-880 ms against 590-605 ms with three (docs/benchmarks.md,
    // "The read ring without workers").
    const ring = this.slots.length;
    let finished = false;
    try {
      let slot = 0;
      let reading = offset < end ? this.read(source, this.slots[slot], 0, Math.min(this.blockSize, end - offset), offset) : null;
      while (reading) {
        const bytesRead = await reading;
        if (bytesRead === 0) throw new FileAccessError(file, 'the file got shorter while it was being hashed');
        const block = this.slots[slot].subarray(0, bytesRead);
        const blockOffset = offset;
        offset += bytesRead;
        for (const lane of lanes) {
          job.pending[slot]++;
          lane.post({ t: 'block', job: job.id, slot, offset: blockOffset, length: bytesRead });
        }
        // Read ahead into the next slot while this block is hashed.
        const next = (slot + 1) % ring;
        await this.until(job, () => job.pending[next] === 0);
        reading = offset < end ? this.read(source, this.slots[next], 0, Math.min(this.blockSize, end - offset), offset) : null;
        for (const { spec, digest } of mainDigests) feedBlock(spec, (b) => digest.update(b), block, blockOffset);
        slot = next;
        onProgress?.(offset, size);
        if (signal?.aborted) {
          await reading?.catch(() => undefined);
          throw new CancelledError(file);
        }
      }
      for (const lane of lanes) lane.post({ t: 'finish', job: job.id });
      await this.until(job, () => lanes.every((l) => job.results.has(l)));
      finished = true;
      const out: Partial<Record<StreamId, string>> = {};
      for (const { spec, digest } of mainDigests) out[spec.id] = digest.hex();
      for (const digests of job.results.values()) Object.assign(out, digests);
      return out;
    } finally {
      if (!finished) {
        for (const lane of lanes) lane.post({ t: 'drop', job: job.id });
        // Buffers must be free before the next file reads into them.
        await this.until(job, () => job.pending.every((n) => n === 0)).catch(() => undefined);
      }
      for (const lane of lanes) lane.hold(false);
      this.job = null;
    }
  }

  /** One block; transient failures are retried inside, from this same offset. */
  private read(source: BlockSource, buf: Buffer, at: number, length: number, position: number): Promise<number> {
    return source.read(buf, at, length, position);
  }

  /** Waits until `ready()` holds, woken by worker messages; fails if a worker failed. */
  private async until(job: Job, ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (job.failure) throw job.failure;
      await new Promise<void>((resolve) => {
        job.wake = resolve;
      });
    }
  }

  private takeLanes(count: number): WorkerLane[] {
    this.lanes = this.lanes.filter((l) => l.isAlive);
    while (this.lanes.length < count) {
      this.lanes.push(new WorkerLane(this.sabs, this.laneEvents));
    }
    return this.lanes.slice(0, count);
  }

  private onMessage(lane: WorkerLane, msg: FromWorker): void {
    const job = this.job;
    if (!job || msg.job !== job.id) return;
    if (msg.t === 'ack') job.pending[msg.slot]--;
    else if (msg.t === 'result') job.results.set(lane, msg.digests);
    else job.failure ??= new ModeldeckError('hash_worker', `hash worker failed: ${msg.message}`);
    job.wake();
  }

  private onDied(lane: WorkerLane, why: Error): void {
    const job = this.job;
    if (!job) return;
    // Its acknowledgements will never come: count them as given so the buffers free up, and fail the file.
    job.pending.fill(0);
    job.failure ??= new ModeldeckError('hash_worker', `hash worker stopped: ${why.message}`);
    job.wake();
  }
}
