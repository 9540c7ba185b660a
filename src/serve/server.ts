/**
 * `modeldeck serve`: the models panel as a web page. One ModelSession for the
 * whole server (every tab sees the same state; one scan at a time; what one
 * tab does shows in the others), carried over plain HTTP:
 *
 *   GET  ./                    the page (opened first with ?token=…, which sets the cookie)
 *   GET  ./panel.js, panel.css the page's own files
 *   GET  ./api/snapshot        {state, lastEventId, readOnly} (cards come as windows: POST a `window` request)
 *   GET  ./api/events          Server-Sent Events after ?since= / Last-Event-ID
 *   POST ./api/request         a panel request {type, requestId, ...}; 202, the reply comes as an event
 *   POST ./api/settings        {settings: {...}}; 202, the new state comes as an event
 *   GET  ./api/previews/<id>   a card's preview, by card id only
 *
 * Routes are matched on the end of the path, so a proxy that keeps its prefix
 * (jupyter-server-proxy's /proxy/absolute/<port>/) works as well as one that
 * strips it. Node's own `http`; a switch is all the routing there is.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { getManager } from '../core/library';
import { ModelSession, type LibraryOpener } from '../kernel/widget';
import { BroadcastHost, type BroadcastComm } from './broadcast-comm';
import { BodyError, readJson } from './body';
import { EventLog } from './event-log';
import { Guard, securityHeaders } from './guard';
import { servePage, serveAsset } from './page';
import { servePreview } from './previews-route';
import { sendError, sendJson } from './respond';
import { EventStreams } from './sse';

export interface ServeOptions {
  roots: string[];
  port: number;
  host: string;
  token: string | null;
  readOnly: boolean;
  allowFrame: boolean;
  allowHosts: string[];
  allowOrigins: string[];
  /** The Civitai token (its presence is shown; the token itself never leaves). */
  civitaiToken?: string;
  limits?: Partial<ServeLimits>;
  /** For tests: how often the session looks for others' index changes. */
  indexPollMs?: number;
}

export interface ServeLimits {
  bodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxStreams: number;
  maxConnections: number;
  streamBufferBytes: number;
  heartbeatMs: number;
  replayEvents: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  bodyBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxStreams: 100,
  maxConnections: 400,
  streamBufferBytes: 8 * 1024 * 1024,
  heartbeatMs: 15_000,
  replayEvents: 5000,
};

/** What a read-only server still answers: looking, never changing. */
export const READ_ONLY_REQUESTS = new Set(['window', 'details', 'previews', 'duplicates']);

export class ServeServer {
  readonly session: ModelSession;
  readonly log: EventLog;
  readonly streams: EventStreams;
  private readonly comm: BroadcastComm;
  private guard: Guard;
  private readonly limits: ServeLimits;
  private readonly http: Server;
  private port = 0;

  private constructor(
    private readonly opts: ServeOptions,
    library: LibraryOpener,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = new EventLog({ maxEvents: this.limits.replayEvents });
    const host = new BroadcastHost(this.log);
    const token = opts.civitaiToken && opts.civitaiToken.trim() !== '' ? opts.civitaiToken : undefined;
    this.session = ModelSession.open(host, opts.roots, library, {
      civitai: true,
      tokenSet: token !== undefined,
      secrets: token ? [token] : [],
      indexPollMs: opts.indexPollMs,
      // Read-only: nothing is written into the library, not even the kept first window.
      firstWindowCache: !opts.readOnly,
    });
    this.comm = host.comm!;
    this.streams = new EventStreams(this.log, {
      maxStreams: this.limits.maxStreams,
      maxBufferedBytes: this.limits.streamBufferBytes,
      heartbeatMs: this.limits.heartbeatMs,
      retryMs: 1000,
    });
    this.guard = new Guard(guardOptionsOf(opts));
    // Timeouts are checked this often (Node's default, 30 s, would let a slow client hold a socket that long past its limit).
    this.http = createServer({ connectionsCheckingInterval: Math.min(1000, this.limits.headersTimeoutMs) }, (req, res) => void this.handle(req, res));
    this.http.headersTimeout = this.limits.headersTimeoutMs;
    this.http.requestTimeout = this.limits.requestTimeoutMs;
    this.http.keepAliveTimeout = 5000;
    this.http.maxConnections = this.limits.maxConnections;
  }

  /** Opens the library and listens; resolves once the port is bound. */
  static async start(opts: ServeOptions): Promise<ServeServer> {
    const roots = opts.roots.map((r) => resolve(r));
    const server = new ServeServer({ ...opts, roots }, (snapshots) => getManager(roots, { snapshots }));
    await server.listen();
    return server;
  }

  get url(): string {
    const host = this.opts.host === '0.0.0.0' || this.opts.host === '::' ? '127.0.0.1' : this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `http://${host}:${this.port}/${this.opts.token === null ? '' : `?token=${this.opts.token}`}`;
  }

  get boundPort(): number {
    return this.port;
  }

