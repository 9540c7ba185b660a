/**
 * Bytes from a URL into a `.part`, with N connections when the server takes
 * ranges, and the hashes computed in file order on the way.
 *
 * - The file is cut into chunks handed out in order, so the written prefix of
 *   the `.part` grows from the front and the hash engine follows it closely on
 *   its worker threads, reading the bytes back from the page cache
 *   (growing-part.ts). Memory stays at a few chunks in flight and the engine's
 *   ring whatever the file size.
 * - When no chunk is left, an idle connection takes half of the biggest chunk
 *   still running (a slow or stalled connection is relieved).
 * - Each connection has a stall timeout (no byte for `stallMs`), and each chunk
 *   a bounded number of retries with backoff; a 429 slows every connection
 *   through the shared limiter.
 * - The written ranges are saved beside the `.part` every 1% of the file (or
 *   4 times a second), so a kill loses little; a resume re-reads the written
 *   prefix once for the hash (node's SHA-256 state cannot be saved; see
 *   docs/architecture.md for the measurement) and asks only for the rest, with
 *   `If-Range`, restarting cleanly when the server's file changed.
 */
import { basename } from 'node:path';
import { unlink } from 'node:fs/promises';
import { backoffDelay, parseRetryAfter, sleep } from '../civitai/backoff';
import type { AdaptiveLimiter } from '../civitai/limiter';
import { CancelledError } from '../errors';
import { HashEngine } from '../hash/hash-engine';
import type { HashName } from '../hash/names';
import type { OutboundPolicy } from '../net/outbound-policy';
import { lstatOrNull, openSafely } from '../safe-fs';
import { DownloadError, urlForMessage } from './errors';
import { PartFile } from './part-file';
import { RetriesExhausted } from '../io/retry-transient';
import { header, requestFollowing, type Credentials, type HopResponse } from './http-hop';
import { addRange, contiguousEnd, missingRanges, readPartState, statePathFor, writePartState, type PartState } from './part-state';
import { classifyFailure } from './status-errors';
import { GrowingPart } from './growing-part';
import { mark } from './timeline';
import { DownloadConnection } from './connection';


export interface TransferProgress {
  received: number;
  total: number;
  bytesPerSecond: number;
  connections: number;
}

export interface TransferOptions {
  /** The first URL (Civitai's API download URL, a HuggingFace resolve URL...); asked again when a signed URL expires. */
  url: string;
  /** Identifies the file asked for; a `.part` saved for another key is started over. */
  key: string;
  partPath: string;
  /** The final name decides whether AutoV3 applies. */
  finalName: string;
  connections: number;
  policy: OutboundPolicy;
  credentials: Credentials;
  limiter?: AdaptiveLimiter;
  hashes: readonly HashName[];
  signal?: AbortSignal;
  stallMs?: number;
  /** Retries per chunk before the download fails. */
  maxAttempts?: number;
  /** The smallest remainder of a running chunk an idle connection takes half of (default 16 MiB; splits fall on MiB boundaries, so below 2 MiB it hands the whole remainder over). */
  splitMinBytes?: number;
  baseDelayMs?: number;
  onProgress?: (p: TransferProgress) => void;
  /** The first response's headers (a name from Content-Disposition). */
  onFirstResponse?: (res: HopResponse) => void;
  /** Called before any byte is written, with the size: the free-space check. */
  beforeWrite?: (size: number, alreadyOnDisk: number) => Promise<void>;
  /** Called with each redirect's headers (HuggingFace's X-Linked-Etag). */
  onRedirect?: (from: URL, headers: Record<string, string | string[] | undefined>) => void;
}

export interface TransferResult {
  size: number;
  hashes: import('../hash/names').FileHashes;
  /** Bytes fetched in this run (resume: only the missing part). */
  fetched: number;
  /** Bytes already in the `.part` from an earlier run. */
  resumedFrom: number;
  /** Time from the last byte written to the hashes being complete. */
  hashTailMs: number;
  hashWarning?: string;
}

