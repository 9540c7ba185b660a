/**
 * A fake storage host for downloads (what Civitai's download endpoint
 * redirects to: a signed URL on another origin), over real HTTP on 127.0.0.1.
 * Ranges, If-Range with ETag, Content-Disposition, and the faults a download
 * meets: a connection dropped at byte N, a bandwidth cap per connection, a
 * body one byte short of its Content-Length, wrong bytes, an HTML page, an
 * error status, an expired signature. Counts the bytes it served.
 *
 *   const storage = await new FakeStorage().start();
 *   const url = storage.add('x.safetensors', bytes);    // a signed URL
 *   storage.faults.dropAtByte = 1_000_000;
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback-server';

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export interface StoredFile {
  name: string;
  bytes: Buffer;
  etag: string;
  lastModified: string;
}

export interface StorageFaults {
  /** Close the connection once this many bytes of a body (counted from the file's start) have been sent; cleared after firing once. */
  dropAtByte?: number;
  /** Stop sending (without closing) once this many bytes of the file have been sent; cleared after firing once. */
  stallAtByte?: number;
  /** Bytes per second per connection. */
  bytesPerSecond?: number;
  /** A request whose range starts at `start` is served at `bytesPerSecond` (one slow connection among fast ones). */
  slowRanges?: Array<{ start: number; bytesPerSecond: number }>;
  /** Send one byte less than Content-Length says, then close. */
  shortByOne?: boolean;
  /** Flip bytes in what is served (the Content-Length stays right). */
  wrongBytes?: boolean;
  /** Answer with this status and a JSON error body. */
  status?: number;
  /** Answer 200 with an HTML page. */
  html?: boolean;
  /** No ranges: ignore Range and answer 200 with the whole file. */
  noRanges?: boolean;
  /** Refuse every signature issued before this time (signed URLs expired). */
  expireBefore?: number;
  /** A signature serves one request; later ones get 403 "expired" (so any retry must ask for a fresh URL). */
  singleUse?: boolean;
}

export interface StorageRequest {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
  authorization: string | undefined;
  status: number;
  /** When it arrived, and when its response ended or its connection closed (ms since epoch): which ranges were in flight together. */
  at: number;
  /** When its body started: a request pipelined behind another on its connection waits for that one's end. */
  startedAt?: number;
  closedAt?: number;
  /** Body bytes written for it. */
  bytes: number;
  /** The client's port: requests with the same port came over one kept-alive connection. */
  port: number | undefined;
  /** It arrived while the answer before it on its connection was still being sent (HTTP pipelining). */
  pipelined: boolean;
}

export class FakeStorage {
  readonly files = new Map<string, StoredFile>();
  readonly requests: StorageRequest[] = [];
  faults: StorageFaults = {};
  /** Body bytes written to sockets, all requests together. */
  bytesServed = 0;
  /** Bodies being sent now, and the most at once: how many capped streams a client really had. */
  sending = 0;
  maxSending = 0;
  private readonly secret = randomBytes(8).toString('hex');
  private readonly usedSignatures = new Set<string>();

  private readonly http = new LoopbackServer('FakeStorage', (req, res) => void this.handle(req, res));

  /** `http://127.0.0.1:PORT`, once started. */
  get url(): string {
    return this.http.url;
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.http.stop();
  }

  /** Stores bytes under an id; returns the id. */
  put(id: string, name: string, bytes: Buffer): string {
    const etag = `"${createHash('sha1').update(bytes).digest('hex')}"`;
    this.files.set(id, { name, bytes, etag, lastModified: new Date(Date.UTC(2026, 0, 1)).toUTCString() });
    return id;
  }

  /** A freshly signed URL for a stored id. */
  signedUrl(id: string): string {
    const issued = Date.now();
    const sig = createHash('sha256').update(`${this.secret}:${id}:${issued}`).digest('hex').slice(0, 16);
    return `${this.url}/blob/${encodeURIComponent(id)}?issued=${issued}&sig=${sig}`;
  }