  /**
   * Stops: a running scan is cancelled (what it finished stays in the index),
   * the event streams end, the library closes.
   */
  async stop(): Promise<void> {
    this.session.cancel();
    const deadline = Date.now() + 30_000;
    while (this.session.isScanning && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.session.close();
    this.streams.endAll();
    await new Promise<void>((r) => {
      this.http.close(() => r());
      this.http.closeAllConnections();
    });
    await this.session.library?.close();
  }

  private listen(): Promise<void> {
    return new Promise((resolveListen, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new Error(`port ${this.opts.port} on ${this.opts.host} is in use: pick another with --port`));
        else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`${this.opts.host} is not an address of this machine`));
        else reject(err);
      };
      this.http.once('error', onError);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', onError);
        this.port = (this.http.address() as AddressInfo).port;
        // The guard's cookie name needs the real port when port 0 was asked for.
        if (this.opts.port === 0) this.guard = new Guard({ ...guardOptionsOf(this.opts), port: this.port });
        resolveListen();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    securityHeaders(res, this.opts.allowFrame);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://server.invalid');
    } catch {
      return sendError(res, 400, 'bad_url', 'malformed URL');
    }
    const path = url.pathname;
    const asset = /(?:^|\/)(panel\.js|panel\.css)$/.exec(path);
    try {
      if (asset && isGet(req)) {
        if (!this.hostOk(req, res)) return;
        return serveAsset(res, asset[1]);
      }
      const verdict = this.guard.check(req, url);
      if (!verdict.ok) {
        if (verdict.code === 'bad_token') req.resume();
        return sendError(res, verdict.status, verdict.code, verdict.message);
      }
      if (path.endsWith('/') || path.endsWith('/index.html')) {
        if (!isGet(req)) return methodNotAllowed(res);
        return servePage(req, res, verdict.tokenFromUrl ? this.guard.cookie() : null);
      }
      const preview = /(?:^|\/)api\/previews\/([^/]+)$/.exec(path);
      if (preview) {
        if (!isGet(req)) return methodNotAllowed(res);
        return await servePreview(req, res, this.session, preview[1]);
      }
      const api = /(?:^|\/)api\/(snapshot|events|request|settings)$/.exec(path);
      switch (api?.[1]) {
        case 'snapshot':
          if (!isGet(req)) return methodNotAllowed(res);
          return this.snapshot(req, res);
        case 'events': {
          if (!isGet(req)) return methodNotAllowed(res);
          const lastId = req.headers['last-event-id'];
          return this.streams.serve(req, res, typeof lastId === 'string' ? lastId : url.searchParams.get('since'));
        }
        case 'request':
          if (req.method !== 'POST') return methodNotAllowed(res);
          return await this.request(req, res);
        case 'settings':
          if (req.method !== 'POST') return methodNotAllowed(res);
          return await this.settings(req, res);
      }
      return sendError(res, 404, 'not_found', 'no such page');
    } catch (err) {
      if (err instanceof BodyError) {
        // The connection is not reused after a refused body. When the upload was
        // read to its end (see body.ts) the answer goes out on an orderly close;
        // otherwise the client is still sending and is cut off.
        res.setHeader('Connection', 'close');
        sendError(res, err.status, err.code, err.message);
        if (!err.drained) req.destroy();
        return;
      }
      sendError(res, 500, 'internal', this.session.scrub((err as Error).message ?? String(err)));
    }
  }

  private hostOk(req: IncomingMessage, res: ServerResponse): boolean {
    const verdict = this.guard.checkHost(req);
    if (!verdict.ok) {
      sendError(res, verdict.status, verdict.code, verdict.message);
      return false;
    }
    return true;
  }

  private snapshot(req: IncomingMessage, res: ServerResponse): void {
    const { state } = this.comm.mirror.snapshot();
    const accept = req.headers['accept-encoding'];
    sendJson(res, 200, { ok: true, state, lastEventId: this.log.lastId, readOnly: this.opts.readOnly }, typeof accept === 'string' ? accept : undefined);
  }

  private async request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req, this.limits.bodyBytes)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof body.type !== 'string') return sendError(res, 400, 'bad_request', 'a request is a JSON object with a string "type"');
    if (this.opts.readOnly && !READ_ONLY_REQUESTS.has(body.type)) return sendError(res, 403, 'read_only', `this server is read-only (--read-only): "${body.type.slice(0, 40)}" is refused`);
    this.comm.deliver({ method: 'custom', content: body });
    sendJson(res, 202, { ok: true });
  }

  private async settings(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req, this.limits.bodyBytes)) as { settings?: unknown } | null;
    if (!body || typeof body.settings !== 'object' || body.settings === null || Array.isArray(body.settings)) return sendError(res, 400, 'bad_request', 'send {"settings": {...}}');
    if (this.opts.readOnly) return sendError(res, 403, 'read_only', 'this server is read-only (--read-only): settings are refused');
    this.comm.deliver({ method: 'update', state: { settings: body.settings } });
    sendJson(res, 202, { ok: true });
  }
}

function guardOptionsOf(o: ServeOptions) {
  return { token: o.token, bindHost: o.host, port: o.port, allowHosts: o.allowHosts.map((h) => h.toLowerCase()), allowOrigins: o.allowOrigins, allowFrame: o.allowFrame };
}

function isGet(req: IncomingMessage): boolean {
  return req.method === 'GET' || req.method === 'HEAD';
}

function methodNotAllowed(res: ServerResponse): void {
  sendError(res, 405, 'method', 'method not allowed');
}
