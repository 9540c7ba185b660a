/**
 * The Civitai endpoints modeldeck uses, each returning the typed shapes of
 * parse.ts. Batching limits are the server's (reference §4.4, §4.1): 100 SHA256
 * per bulk by-hash call, 10,000 per by-hash/ids call, 100 ids per /models call.
 */
import { resolveConfig, type CivitaiConfig, type CivitaiOptions } from './config';
import { NotFound } from './errors';
import { CivitaiHttp } from './http';
import { AdaptiveLimiter } from './limiter';
import {
  parseHashMatches,
  parseImagePage,
  parseModel,
  parseModelVersion,
  parseModelVersionList,
  type HashMatch,
  type Model,
  type ModelVersion,
  type ParseContext,
  type PreviewImage,
} from './parse';
import { ResponseCache } from './cache';
import { resolveFiles, type ResolveInput, type ResolveOptions, type ResolveResult } from './resolve';
import { fetchModelsById, type ModelsByIdOptions, type ModelsByIdResult } from './models-by-id';

export const BULK_BY_HASH_MAX = 100;
export const BULK_IDS_MAX = 10_000;
export const MODELS_IDS_MAX = 100;

export interface CallOptions {
  signal?: AbortSignal;
}

export class CivitaiClient {
  readonly config: CivitaiConfig;
  readonly http: CivitaiHttp;
  readonly cache: ResponseCache;

  constructor(options: CivitaiOptions = {}, deps: { limiter?: AdaptiveLimiter; random?: () => number; env?: NodeJS.ProcessEnv } = {}) {
    this.config = resolveConfig(options, deps.env);
    this.http = new CivitaiHttp(this.config, deps);
    this.cache = new ResponseCache(this.config.cacheDir, {
      positiveTtlMs: this.config.positiveTtlMs,
      negativeTtlMs: this.config.negativeTtlMs,
      modelTtlMs: this.config.modelTtlMs,
    });
  }

  /** The limiter shared by every request of this client. */
  get limiter(): AdaptiveLimiter {
    return this.http.limiter;
  }

  /** Requests sent to Civitai by this client so far, retries included. */
  get requestCount(): number {
    return this.http.requestCount;
  }

  /** Origins asked in order: the base, then the fallbacks (for a JSON 404 only). */
  get hosts(): string[] {
    return [this.config.baseUrl, ...this.config.fallbackBaseUrls];
  }

  /** The version holding a file with this hash (any of the six types, any case); tries fallback hosts on 404. */
  getVersionByHash(hash: string, opts: CallOptions = {}): Promise<ModelVersion> {
    return this.onAnyHost((base) => this.getVersionByHashOn(base, hash, opts));
  }

  /** Same, on one host only: NotFound means "not on this host". */
  async getVersionByHashOn(base: string, hash: string, opts: CallOptions = {}): Promise<ModelVersion> {
    const h = hash.trim().toUpperCase();
    if (!/^[0-9A-F]+$/.test(h)) throw new TypeError(`not a hex hash: "${hash}"`);
    const path = `/api/v1/model-versions/by-hash/${h}`;
    const raw = await this.http.json({ base, path, signal: opts.signal });
    return parseModelVersion(raw, this.context(base, path));
  }

  /**
   * Versions for many SHA256 at once (`POST by-hash`, 100 per call). One element
   * per matching file; unmatched hashes are simply absent, as are versions the
   * server answers with `null`.
   */
  async getVersionsByHashes(sha256s: string[], opts: CallOptions & { base?: string } = {}): Promise<ModelVersion[]> {
    const base = opts.base ?? this.config.baseUrl;
    const path = '/api/v1/model-versions/by-hash';
    const out: ModelVersion[] = [];
    for (const chunk of chunks(uniqueSha256(sha256s), BULK_BY_HASH_MAX)) {
      const raw = await this.http.json({ method: 'POST', base, path, body: chunk, signal: opts.signal });
      out.push(...parseModelVersionList(raw, this.context(base, path)).versions);
    }
    return out;
  }

  /** Which versions hold these SHA256 (`POST by-hash/ids`, 10,000 per call): the cheapest existence check. */
  async getVersionIdsByHashes(sha256s: string[], opts: CallOptions = {}): Promise<HashMatch[]> {
    const base = this.config.baseUrl;
    const path = '/api/v1/model-versions/by-hash/ids';
    const out: HashMatch[] = [];
    for (const chunk of chunks(uniqueSha256(sha256s), BULK_IDS_MAX)) {
      const raw = await this.http.json({ method: 'POST', base, path, body: chunk, signal: opts.signal });
      out.push(...parseHashMatches(raw, this.context(base, path)));
    }
    return out;
  }

