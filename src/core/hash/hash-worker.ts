/**
 * Worker thread entry: runs the digests of one lane over blocks that the engine
 * has read into shared buffers. Messages are handled strictly in order (BLAKE3's
 * WebAssembly set-up is asynchronous, so each message waits for the previous).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createDigest, type Digest } from './digest';
import { feedBlock, type StreamSpec } from './streams';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol';

const port = parentPort!;
const slots = (workerData as WorkerInit).slots.map((sab) => new Uint8Array(sab));

let job = -1;
let active: { spec: StreamSpec; digest: Digest }[] = [];
let failed = false;
let chain: Promise<void> = Promise.resolve();

const send = (msg: FromWorker) => port.postMessage(msg);

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.t) {
    case 'start':
      job = msg.job;
      failed = false;
      active = await Promise.all(msg.streams.map(async (spec) => ({ spec, digest: await createDigest(spec.algo) })));
      return;
    case 'block':
      if (msg.job === job && !failed) {
        const block = slots[msg.slot].subarray(0, msg.length);
        for (const { spec, digest } of active) feedBlock(spec, (b) => digest.update(b), block, msg.offset);
      }
      send({ t: 'ack', job: msg.job, slot: msg.slot });
      return;
    case 'finish':
      if (msg.job === job && !failed) {
        send({ t: 'result', job, digests: Object.fromEntries(active.map(({ spec, digest }) => [spec.id, digest.hex()])) });
      }
      active = [];
      return;
    case 'drop':
      if (msg.job === job) active = [];
      return;
  }
}

port.on('message', (msg: ToWorker) => {
  chain = chain.then(() =>
    handle(msg).catch((err: unknown) => {
      failed = true;
      send({ t: 'error', job: msg.job, message: err instanceof Error ? err.message : String(err) });
      // Still release the slot, or the engine would wait for it forever.
      if (msg.t === 'block') send({ t: 'ack', job: msg.job, slot: msg.slot });
    }),
  );
});
