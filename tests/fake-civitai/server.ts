/**
 * A fake Civitai over real HTTP on 127.0.0.1 (ephemeral port), for tests and
 * the offline demo. It serves the REST API from the real fixture bodies the way
 * reference §10 describes, counts requests per endpoint, and injects the faults
 * of faults.ts on demand. No test framework imports: usable from any script.
 *
 *   const fake = new FakeCivitai();
 *   await fake.start();           // fake.url = http://127.0.0.1:PORT
 *   fake.addVersion({ files: [{ name: 'x.safetensors', hashes: { SHA256: '...' } }] });
 *   fake.inject({ kind: 'status', status: 429, retryAfter: 1 }, { route: 'by-hash' });
 *   fake.count('by-hash-bulk');
 *   await fake.stop();
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { CLOUDFLARE_PAGE, FaultQueue, NEXT_404_PAGE, type Fault, type RouteName } from './faults';
import { tinyJpeg, tinyPng, tinyWebp } from './images';
import type { FakeStorage } from './storage';
import { modelBody, Records, rewriteImageUrl, versionBody, type NewVersion, type Raw } from './records';
import { LoopbackServer } from './loopback-server';

export interface FakeCivitaiOptions {
  /** Directory of fixture bodies to serve. Default: tests/fixtures/civitai. `null`: start empty. */
  fixturesDir?: string | null;
  /** A token the download endpoint accepts (as Bearer or `?token=`). */
  token?: string;
}

export interface RequestRecord {
  route: RouteName;
  method: string;
  /** Path and query as received. */
  url: string;
  /** Arrival time on the monotonic clock (ms since the epoch with sub-ms precision): for gaps between requests. */
  at: number;
  /** Arrival time on the wall clock (Date.now()): for comparing with HTTP dates. The monotonic clock drifts from
   * the wall clock in a long-lived process (seconds, seen on this VM), so the two must not be mixed. */
  wallAt: number;
  authorization: string | undefined;
  accept: string | undefined;
  /** Request body as text ('' for none). */
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const PUBLIC_CACHE = 'public, s-maxage=300, stale-while-revalidate=150';
const BY_HASH_CACHE = 'public, s-maxage=3600, stale-while-revalidate=1800';
const TOO_MANY_PAGES = "You've requested too many pages, please use cursors instead";
const LEGACY_LEVEL_NAME: Record<number, string> = { 1: 'None', 2: 'Soft', 4: 'Mature', 8: 'X', 16: 'X', 32: 'Blocked' };

export class FakeCivitai {
  readonly records = new Records();
  readonly requests: RequestRecord[] = [];
  private readonly faults = new FaultQueue();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly token: string | undefined;
  /** Where downloads redirect to (a signed URL on another port), when set; else the fake's own `/files/`. */
  storage: FakeStorage | undefined;
  /** Items per page of `GET /models`, below the `limit` asked (a server that pages smaller). Default: the limit. */
  modelsPageSize: number | undefined;

  constructor(options: FakeCivitaiOptions = {}) {
    this.token = options.token;
    const dir = options.fixturesDir === undefined ? join(__dirname, '..', 'fixtures', 'civitai') : options.fixturesDir;
    if (dir) this.records.loadFixtures(dir);
  }

  private readonly http = new LoopbackServer('FakeCivitai', (req, res) => void this.handle(req, res));

  /** `http://127.0.0.1:PORT`, once started. */
  get url(): string {
    return this.http.url;
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.http.stop();
  }

  // ---- test controls ----

  /** Registers a model version with files a test generated (see NewVersion). */
  addVersion(spec: NewVersion): { modelId: number; versionId: number; fileIds: number[] } {
    const ids = this.records.addVersion(spec);
    // With a storage host attached the files go there now, as Civitai's storage holds a file before anyone
    // asks for it: the download redirect then only signs a URL. (Put lazily, a 1 GiB file was hashed for its
    // ETag, ~0.8 s, while the first download request waited: bench:download charged that to get alone.)
    const files: Raw[] = this.records.version(ids.versionId)?.version.files ?? [];
    if (this.storage) for (const f of files) if (ids.fileIds.includes(f.id) && this.records.contents.has(f.id)) this.stored(f);
    return ids;
  }