/** A connection's two staging buffers: one fills while the other is written. */
type Staging = [Buffer, Buffer];

interface Chunk {
  start: number;
  /** Next byte to write. */
  pos: number;
  end: number;
  attempts: number;
  running: boolean;
  /** The body being poured into it, and when its last bytes came: the stall watchdog's view. */
  body?: HopResponse['body'];
  lastData?: number;
}

const MIB = 1024 * 1024;
/**
 * The written ranges are saved at every 1% of the file (and at least 4 times a second): a kill then
 * costs at most about 1% again, and a download makes about 100 saves whatever its speed (each save
 * is an open, a write and a rename: at every 0.25% they took a tenth of the main thread's time).
 */
const SAVES_PER_FILE = 100;
/**
 * The hash engine's blocks for a download: 8 MiB, where a scan reads 2 MiB. Each block costs a read
 * back and a message to each hashing thread and back; at 2 MiB those were a tenth of the main
 * thread's time, and the larger ring's first touch (24 MiB) is paid once per download.
 */
const HASH_BLOCK = 8 * MIB;
/**
 * Bytes gathered before one write: 1 MiB, so a kill loses little that was received but not yet
 * recorded, while every write (a thread-pool round trip, about 0.3 ms of the main thread on these
 * VMs) is paid once per MiB, not once per 64 KiB network read.
 */
const BATCH = 1024 * 1024;
/**
 * How long before a body's end (at its measured rate) the next chunk's request goes out, pipelined on
 * the same connection: more than a request's way through both event loops (7-11 ms measured under the
 * bench's load), and short enough that the queued request never waits long for its answer to start.
 */
const PIPELINE_LEAD_MS = 100;

