/**
 * Many models by id, with as few requests as possible: `GET /models?ids=`,
 * 100 ids a request (longer URLs fail with 400, reference §4.1), `nsfw=true`
 * (without it models above PG are silently left out), following
 * `metadata.nextPage` in case the server pages smaller than asked.
 *
 * Used for the parent-model data of sidecars (tags, description, license,
 * creator) and, later, the update check, so it returns whole parsed `Model`s.
 *
 * - Cached per (host, id) like by-hash answers: a model for a day (its
 *   versions change), "not on this host" for the negative lifetime. A cached
 *   answer skips its id; with everything cached nothing is sent.
 * - The endpoint answers a missing id by leaving it out (not with a 404), so
 *   ids the base host left out are asked on each fallback host in turn.
 * - One failed request loses only its own ids: models from every other
 *   request are returned, and the failure is reported with the ids it cost.
 * - The token goes in the Authorization header to the configured hosts only:
 *   a `nextPage` is read for its query, never fetched as the URL it names.
 */
import type { CivitaiClient } from './client';
import { MODELS_IDS_MAX } from './client';
import { BadResponse, CivitaiError, Offline, RateLimited } from './errors';
import { parseModelPage, type Model } from './parse';

const PATH = '/api/v1/models';

export interface ModelsByIdOptions {
  /** Ignore cached answers (fresh answers are still written). */
  refresh?: boolean;
  /** Read and write the on-disk cache. Default true. */
  cache?: boolean;
  signal?: AbortSignal;
}

export interface ModelsByIdResult {
  /** Every model found, by id. */
  models: Map<number, Model>;
  /** Ids no host returned (deleted, unpublished, or not visible to this caller). */
  missing: number[];
  /** Requests that failed, with the ids they did not answer; nothing else is lost. */
  failed: Array<{ ids: number[]; error: CivitaiError }>;
}

export async function fetchModelsById(client: CivitaiClient, ids: readonly number[], options: ModelsByIdOptions = {}): Promise<ModelsByIdResult> {
  const useCache = options.cache !== false;
  const models = new Map<number, Model>();
  const failed: ModelsByIdResult['failed'] = [];
  let pending = uniqueIds(ids);
  for (const base of client.hosts) {
    if (pending.length === 0) break;
    const host = new URL(base).host;
    const toAsk: number[] = [];
    const absentHere: number[] = [];
    for (const id of pending) {
      const hit = useCache && !options.refresh ? await client.cache.getModel(host, id) : undefined;
      if (hit?.found) models.set(id, hit.model);
      else if (hit) absentHere.push(id);
      else toAsk.push(id);
    }
    let hostDown: CivitaiError | undefined;
    for (let i = 0; i < toAsk.length; i += MODELS_IDS_MAX) {
      const chunk = toAsk.slice(i, i + MODELS_IDS_MAX);
      // Offline or rate limited past waiting: the other chunks would fail the same way, after as many retries.
      if (hostDown) {
        failed.push({ ids: chunk, error: hostDown });
        continue;
      }
      const got = await askChunk(client, base, chunk, options.signal);
      for (const m of got.models) {
        models.set(m.id, m);
        if (useCache) await client.cache.putModel(host, m.id, { found: true, model: m });
      }
      const unanswered = chunk.filter((id) => !got.models.some((m) => m.id === id));
      if (got.error) {
        failed.push({ ids: unanswered, error: got.error });
        if (got.error instanceof Offline || got.error instanceof RateLimited) hostDown = got.error;
        continue;
      }
      for (const id of unanswered) {
        absentHere.push(id);
        if (useCache) await client.cache.putModel(host, id, { found: false });
      }
    }
    // Only ids this host answered "not here" are worth asking the next host; failed ones are not.
    pending = absentHere;
  }
  return { models, missing: pending, failed };
}

/** One chunk of ids, every page of it; the models read before a failure are kept. */
async function askChunk(client: CivitaiClient, base: string, chunk: number[], signal?: AbortSignal): Promise<{ models: Model[]; error?: CivitaiError }> {
  const wanted = new Set(chunk);
  const models: Model[] = [];
  let query: Record<string, string> | null = { ids: chunk.join(','), limit: String(MODELS_IDS_MAX), nsfw: 'true' };
  // Each page must bring something new, so a server that pages forever stops here.
  for (let page = 0; query && page < chunk.length; page++) {
    let items: Model[];
    let next: ReturnType<typeof nextQuery>;
    try {
      const raw = await client.http.json({ base, path: PATH, query, signal });
      const parsed = parseModelPage(raw, client.context(base, PATH));
      items = parsed.items;
      next = nextQuery(parsed.nextPage, parsed.nextCursor, query, `${new URL(base).host}${PATH}`);
    } catch (err) {
      if (err instanceof CivitaiError) return { models, error: err };
      throw err;
    }
    const fresh = items.filter((m) => wanted.has(m.id) && !models.some((have) => have.id === m.id));
    models.push(...fresh);
    if (fresh.length === 0) break;
    query = next;
  }
  return { models };
}

/**
 * The query of the next page: `metadata.nextPage`'s own query (its host may
 * be `api.civitai.com` or whatever the server thinks it is; we ask our base),
 * else our query with `cursor=<nextCursor>`, else null on the last page.
 */
function nextQuery(nextPage: string | null, nextCursor: string | null, current: Record<string, string>, where: string): Record<string, string> | null {
  if (nextPage) {
    let url: URL;
    try {
      url = new URL(nextPage);
    } catch {
      throw new BadResponse(where, 'metadata.nextPage is not a URL');
    }
    if (url.pathname.replace(/\/+$/, '') !== PATH) throw new BadResponse(where, `metadata.nextPage points at ${url.pathname}, not ${PATH}`);
    return Object.fromEntries(url.searchParams);
  }
  return nextCursor ? { ...current, cursor: nextCursor } : null;
}

function uniqueIds(ids: readonly number[]): number[] {
  for (const id of ids) if (!Number.isSafeInteger(id) || id <= 0) throw new TypeError(`not a Civitai model id: ${id}`);
  return [...new Set(ids)];
}