  /** One version by id; tries fallback hosts on 404. */
  getVersion(versionId: number, opts: CallOptions = {}): Promise<ModelVersion> {
    const path = `/api/v1/model-versions/${positive(versionId)}`;
    return this.onAnyHost(async (base) => parseModelVersion(await this.http.json({ base, path, signal: opts.signal }), this.context(base, path)));
  }

  /** One model with all its versions; tries fallback hosts on 404. */
  getModel(modelId: number, opts: CallOptions = {}): Promise<Model> {
    const path = `/api/v1/models/${positive(modelId)}`;
    return this.onAnyHost(async (base) => parseModel(await this.http.json({ base, path, signal: opts.signal }), this.context(base, path)));
  }

  /**
   * Many models by id, strictly: every request must succeed (the first failure
   * is thrown), no cache. Models Civitai does not return are simply absent.
   */
  async getModels(modelIds: number[], opts: CallOptions = {}): Promise<Model[]> {
    const r = await fetchModelsById(this, modelIds.map(positive), { cache: false, signal: opts.signal });
    if (r.failed.length) throw r.failed[0].error;
    return [...r.models.values()];
  }

  /**
   * Many models by id (parent data for sidecars, update checks), 100 ids a
   * request, cached; a failed request loses only its own ids (see models-by-id.ts).
   */
  getModelsById(modelIds: readonly number[], opts: ModelsByIdOptions = {}): Promise<ModelsByIdResult> {
    return fetchModelsById(this, modelIds, opts);
  }

  /** Preview images of a version. `nsfw: true` asks for every browsing level (default: PG only, the server's default). */
  async getImages(versionId: number, opts: CallOptions & { limit?: number; nsfw?: boolean } = {}): Promise<PreviewImage[]> {
    const base = this.config.baseUrl;
    const path = '/api/v1/images';
    const query: Record<string, string> = { modelVersionId: String(positive(versionId)), limit: String(Math.min(200, Math.max(1, opts.limit ?? 20))) };
    if (opts.nsfw) query.browsingLevel = '31';
    const raw = await this.http.json({ base, path, query, signal: opts.signal });
    return parseImagePage(raw, this.context(base, path)).items;
  }

  /** Identifies many files from their hashes with as few requests as possible (see resolve.ts). */
  resolve(inputs: ResolveInput[], options: ResolveOptions = {}): Promise<ResolveResult[]> {
    return resolveFiles(this, inputs, options);
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** Runs `fn` on the base, then on each fallback while the answer is a JSON 404. */
  private async onAnyHost<T>(fn: (base: string) => Promise<T>): Promise<T> {
    let first: NotFound | undefined;
    for (const base of this.hosts) {
      try {
        return await fn(base);
      } catch (err) {
        if (!(err instanceof NotFound)) throw err;
        first ??= err;
      }
    }
    const tried = this.hosts.map((b) => new URL(b).host);
    throw tried.length > 1 ? new NotFound(first!.path!, `not found on ${tried.join(' or ')}`) : first!;
  }

  /** How to read a body from `base`: download URLs go on the configured base, page URLs on the site that answered. */
  context(base: string, path: string): ParseContext {
    return { where: `${new URL(base).host}${path}`, downloadBase: this.config.baseUrl, siteBase: siteOf(base) };
  }
}

/** `api.civitai.com` serves the API but not pages. */
function siteOf(base: string): string {
  const u = new URL(base);
  return `${u.protocol}//${u.host.replace(/^api\./i, '')}`;
}

function uniqueSha256(hashes: string[]): string[] {
  const out = new Set<string>();
  for (const h of hashes) {
    const u = h.trim().toUpperCase();
    // The bulk endpoints reject the whole call for one bad element; refuse it here with a clear message.
    if (!/^[0-9A-F]{64}$/.test(u)) throw new TypeError(`not a SHA256 (64 hex): "${h.slice(0, 80)}"`);
    out.add(u);
  }
  return [...out];
}

function positive(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new TypeError(`not a Civitai id: ${id}`);
  return id;
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