  /** Adds or replaces a whole `/models` record. */
  addModel(record: Raw): void {
    this.records.addModel(record);
  }

  /** Queues a fault for the next `times` requests (default 1) to `route` (default any). `times: Infinity` keeps it. */
  inject(fault: Fault, options: { route?: RouteName | RouteName[]; times?: number } = {}): void {
    this.faults.add(fault, options);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Requests received for a route (all routes when omitted). */
  count(route?: RouteName): number {
    return route ? this.requests.filter((r) => r.route === route).length : this.requests.length;
  }

  counts(): Partial<Record<RouteName, number>> {
    const out: Partial<Record<RouteName, number>> = {};
    for (const r of this.requests) out[r.route] = (out[r.route] ?? 0) + 1;
    return out;
  }

  /** Forgets recorded requests and queued faults (not registered data). */
  reset(): void {
    this.requests.length = 0;
    this.faults.clear();
  }

  // ---- serving ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.timeOrigin + performance.now();
    const wallAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://x');
    const route = routeOf(url.pathname);
    const record: RequestRecord = { route, method: req.method ?? 'GET', url: req.url ?? '/', at, wallAt, authorization: req.headers.authorization, accept: req.headers.accept, body: '' };
    this.requests.push(record);
    const body = await readBody(req);
    record.body = body;
    const origin = `http://${req.headers.host ?? this.url.slice(7)}`;

    const fault = this.faults.take(route);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'slow') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, fault.delayMs);
        this.timers.add(t);
      });
      if (res.destroyed || !this.http.running) return;
    }
    if (fault && fault.kind !== 'slow' && fault.kind !== 'truncated') return this.sendFault(res, fault);

    let answer: Answer;
    try {
      answer = this.route(route, req.method ?? 'GET', url, body, origin, req.headers);
    } catch (err) {
      answer = json(500, { message: 'An unexpected error occurred', error: err instanceof Error ? err.message : String(err) });
    }
    if (fault?.kind === 'truncated' && typeof answer.body === 'string') {
      answer = { ...answer, status: 200, body: answer.body.slice(0, Math.max(1, Math.floor(answer.body.length / 2))) };
    }
    send(res, answer);
  }

  private sendFault(res: ServerResponse, fault: Fault): void {
    switch (fault.kind) {
      case 'status': {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
        const message = fault.status === 429 ? 'Too Many Requests' : fault.status === 503 ? 'Server busy, please retry shortly.' : 'An unexpected error occurred';
        return send(res, { ...json(fault.status, fault.body ?? { error: message }), headers: { ...headers, 'cache-control': 'no-store' } });
      }
      case 'invalid-json':
        return send(res, { status: 200, type: JSON_TYPE, body: "{'items': [undefined, NaN]}" });
      case 'redirect':
        res.writeHead(fault.status ?? 302, { location: fault.location, 'content-length': '0' });
        res.end();
        return;
      case 'html':
        return send(res, { status: fault.status ?? 502, type: 'text/html; charset=UTF-8', body: CLOUDFLARE_PAGE });
      case 'body':
        return send(res, json(fault.status ?? 200, fault.body));
      default:
        return send(res, json(500, { error: `fault ${fault.kind} cannot be sent here` }));
    }
  }

  private route(route: RouteName, method: string, url: URL, body: string, origin: string, headers: IncomingMessage['headers']): Answer {
    const segs = url.pathname.split('/').filter(Boolean);
    switch (route) {
      case 'by-hash-bulk':
        return this.bulkByHash(body, origin);
      case 'by-hash-ids':
        return this.bulkIds(body);
      case 'by-hash': {
        const hash = decodeURIComponent(segs[4] ?? '').toUpperCase();
        if (!hash) return json(400, { error: 'Missing hash' });
        const [hit] = this.records.byAnyHash(hash);
        if (!hit) return json(404, { error: 'Model not found' });
        if (hit.version.__noPrimaryFile) return json(404, { error: 'Missing model file' });
        return { ...json(200, versionBody(hit.model, hit.version, origin)), headers: { 'cache-control': BY_HASH_CACHE } };
      }
      case 'model-version': {
        if (method !== 'GET') return json(405, { error: 'Method not allowed' });
        const id = intParam(segs[3]);
        if (id === null) return json(400, { error: `Invalid id: ${segs[3]}` });
        const loc = this.records.version(id);
        if (!loc || (loc.version.status && loc.version.status !== 'Published')) return json(404, { error: 'Model not found' });
        if (loc.version.__noPrimaryFile) return json(404, { error: 'Missing model file' });
        return { ...json(200, versionBody(loc.model, loc.version, origin)), headers: { 'cache-control': PUBLIC_CACHE } };
      }
      case 'model': {
        const id = intParam(segs[3]);
        if (id === null) return json(400, { error: `Invalid id: ${segs[3]}` });
        const model = this.records.model(id);
        if (!model) return json(404, { error: `No model with id ${id}` });
        return { ...json(200, modelBody(model, origin)), headers: { 'cache-control': PUBLIC_CACHE } };
      }
      case 'models':
        if (method !== 'GET') return json(405, { error: 'Method not allowed' });
        return this.modelList(url, origin);
      case 'images':
        return this.images(url, origin);
      case 'download':
        return this.download(url, segs, headers.authorization);
      case 'file':
        return this.file(segs);
      case 'image-cdn':
        return cdnImage(url.pathname, headers.accept);
      default:
        return { status: 404, type: 'text/html; charset=utf-8', body: NEXT_404_PAGE };
    }
  }

  private bulkByHash(body: string, origin: string): Answer {
    const hashes = sha256List(body, 100);
    if (typeof hashes === 'string') return json(400, { error: `Request must include an array of SHA256 Hashes. ${hashes}` });
    const set = new Set(hashes.map((h) => h.toUpperCase()));
    // One element per matching file; a version without a primary file comes back as null.
    const items = this.records.bySha256(set).map(({ model, version }) => (version.__noPrimaryFile ? null : versionBody(model, version, origin)));
    return json(200, items);
  }

  private bulkIds(body: string): Answer {
    const hashes = sha256List(body, 10_000);
    if (typeof hashes === 'string') return json(400, { error: `Request must include an array of SHA256 Hashes. ${hashes}` });
    const set = new Set(hashes.map((h) => h.toUpperCase()));
    return json(200, this.records.bySha256(set).map(({ model, version, file }) => ({ modelVersionId: version.id, modelId: model.id, hash: file.hashes.SHA256 })));
  }

  private modelList(url: URL, origin: string): Answer {
    const q = url.searchParams;
    const limit = q.has('limit') ? Number(q.get('limit')) : 100;
    if (!Number.isInteger(limit) || limit < 0 || limit > 100) return json(400, { error: { issues: [{ code: 'too_big', path: ['limit'], message: 'Number must be less than or equal to 100' }] } });
    const page = q.has('page') ? Number(q.get('page')) : undefined;
    if (page !== undefined && q.has('query')) return json(400, { error: 'Cannot use page param with query search. Use cursor-based pagination.' });
    if (page !== undefined && page * limit > 1000) return json(429, { error: TOO_MANY_PAGES });

    let models = this.records.allModels();
    const ids = q.get('ids');
    if (ids) {
      const want = new Set(ids.split(',').map(Number));
      models = models.filter((m) => want.has(m.id));
    }
    const types = q.getAll('types');
    if (types.length) models = models.filter((m) => types.includes(m.type));
    const query = q.get('query')?.toLowerCase();
    if (query) models = models.filter((m) => String(m.name).toLowerCase().includes(query));
    // Without nsfw=true only models with a PG level are listed (a model without a level: unless flagged nsfw).
    if (q.get('nsfw') !== 'true') models = models.filter((m) => (typeof m.nsfwLevel === 'number' ? (m.nsfwLevel & 1) !== 0 : !m.nsfw));

    const offset = page !== undefined ? (page - 1) * limit : Number(q.get('cursor') ?? 0) || 0;
    const size = Math.min(limit, this.modelsPageSize ?? limit);
    const items = models.slice(offset, offset + size).map((m) => modelBody(m, origin, true));
    const metadata: Raw = {};
    if (offset + size < models.length) {
      metadata.nextCursor = String(offset + size);
      const next = new URL(url.pathname + url.search, origin);
      next.searchParams.set('cursor', metadata.nextCursor);
      next.searchParams.delete('page');
      metadata.nextPage = next.toString();
    }
    if (page !== undefined) {
      metadata.currentPage = page;
      metadata.pageSize = limit;
    }
    return { ...json(200, { items, metadata }), headers: { 'cache-control': PUBLIC_CACHE } };
  }

  private images(url: URL, origin: string): Answer {
    const q = url.searchParams;
    const limit = q.has('limit') ? Number(q.get('limit')) : 100;
    if (!Number.isInteger(limit) || limit < 0 || limit > 200) return json(400, { error: 'limit must be 0..200' });
    const vid = q.has('modelVersionId') ? intParam(q.get('modelVersionId')!) : null;
    const mask = q.has('browsingLevel') ? Number(q.get('browsingLevel')) : q.get('nsfw') === 'true' ? 31 : 1;
    const withMeta = q.get('withMeta') === 'true';
    const located = vid !== null ? [this.records.version(vid)].filter(Boolean) : [];
    const all: Raw[] = [];
    for (const loc of located) {
      (loc!.version.images ?? []).forEach((img: Raw, i: number) => {
        const level = typeof img.nsfwLevel === 'number' ? img.nsfwLevel : img.nsfw === true ? 4 : ({ None: 1, Soft: 2, Mature: 4, X: 8 } as Raw)[img.nsfw] ?? 1;
        if ((level & mask) === 0) return;
        all.push({
          id: img.id ?? Number(/(\d+)\.\w+$/.exec(img.url)?.[1] ?? loc!.version.id * 100 + i),
          url: rewriteImageUrl(img.url, origin),
          hash: img.hash,
          width: img.width,
          height: img.height,
          nsfwLevel: LEGACY_LEVEL_NAME[level] ?? 'X',
          type: img.type ?? 'image',
          nsfw: level > 1,
          browsingLevel: level,
          createdAt: loc!.version.createdAt ?? null,
          postId: loc!.version.id,
          stats: { cryCount: 0, laughCount: 0, likeCount: 0, dislikeCount: 0, heartCount: 0, commentCount: 0 },
          meta: withMeta ? (img.meta ?? null) : null,
          username: loc!.model.creator?.username ?? null,
          baseModel: loc!.version.baseModel ?? null,
          modelVersionIds: [loc!.version.id],
        });
      });
    }
    const offset = Number(q.get('cursor') ?? 0) || 0;
    const items = all.slice(offset, offset + limit);
    const metadata: Raw = {};
    if (offset + limit < all.length) {
      metadata.nextCursor = offset + limit;
      const next = new URL(url.pathname + url.search, origin);
      next.searchParams.set('cursor', String(offset + limit));
      metadata.nextPage = next.toString();
    }
    return json(200, { items, metadata });
  }

  private download(url: URL, segs: string[], authorization: string | undefined): Answer {
    const id = intParam(segs[3]);
    if (id === null) return json(400, { error: 'Missing modelVersionId' });
    const loc = this.records.version(id);
    if (!loc || (loc.version.status && loc.version.status !== 'Published')) return json(404, { error: 'File not found' });
    if (loc.version.__requireAuth) {
      const given = authorization?.split(' ')[1] ?? url.searchParams.get('token') ?? undefined;
      if (!this.token || given !== this.token) {
        return json(401, { error: 'Unauthorized', message: 'The creator of this asset requires you to be logged in to download it' });
      }
    }
    const files: Raw[] = loc.version.files ?? [];
    const q = url.searchParams;
    const selectors = (['type', 'format', 'size', 'fp'] as const).filter((k) => q.has(k));
    let file: Raw | undefined;
    if (q.has('fileId')) file = files.find((f) => String(f.id) === q.get('fileId'));
    else if (selectors.length) {
      file = files.find((f) => selectors.every((k) => (k === 'type' ? f.type : f.metadata?.[k]) === q.get(k)));
    } else file = files.find((f) => f.primary === true) ?? files[0];
    if (!file) return json(404, { error: 'File not found' });
    // With a storage host attached, the redirect goes to a signed URL on another origin, as on Civitai.
    if (this.storage) return { status: 307, type: 'text/plain', body: '', headers: { location: this.storage.signedUrl(this.stored(file)) } };
    return { status: 307, type: 'text/plain', body: '', headers: { location: `/files/${id}/${file.id}/${encodeURIComponent(file.name)}` } };
  }

  /** The storage key of a file's bytes, put there on first need. */
  private stored(file: Raw): string {
    const key = `civitai-${file.id}`;
    if (!this.storage!.files.has(key)) this.storage!.put(key, file.name, this.records.contents.get(file.id) ?? Buffer.alloc(0));
    return key;
  }

  private file(segs: string[]): Answer {
    const fileId = intParam(segs[2]);
    const loc = this.records.version(intParam(segs[1]) ?? -1);
    const file = loc?.version.files?.find((f: Raw) => f.id === fileId);
    if (!file) return json(404, { error: 'File not found' });
    return {
      status: 200,
      type: 'application/octet-stream',
      body: this.records.contents.get(file.id) ?? Buffer.alloc(0),
      headers: { 'content-disposition': `attachment; filename="${file.name}"` },
    };
  }
}

