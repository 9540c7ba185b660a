/**
 * The engine's handle on one hash worker thread.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol';

export interface LaneEvents {
  message(lane: WorkerLane, msg: FromWorker): void;
  /** The thread died (crash, out of memory, terminate): its pending work will never finish. */
  died(lane: WorkerLane, reason: Error): void;
}

export class WorkerLane {
  private readonly worker: Worker;
  private alive = true;

  constructor(slots: SharedArrayBuffer[], events: LaneEvents) {
    const init: WorkerInit = { slots };
    // Compiled next to this file in lib/core/hash/.
    this.worker = new Worker(join(__dirname, 'hash-worker.js'), { workerData: init });
    this.worker.on('message', (msg: FromWorker) => events.message(this, msg));
    this.worker.on('error', (err) => this.die(events, err));
    this.worker.on('exit', (code) => this.die(events, new Error(`hash worker exited with code ${code}`)));
    // An idle worker must not keep the process alive; the engine refs it while a job runs.
    this.worker.unref();
  }

  get isAlive(): boolean {
    return this.alive;
  }

  post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  /** Keeps the process alive while this lane has work outstanding. */
  hold(busy: boolean): void {
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  async terminate(): Promise<void> {
    this.alive = false;
    await this.worker.terminate();
  }

  private die(events: LaneEvents, reason: Error): void {
    if (!this.alive) return;
    this.alive = false;
    events.died(this, reason);
  }
}