export async function transfer(opts: TransferOptions): Promise<TransferResult> {
  const stallMs = opts.stallMs ?? 30_000;
  const maxAttempts = opts.maxAttempts ?? 5;
  const baseDelay = opts.baseDelayMs ?? 1_000;
  const statePath = statePathFor(opts.partPath);
  mark('transfer-start');
  let state = await resumableState(opts, statePath);
  mark('state-read');
  const limiter = opts.limiter;

  /** One GET, with the limiter and the error answers turned into DownloadErrors. */
  let resolvedUrl: string | undefined;
  const get = async (range: [number, number | null] | null, ifRange: string | undefined, signal: AbortSignal, connection?: DownloadConnection): Promise<HopResponse> => {
    for (let attempt = 1; ; attempt++) {
      await limiter?.acquire(signal);
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (range) headers.range = `bytes=${range[0]}-${range[1] === null ? '' : range[1] - 1}`;
      if (range && ifRange) headers['if-range'] = ifRange;
      const url = resolvedUrl ?? opts.url;
      const res = await requestFollowing({ url, headers, policy: opts.policy, credentials: opts.credentials, signal, timeoutMs: stallMs, onRedirect: resolvedUrl ? undefined : opts.onRedirect, dispatcherFor: connection?.dispatcherFor });
      if (res.statusCode === 200 || res.statusCode === 206 || res.statusCode === 416) {
        limiter?.onSuccess();
        // Later ranges go straight to the storage URL the first answer came from; re-resolved when it expires.
        resolvedUrl = res.url.href;
        return res;
      }
      const text = await readSmall(res);
      const failure = classifyFailure(res, text, urlForMessage(opts.url));
      if (resolvedUrl && (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 410) && attempt === 1) {
        // An expired signed URL: ask the source again for a fresh one.
        resolvedUrl = undefined;
        continue;
      }
      if (res.statusCode === 429 && failure.retryAfterMs !== undefined) limiter?.onRateLimited(failure.retryAfterMs);
      throw failure.error;
    }
  };

  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal!.reason);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let fh: PartFile | undefined;
  const engine = new HashEngine({ mainThreadHashes: false, blockSize: HASH_BLOCK });
  let stopHashing: ((err: Error) => void) | undefined;
  try {
    // The first request: from the first missing byte, conditional on the saved file's identity.
    const firstMissing = state ? missingRanges(state.done, state.size)[0]?.[0] ?? state.size : 0;
    const validator = state?.etag && !state.etag.startsWith('W/') ? state.etag : state?.lastModified;
    // On a resume the size is known: the first answer is bounded to the first chunk, so no bytes beyond it are sent and dropped.
    const firstEnd = state ? Math.min(state.size, firstMissing + chunkSizeFor(state.size, opts.connections)) : null;
    mark('req-send', { conn: 0, start: firstMissing, end: firstEnd });
    let first = state && firstMissing >= state.size ? null : await get([firstMissing, firstEnd], validator, controller.signal);
    mark('req-headers', { conn: 0 });
    if (first && first.statusCode === 416) {
      // The saved ranges do not fit the server's file: start over, without a range.
      discard(first.body);
      state = null;
      first = await get(null, undefined, controller.signal);
    }
    if (first && /html/i.test(header(first.headers, 'content-type') ?? '')) {
      discard(first.body);
      throw new DownloadError('html_instead_of_file', `${urlForMessage(opts.url)}: the server sent a web page instead of the file (a login or error page?); nothing saved`);
    }
    if (first) opts.onFirstResponse?.(first);
    const ranged = first?.statusCode === 206;
    let size: number;
    if (first) {
      size = ranged ? totalFromContentRange(header(first.headers, 'content-range')) : Number(header(first.headers, 'content-length') ?? NaN);
      if (!Number.isSafeInteger(size) || size < 0) {
        discard(first.body);
        throw new DownloadError('http_error', `${urlForMessage(opts.url)}: the server gives no file size (no Content-Length); not downloaded`);
      }
      const etag = header(first.headers, 'etag');
      const lastModified = header(first.headers, 'last-modified');
      const sameFile = state && ranged && state.size === size && (!state.etag || !etag || state.etag === etag);
      if (!sameFile) state = { v: 1, key: opts.key, size, etag, lastModified, done: [] };
    } else {
      size = state!.size;
    }
    const st = state!;

    // The .part: created new or reused; never through a link.
    const existing = await lstatOrNull(opts.partPath);
    if (!existing) await (await openSafely(opts.partPath, 'create')).close();
    fh = await PartFile.open(opts.partPath, { signal: controller.signal });
    const onDisk = st.done.reduce((n, [a, b]) => n + (b - a), 0);
    mark('part-open');
    await opts.beforeWrite?.(size, onDisk);
    mark('free-space');
    // Only a .part with stale bytes is emptied: on ext4 a truncate to 0, even of an empty file, arms
    // auto_da_alloc's flush on close, and closing the 1 GiB .part then waited ~300 ms for its writeback
    // (measured with bench/download-timeline.js; aria2c pays nothing of the kind).
    if (st.done.length === 0 && existing && existing.size > 0) await fh.truncate(0);
    const resumedFrom = onDisk;

    // The hashes follow the written prefix on the engine's worker threads (SHA-256 and AutoV3 each on
    // its own), reading the bytes back from the page cache: the main thread only receives and writes.
    const growing = new GrowingPart(fh, opts.partPath, size, () => contiguousEnd(st.done));
    let hashWarning: string | undefined;
    const hashing = engine.hashOpenFile(growing, {
      hashes: opts.hashes,
      safetensors: /\.(safetensors|sft)$/i.test(opts.finalName),
      onHeaderWarning: (m) => (hashWarning = m.replace(opts.partPath, opts.finalName)),
    });
    hashing.catch(() => undefined);
    stopHashing = (err) => growing.fail(err);
    mark('hashing-started');
    const file = fh;
    let lastSave = Date.now();
    let bytesSinceSave = 0;
    let saving: Promise<void> = Promise.resolve();
    // One save at a time, and the next one takes the state as it is then: saves never queue up behind a slow disk.
    let inFlight = false;
    let again = false;
    const saveState = (force = false) => {
      if (!force && bytesSinceSave < size / SAVES_PER_FILE && Date.now() - lastSave < 250) return;
      bytesSinceSave = 0;
      lastSave = Date.now();
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      const loop = async () => {
        do {
          again = false;
          const snapshot: PartState = { ...st, done: st.done.map((r) => [r[0], r[1]] as [number, number]) };
          await writePartState(statePath, snapshot).catch(() => undefined);
        } while (again);
        inFlight = false;
      };
      saving = loop();
    };

    let received = 0;
    const started = Date.now();
    const report = (active: number) => {
      const secs = (Date.now() - started) / 1000;
      opts.onProgress?.({ received: resumedFrom + received, total: size, bytesPerSecond: secs > 0 ? received / secs : 0, connections: active });
    };

    const chunks: Chunk[] = [];
    const chunkSize = chunkSizeFor(size, opts.connections);
    // The last round of chunks is cut eight times finer. With full-size chunks the connections ended
    // together on the last round, which freed ~7 chunks of written prefix at once: ~75 ms of hashing
    // after the last byte, 1 GiB on 8 connections (bench/download-timeline.js). Smaller ones end in
    // turn, and with the next request pipelined they cost no gap.
    const tailSize = Math.max(MIB, Math.floor(chunkSize / 8 / MIB) * MIB);
    const tailFrom = size > 2 * opts.connections * chunkSize ? size - opts.connections * chunkSize : size;
    for (const [a, b] of missingRanges(st.done, size)) {
      for (let s = a; s < b; ) {
        const e = Math.min(b, s < tailFrom ? Math.min(s + chunkSize, tailFrom) : s + tailSize);
        chunks.push({ start: s, pos: s, end: e, attempts: 0, running: false });
        s = e;
      }
    }
    let failure: Error | undefined;

    /** Writes a chunk's bytes from one response body until the chunk ends (its end may move down: a split). */
    const pour = async (chunk: Chunk, res: HopResponse, staging: Staging, conn: number, onNearEnd?: () => void) => {
      try {
        await pourBody(chunk, res, staging, conn, onNearEnd);
      } catch (err) {
        if (failure || controller.signal.aborted || !isNetworkError(err)) throw err;
        throw new DownloadError('short_body', `${urlForMessage(opts.url)}: the connection ended ${chunk.end - chunk.pos} bytes early (${(err as Error).message})`, true);
      }
      discard(res.body);
      if (chunk.pos < chunk.end && !failure) {
        throw new DownloadError('short_body', `${urlForMessage(opts.url)}: the connection ended ${chunk.end - chunk.pos} bytes early`, true);
      }
    };
    /** `onNearEnd` is called once, when what is left of the chunk would take PIPELINE_LEAD_MS at this body's rate. */
    const pourBody = async (chunk: Chunk, res: HopResponse, staging: Staging, conn: number, onNearEnd?: () => void) => {
      // Received bytes are copied into one of the connection's two staging buffers, and a full one is
      // written while the other fills: the socket is read on during the write's thread-pool round trip
      // (with one buffer the connection stalled once per batch, and one connection ran at a third of
      // curl's speed). The network's buffers are dropped at once, so they die young: held across a
      // write's await they got promoted, and V8 ran a full collection every few megabytes.
      let filling = 0;
      let pendingLen = 0;
      /** The write in flight (at most one per connection: the bytes land in order) and its length. */
      let writing: Promise<void> | null = null;
      let writingLen = 0;
      const queuedEnd = () => chunk.pos + writingLen + pendingLen;
      const flush = async () => {
        if (writing) await writing;
        if (pendingLen === 0) return;
        const at = chunk.pos;
        const len = pendingLen;
        const bytes = staging[filling].subarray(0, len);
        filling ^= 1;
        pendingLen = 0;
        writingLen = len;
        const w = (async () => {
          await writeAll(file, bytes, at);
          chunk.pos += len;
          writingLen = 0;
          writing = null;
          received += len;
          bytesSinceSave += len;
          st.done = addRange(st.done, at, at + len);
          growing.notify();
          saveState();
          report(running());
        })();
        // Awaited by the next flush or at the end; marked handled so a failure in between is not fatal.
        w.catch(() => undefined);
        writing = w;
      };
      let firstAt = 0;
      let bodyBytes = 0;
      try {
        for await (const data of res.body as AsyncIterable<Buffer>) {
          if (failure) break;
          const take = Math.min(data.length, chunk.end - queuedEnd());
          if (take <= 0) break;
          const now = Date.now();
          if (!firstAt) {
            firstAt = now;
            mark('first-byte', { conn, start: chunk.pos });
          }
          chunk.lastData = now;
          if (onNearEnd && now - firstAt >= 10) {
            const left = chunk.end - queuedEnd() - take;
            if (left <= (bodyBytes / (now - firstAt)) * PIPELINE_LEAD_MS) {
              onNearEnd();
              onNearEnd = undefined;
            }
          }
          bodyBytes += take;
          for (let off = 0; off < take; ) {
            const buf = staging[filling];
            const n = Math.min(take - off, buf.length - pendingLen);
            data.copy(buf, pendingLen, off, off + n);
            pendingLen += n;
            off += n;
            if (pendingLen === buf.length || queuedEnd() >= chunk.end) await flush();
          }
          if (queuedEnd() >= chunk.end) break;
        }
      } finally {
        // What arrived before a failure is good: it is written and counted.
        if (!failure) await flush();
        const last = writing as Promise<void> | null;
        if (last) await (failure ? last.catch(() => undefined) : last);
      }
    };

    /** Connections receiving (a chunk whose request is queued behind another is not one). */
    const running = () => chunks.filter((c) => c.running && c.body).length;
    /** The first chunk no connection has taken: handing out in file order keeps the written prefix growing from the front. */
    const nextChunk = (): Chunk | undefined => chunks.filter((c) => !c.running && c.pos < c.end).sort((a, b) => a.pos - b.pos)[0];

    /** Half of the biggest running chunk, when one is worth splitting. */
    const split = (): Chunk | undefined => {
      let biggest: Chunk | undefined;
      for (const c of chunks) if (c.running && (!biggest || c.end - c.pos > biggest.end - biggest.pos)) biggest = c;
      // Each split drops what the relieved connection already has in flight: only worth it for a big remainder.
      if (!biggest || biggest.end - biggest.pos < (opts.splitMinBytes ?? 16 * MIB)) return undefined;
      const mid = biggest.pos + Math.floor((biggest.end - biggest.pos) / 2 / MIB) * MIB;
      const piece: Chunk = { start: mid, pos: mid, end: biggest.end, attempts: 0, running: false };
      biggest.end = mid;
      chunks.push(piece);
      return piece;
    };

    /** One chunk's ranged GET on a connection, its answer checked against the file it is part of. */
    const requestChunk = async (chunk: Chunk, connection: DownloadConnection, conn: number): Promise<HopResponse> => {
      const from = chunk.pos;
      mark('req-send', { conn, start: from, end: chunk.end });
      const r = await get([from, chunk.end], st.etag ?? st.lastModified, controller.signal, connection);
      mark('req-headers', { conn });
      if (r.statusCode === 200) {
        discard(r.body);
        throw new DownloadError('changed_on_server', `${urlForMessage(opts.url)}: the server stopped taking ranges (or the file changed); run get again to start over`);
      }
      if (r.statusCode !== 206 || totalFromContentRange(header(r.headers, 'content-range')) !== size || rangeStart(header(r.headers, 'content-range')) !== from) {
        discard(r.body);
        throw new DownloadError('changed_on_server', `${urlForMessage(opts.url)}: the file changed on the server during the download; run get again to start over`);
      }
      return r;
    };

    const worker = async (conn: number, initial?: HopResponse) => {
      let res = initial;
      const staging: Staging = [Buffer.allocUnsafeSlow(BATCH), Buffer.allocUnsafeSlow(BATCH)];
      const connection = new DownloadConnection(opts.policy);
      /** The next chunk, its request pipelined behind the running one on this connection. */
      let queued: { chunk: Chunk; res: Promise<HopResponse> } | undefined;
      const queueNext = () => {
        if (queued || failure || controller.signal.aborted) return;
        const next = nextChunk();
        if (!next) return;
        next.running = true;
        const p = requestChunk(next, connection, conn);
        p.catch(() => undefined);
        queued = { chunk: next, res: p };
      };
      /** A queued request goes back to the pile uncharged (its socket failed or the transfer stops). */
      const dropQueued = () => {
        const q = queued;
        queued = undefined;
        if (!q) return;
        q.chunk.running = false;
        q.res.then((r) => discard(r.body), () => undefined);
      };
      try {
        for (;;) {
          if (failure || controller.signal.aborted) {
            discard(res?.body);
            return;
          }
          let chunk: Chunk | undefined;
          let pending: Promise<HopResponse> | undefined;
          if (queued) {
            ({ chunk, res: pending } = queued);
            queued = undefined;
          } else {
            chunk = nextChunk();
            if (!chunk && !res) chunk = split();
          }
          if (!chunk) {
            discard(res?.body);
            return;
          }
          chunk.running = true;
          // The first answer came through the shared agent, on another socket: a request queued here
          // would be answered beside it, a ninth stream, so that chunk is fetched without one.
          const pipelined = !res;
          try {
            res ??= await (pending ?? requestChunk(chunk, connection, conn));
            chunk.body = res.body;
            chunk.lastData = Date.now();
            await pour(chunk, res, staging, conn, pipelined ? queueNext : undefined);
            mark('last-byte', { conn, start: chunk.start, end: chunk.end });
            chunk.attempts = 0;
          } catch (err) {
            discard(res?.body);
            // The queued request shared the socket that just failed.
            dropQueued();
            if (controller.signal.aborted) return;
            const retryable = err instanceof DownloadError ? err.retryable : isNetworkError(err);
            chunk.attempts++;
            if (!retryable || chunk.attempts >= maxAttempts) {
              failure ??= err instanceof DownloadError || !isNetworkError(err) ? (err as Error) : new DownloadError('network', `${urlForMessage(opts.url)}: ${(err as Error).message}`);
              controller.abort(failure);
              return;
            }
            chunk.running = false;
            await sleep(backoffDelay(chunk.attempts, baseDelay, 30_000), controller.signal).catch(() => undefined);
          } finally {
            chunk.running = false;
            chunk.body = undefined;
            res = undefined;
          }
        }
      } finally {
        dropQueued();
        connection.close();
      }
    };

    // The first response serves the first chunk when it is ranged (or the whole file when it is not).
    let workers: Promise<void>[];
    if (first && !ranged) {
      chunks.length = 0;
      chunks.push({ start: 0, pos: 0, end: size, attempts: maxAttempts - 1, running: false });
      workers = [worker(0, first)];
    } else {
      const firstChunk = chunks[0];
      if (first && firstChunk && rangeStart(header(first.headers, 'content-range')) === firstChunk.pos) {
        // The open-ended first answer is cut at the first chunk's end.
        workers = [worker(0, first)];
      } else {
        discard(first?.body);
        workers = [];
      }
      for (let i = workers.length; i < Math.max(1, opts.connections); i++) workers.push(worker(i));
    }
    // The stall timeout, per connection: a body silent for stallMs is dropped and its range asked again
    // (undici's own body timeout ticks about once a second, too coarse for short limits).
    const watchdog = setInterval(() => {
      const now = Date.now();
      for (const c of chunks) {
        if (c.running && c.body && c.lastData && now - c.lastData > stallMs) {
          c.body.destroy(new DownloadError('stalled', `${urlForMessage(opts.url)}: no byte for ${formatMs(stallMs)} on one connection`, true));
          c.body = undefined;
        }
      }
    }, Math.max(50, Math.min(1000, stallMs / 4)));
    try {
      await Promise.all(workers);
    } finally {
      clearInterval(watchdog);
    }
    saveState(true);
    await saving;
    if (opts.signal?.aborted) throw new CancelledError(urlForMessage(opts.url));
    if (failure) throw failure;
    if (contiguousEnd(st.done) < size && size > 0) throw new DownloadError('short_body', `${urlForMessage(opts.url)}: ${size - contiguousEnd(st.done)} bytes missing`, true);
    const lastByteAt = Date.now();
    mark('workers-done');
    const { hashes } = await hashing;
    mark('hash-done');
    return { size, hashes, fetched: received, resumedFrom, hashTailMs: Date.now() - lastByteAt, hashWarning };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // A hash read still waiting for bytes that will not come fails, so the engine lets go of the .part.
    stopHashing?.(new CancelledError(urlForMessage(opts.url)));
    await engine.close().catch(() => undefined);
    mark('engine-closed');
    await fh?.close().catch(() => undefined);
    mark('part-closed');
  }
}