  private check(id: string, url: URL): boolean {
    const issued = Number(url.searchParams.get('issued'));
    const sig = createHash('sha256').update(`${this.secret}:${id}:${issued}`).digest('hex').slice(0, 16);
    if (url.searchParams.get('sig') !== sig) return false;
    if (this.faults.singleUse) {
      if (this.usedSignatures.has(sig)) return false;
      this.usedSignatures.add(sig);
    }
    return !(this.faults.expireBefore && issued < this.faults.expireBefore);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const at = Date.now();
    const record = (status: number) => {
      const r: StorageRequest = { path: url.pathname, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, authorization: req.headers.authorization, status, at, bytes: 0, port: req.socket.remotePort, pipelined: !res.socket };
      this.requests.push(r);
      res.once('close', () => (r.closedAt = Date.now()));
      return r;
    };
    const m = /^\/blob\/([^/]+)$/.exec(url.pathname);
    const file = m ? this.files.get(decodeURIComponent(m[1])) : undefined;
    if (!file || !m) return this.plain(res, record, 404, { error: 'no such blob' });
    if (!this.check(decodeURIComponent(m[1]), url)) return this.plain(res, record, 403, { error: 'Request has expired' });
    const f = this.faults;
    if (f.status) return this.plain(res, record, f.status, { error: `fault ${f.status}` });
    if (f.html) {
      record(200);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><body>Please log in</body></html>');
      return;
    }
    const size = file.bytes.length;
    let start = 0;
    let end = size; // exclusive
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'] as string | undefined;
    const rangeApplies = range && !f.noRanges && (!ifRange || ifRange === file.etag || ifRange === file.lastModified);
    if (rangeApplies) {
      start = Number(range[1]);
      end = range[2] ? Math.min(size, Number(range[2]) + 1) : size;
      if (start >= size || end <= start) {
        record(416);
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        res.end();
        return;
      }
      status = 206;
    }
    const log = record(status);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(end - start),
      etag: file.etag,
      'last-modified': file.lastModified,
      'content-disposition': `attachment; filename="${file.name.replace(/"/g, '\\"')}"`,
    };
    if (!f.noRanges) headers['accept-ranges'] = 'bytes';
    if (status === 206) headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
    res.writeHead(status, headers);
    res.flushHeaders();
    const slow = status === 206 ? f.slowRanges?.find((s) => s.start === start) : undefined;
    await this.send(res, file.bytes, start, f.shortByOne ? end - 1 : end, log, Boolean(f.shortByOne), slow?.bytesPerSecond);
  }

  /** Writes [start, end) at the capped rate, honouring backpressure and the drop fault. */
  private async send(res: ServerResponse, bytes: Buffer, start: number, end: number, log: StorageRequest, cutShort = false, rate?: number): Promise<void> {
    const served = (n: number) => {
      this.bytesServed += n;
      log.bytes += n;
    };
    const cap = rate ?? this.faults.bytesPerSecond;
    // The cap is per connection: an answer pipelined behind another starts its clock once it has the
    // socket (node holds it back until the answer before it ends), so waiting in line earns no burst.
    if (!res.socket) await new Promise<void>((resolve) => {
      res.once('socket', () => resolve());
      res.once('close', () => resolve());
    });
    const began = Date.now();
    log.startedAt = began;
    this.maxSending = Math.max(this.maxSending, ++this.sending);
    // A body ends when it is all sent or when the client drops the connection (noticed at once, not at the
    // next paced piece: a client that cut an answer and asked elsewhere did not have two at once).
    let ended = false;
    const bodyEnded = () => {
      if (!ended) this.sending--;
      ended = true;
    };
    res.once('close', bodyEnded);
    try {
      await this.pour(res, bytes, start, end, log, served, cap, began, cutShort);
    } finally {
      bodyEnded();
    }
  }

  private async pour(res: ServerResponse, bytes: Buffer, start: number, end: number, log: StorageRequest, served: (n: number) => void, cap: number | undefined, began: number, cutShort: boolean): Promise<void> {
    const piece = 64 * 1024;
    let sent = 0;
    for (let at = start; at < end; ) {
      if (res.destroyed) return;
      let n = Math.min(piece, end - at);
      const drop = this.faults.dropAtByte;
      if (drop !== undefined && at + n >= drop && drop >= at) {
        n = drop - at;
        if (n > 0) this.write(res, bytes, at, n);
        served(n);
        this.faults.dropAtByte = undefined;
        res.socket?.destroy();
        return;
      }
      const stall = this.faults.stallAtByte;
      if (stall !== undefined && at + n >= stall && stall >= at) {
        this.faults.stallAtByte = undefined;
        if (stall > at) this.write(res, bytes, at, stall - at);
        served(stall - at);
        // Silence until the client gives up on this connection.
        await new Promise<void>((resolve) => res.once('close', resolve));
        return;
      }
      const ok = this.write(res, bytes, at, n);
      served(n);
      at += n;
      sent += n;
      if (!ok) await drained(res);
      if (cap) {
        const due = began + (sent / cap) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    // A body cut short: the connection closes with the response unfinished, as a dying proxy leaves it.
    if (cutShort) res.socket?.destroy();
    else res.end();
  }

  private write(res: ServerResponse, bytes: Buffer, at: number, n: number): boolean {
    let chunk = bytes.subarray(at, at + n);
    if (this.faults.wrongBytes) chunk = Buffer.from(chunk.map((b) => b ^ 0xff));
    return res.write(chunk);
  }

  private plain(res: ServerResponse, record: (s: number) => unknown, status: number, body: unknown): void {
    record(status);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