interface Answer {
  status: number;
  type: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * Civitai's image server: a `.png` name is PNG; a `.webp` name is WebP
 * whatever was asked (an image only kept as WebP); any other name is WebP for
 * a client that accepts it, else JPEG, as the real server negotiates.
 */
function cdnImage(pathname: string, accept: string | undefined): Answer {
  if (pathname.endsWith('.png')) return { status: 200, type: 'image/png', body: tinyPng() };
  if (pathname.endsWith('.webp') || /image\/webp/i.test(accept ?? '')) return { status: 200, type: 'image/webp', body: tinyWebp() };
  return { status: 200, type: 'image/jpeg', body: tinyJpeg() };
}

function json(status: number, value: unknown): Answer {
  return { status, type: JSON_TYPE, body: JSON.stringify(value) };
}

function send(res: ServerResponse, a: Answer): void {
  if (res.destroyed) return;
  const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
  res.writeHead(a.status, { 'content-type': a.type, 'content-length': body.length, ...(a.headers ?? {}) });
  res.end(body);
}

function routeOf(path: string): RouteName {
  const p = path.replace(/\/+$/, '');
  if (p === '/api/v1/models') return 'models';
  if (/^\/api\/v1\/models\/[^/]+$/.test(p)) return 'model';
  if (p === '/api/v1/model-versions/by-hash/ids') return 'by-hash-ids';
  if (p === '/api/v1/model-versions/by-hash') return 'by-hash-bulk';
  if (/^\/api\/v1\/model-versions\/by-hash\/[^/]+$/.test(p)) return 'by-hash';
  if (/^\/api\/v1\/model-versions\/[^/]+$/.test(p)) return 'model-version';
  if (p === '/api/v1/images') return 'images';
  if (/^\/api\/download\/models\/[^/]+$/.test(p)) return 'download';
  if (/^\/files\/\d+\/\d+\/[^/]+$/.test(p)) return 'file';
  if (p.startsWith('/image-cdn/')) return 'image-cdn';
  return 'unknown';
}

function intParam(s: string): number | null {
  if (!/^\d+$/.test(s ?? '')) return null;
  const n = Number(s);
  return n >= 1 && n <= 2147483647 ? n : null;
}

/** The bulk endpoints' body: an array of 64-character strings, at most `max`; else the reason. */
function sha256List(body: string, max: number): string[] | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'Expected array, received string';
  }
  if (!Array.isArray(value)) return `Expected array, received ${value === null ? 'null' : typeof value}`;
  if (value.length > max) return `Array must contain at most ${max} element(s)`;
  for (const h of value) if (typeof h !== 'string' || h.length !== 64) return 'String must contain exactly 64 character(s)';
  return value as string[];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
    req.on('aborted', () => resolve(''));
  });
}