/** The saved state when it belongs to this file and the `.part` is still there; otherwise none (and the stale ones go). */
async function resumableState(opts: TransferOptions, statePath: string): Promise<PartState | null> {
  const part = await lstatOrNull(opts.partPath);
  const state = part?.isFile() ? await readPartState(statePath) : null;
  if (state && state.key === opts.key && part!.size <= state.size) return state;
  if (part?.isFile()) await unlink(opts.partPath).catch(() => undefined);
  await unlink(statePath).catch(() => undefined);
  return null;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** Chunks of 4-64 MiB, about 8 per connection: the hash cursor stays close to the front, requests stay few. */
function chunkSizeFor(size: number, connections: number): number {
  return Math.max(4 * MIB, Math.min(64 * MIB, Math.ceil(size / Math.max(1, connections * 8) / MIB) * MIB));
}

/** Drops a response body; an abort error from the drop itself is expected and ignored. */
function discard(body: HopResponse['body'] | undefined): void {
  if (!body) return;
  body.on('error', () => undefined);
  body.destroy();
}

async function writeAll(part: PartFile, bytes: Buffer, position: number): Promise<void> {
  try {
    await part.write(bytes, position);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The .part is kept with its state file (what was written is good): freeing space and running get again continues it.
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new DownloadError('disk_full', `disk full writing ${part.path}: free some space and run get again to continue (the bytes so far are kept; delete the .part to give up)`);
    if (err instanceof RetriesExhausted) {
      throw new DownloadError('write_failed', `writing ${basename(part.path)}: the folder's mount kept failing (${err.reason}, ${err.tries} tries); the .part is kept: once the mount answers again (on Colab: remount Drive), run get again to resume`, false, { cause: err });
    }
    throw err;
  }
}

async function readSmall(res: HopResponse): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const b of res.body as AsyncIterable<Buffer>) {
      parts.push(b);
      n += b.length;
      if (n > 64 * 1024) break;
    }
  } catch {
    /* the error text is a courtesy */
  }
  discard(res.body);
  return Buffer.concat(parts).toString('utf8');
}

function totalFromContentRange(v: string | undefined): number {
  const m = /\/(\d+)\s*$/.exec(v ?? '');
  return m ? Number(m[1]) : NaN;
}

function rangeStart(v: string | undefined): number {
  const m = /bytes\s+(\d+)-/.exec(v ?? '');
  return m ? Number(m[1]) : NaN;
}

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return /^(UND_ERR|ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN)/.test(code) || (err as Error)?.name === 'SocketError' || /other side closed|terminated/i.test((err as Error)?.message ?? '');
}

export { parseRetryAfter };
