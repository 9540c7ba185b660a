/**
 * The engine's handle on one hash worker thread.
 *
 * A lane can be started before the engine that will use it exists (see
 * prestart.ts: the CLI starts the worker before it loads its own modules) and
 * be bound to the engine's events later; the worker sends nothing until it is
 * sent work, so no message can come before that. A death before binding is
 * kept: the lane is then not alive, and the engine starts a fresh one.
 */
import type { Worker } from 'node:worker_threads';
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
  private events: LaneEvents | undefined;

  constructor(readonly slots: SharedArrayBuffer[], events?: LaneEvents) {
    this.events = events;
    const init: WorkerInit = { slots };
    // Loaded here: a run that needs no worker (SHA256 only, small files) does not pay for node:worker_threads.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    // Compiled next to this file in lib/core/hash/.
    this.worker = new Worker(join(__dirname, 'hash-worker.js'), { workerData: init });
    this.worker.on('message', (msg: FromWorker) => this.events?.message(this, msg));
    this.worker.on('error', (err) => this.die(err));
    this.worker.on('exit', (code) => this.die(new Error(`hash worker exited with code ${code}`)));
    // An idle worker must not keep the process alive; the engine refs it while a job runs.
    this.worker.unref();
  }

  /** Binds a prestarted lane to the engine that adopts it. */
  bind(events: LaneEvents): void {
    this.events = events;
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

  private die(reason: Error): void {
    if (!this.alive) return;
    this.alive = false;
    this.events?.died(this, reason);
  }
}
