/**
 * Identify many local files on Civitai from their hashes, asking as little as
 * possible.
 *
 * Each file gets a plan, a list of (host, hash) questions tried in order until
 * one finds a version:
 *   1. SHA256 on the base host, asked in bulk: `POST by-hash`, 100 per request;
 *   2. AutoV3 on the base host, one `GET by-hash` each: finds a safetensors file
 *      whose metadata was edited (same tensors, different SHA256). Without a
 *      SHA256 the best other hash (BLAKE3, AutoV2, AutoV1) is asked instead.
 *      CRC32 is never asked: Civitai's byte order for it is unconfirmed;
 *   3. on each fallback host (civitai.red by default), one `GET by-hash` with
 *      AutoV3 if known (it also finds exact copies) else the best hash.
 * Every answer, found or not, is cached per (host, hash), and a cached answer
 * skips its question. So for N files with SHA256 and nothing cached the cost is
 * ceil(N/100) bulk requests plus, per file the bulk call did not find, at most
 * one request per host (1 + number of fallback hosts); none when all is cached.
 *
 * A match found by a hash other than SHA256 is reported with `matchedBy`, so a
 * caller can treat AutoV3 matches as provisional, as the reference advises.
 */
import type { FileHashes, HashName } from '../hash/names';
import type { CivitaiClient } from './client';
import { BULK_BY_HASH_MAX, chunks } from './client';
import { CivitaiError, NotFound, Offline, RateLimited } from './errors';
import { normaliseHashes, type ModelVersion, type VersionFile } from './parse';

export interface ResolveInput {
  /** Anything that names the file for the caller (a path); returned as is. */
  key?: string;
  hashes: FileHashes;
  /**
   * A hash of unknown type (a user pasted it): asked with `GET by-hash`, which
   * matches any of the six types, on the base host then the fallbacks.
   */
  anyHash?: string;
}

export type ResolveResult =
  | {
      input: ResolveInput;
      status: 'found';
      version: ModelVersion;
      /** The file of that version that matched, when a hash identifies it. */
      file: VersionFile | null;
      /** The strongest hash the local file and the matched file share. */
      matchedBy: HashName;
      /** Origin that answered. */
      host: string;
      cached: boolean;
    }
  | { input: ResolveInput; status: 'not_found'; cached: boolean }
  | { input: ResolveInput; status: 'error'; error: CivitaiError };

export interface ResolveOptions {
  /** Ignore cached answers (fresh answers are still written). */
  refresh?: boolean;
  /** Read and write the on-disk cache. Default true. */
  cache?: boolean;
  /** Single-hash lookups in flight at once. Default 4 (the limiter still spaces them after 429s). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** Strongest identification first; CRC32 last and never asked. */
const MATCH_ORDER: HashName[] = ['SHA256', 'BLAKE3', 'AutoV3', 'AutoV2', 'AutoV1', 'CRC32'];

interface Question {
  host: string;
  hash: string;
  name: HashName;
  bulk: boolean;
}

interface Work {
  input: ResolveInput;
  hashes: FileHashes;
  questions: Question[];
  next: number;
  /** Whether the network was asked for this file (else a "not found" came from the cache). */
  asked: boolean;
  result?: ResolveResult;
}

export async function resolveFiles(client: CivitaiClient, inputs: ResolveInput[], options: ResolveOptions = {}): Promise<ResolveResult[]> {
  const useCache = options.cache !== false;
  const readCache = useCache && !options.refresh;
  const [main, ...fallbacks] = client.hosts;
  const work: Work[] = inputs.map((input) => {
    const hashes = normaliseHashes(input.hashes);
    const any = input.anyHash?.trim().toUpperCase();
    const questions = any ? [main, ...fallbacks].map((host) => ({ host, hash: any, name: guessName(any), bulk: false })) : plan(hashes, main, fallbacks);
    return { input, hashes, questions, next: 0, asked: false };
  });
  // Once the network is gone or we are told to stop, every open file gets that error instead of more attempts.
  let fatal: CivitaiError | undefined;

  const finish = (w: Work, q: Question, version: ModelVersion, cached: boolean) => {
    const { name, file } = matchOf(w.input.anyHash ? anyOf(q.hash) : w.hashes, version, q.name);
    w.result = { input: w.input, status: 'found', version, file, matchedBy: name, host: q.host, cached };
  };

  /** Answers the current question from the cache; true when the file is settled or moved on. */
  const fromCache = async (w: Work): Promise<boolean> => {
    if (!readCache) return false;
    const q = w.questions[w.next];
    const hit = await client.cache.get(new URL(q.host).host, q.hash);
    if (!hit) return false;
    if (hit.found) finish(w, q, hit.version, true);
    else w.next++;
    return true;
  };

  const remember = async (q: Question, answer: { found: true; version: ModelVersion } | { found: false }) => {
    if (useCache) await client.cache.put(new URL(q.host).host, q.hash, answer);
  };

  const fail = (w: Work, err: unknown) => {
    if (!(err instanceof CivitaiError)) throw err;
    w.result = { input: w.input, status: 'error', error: err };
    if (err instanceof Offline || err instanceof RateLimited) fatal = err;
  };

  const open = () => work.filter((w) => !w.result);
  const settleExhausted = () => {
    for (const w of open()) {
      if (fatal) w.result = { input: w.input, status: 'error', error: fatal };
      else if (w.next >= w.questions.length) w.result = { input: w.input, status: 'not_found', cached: w.questions.length > 0 && !w.asked };
    }
  };

  // Phase 1: the bulk question (SHA256 on the base host), cache first, then 100 per request.
  const needBulk: Work[] = [];
  for (const w of work) {
    while (!w.result && w.questions[w.next]?.bulk) {
      if (!(await fromCache(w))) {
        needBulk.push(w);
        break;
      }
    }
  }
  const bySha = new Map<string, Work[]>();
  for (const w of needBulk) {
    const sha = w.questions[w.next].hash;
    bySha.set(sha, [...(bySha.get(sha) ?? []), w]);
  }
  for (const batch of chunks([...bySha.keys()], BULK_BY_HASH_MAX)) {
    if (fatal) break;
    let versions: ModelVersion[];
    try {
      versions = await client.getVersionsByHashes(batch, { base: main, signal: options.signal });
    } catch (err) {
      for (const sha of batch) for (const w of bySha.get(sha)!) fail(w, err);
      continue;
    }
    const found = indexBySha256(versions);
    for (const sha of batch) {
      const version = found.get(sha);
      const q: Question = { host: main, hash: sha, name: 'SHA256', bulk: true };
      await remember(q, version ? { found: true, version } : { found: false });
      for (const w of bySha.get(sha)!) {
        w.asked = true;
        if (version) finish(w, q, version, false);
        else w.next++;
      }
    }
  }

  // Phase 2: single-hash questions for what bulk did not answer, a few files at a time.
  const queue = open();
  const worker = async () => {
    for (let w = queue.shift(); w; w = queue.shift()) {
      while (!w.result && !fatal && w.next < w.questions.length) {
        if (await fromCache(w)) continue;
        const q = w.questions[w.next];
        w.asked = true;
        try {
          const version = await client.getVersionByHashOn(q.host, q.hash, { signal: options.signal });
          await remember(q, { found: true, version });
          finish(w, q, version, false);
        } catch (err) {
          if (err instanceof NotFound) {
            await remember(q, { found: false });
            w.next++;
          } else {
            fail(w, err);
          }
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  settleExhausted();
  return work.map((w) => w.result!);
}

function plan(h: FileHashes, main: string, fallbacks: string[]): Question[] {
  const q: Question[] = [];
  if (h.SHA256 && h.SHA256.length === 64) q.push({ host: main, hash: h.SHA256, name: 'SHA256', bulk: true });
  const alt = h.AutoV3 ? 'AutoV3' : !h.SHA256 ? (['BLAKE3', 'AutoV2', 'AutoV1'] as const).find((n) => h[n]) : undefined;
  if (alt) q.push({ host: main, hash: h[alt]!, name: alt, bulk: false });
  const onFallback = h.AutoV3 ? 'AutoV3' : (['SHA256', 'BLAKE3', 'AutoV2', 'AutoV1'] as const).find((n) => h[n]);
  if (onFallback) for (const host of fallbacks) q.push({ host, hash: h[onFallback]!, name: onFallback, bulk: false });
  return q;
}

/**
 * SHA256 → version from a bulk reply. A file can sit in several versions
 * (re-uploads); pick as the single-hash endpoint does: oldest publishedAt, then
 * lowest version id.
 */
function indexBySha256(versions: ModelVersion[]): Map<string, ModelVersion> {
  const out = new Map<string, ModelVersion>();
  for (const v of versions) {
    for (const f of v.files) {
      const sha = f.hashes.SHA256;
      if (!sha) continue;
      const have = out.get(sha);
      if (!have || earlier(v, have)) out.set(sha, v);
    }
  }
  return out;
}

function earlier(a: ModelVersion, b: ModelVersion): boolean {
  const ta = a.publishedAt ? Date.parse(a.publishedAt) : Infinity;
  const tb = b.publishedAt ? Date.parse(b.publishedAt) : Infinity;
  return ta !== tb ? ta < tb : a.id < b.id;
}

/** By length only; GET by-hash does not need the type, this is just the label when no file confirms it. */
function guessName(hash: string): HashName {
  return hash.length === 12 ? 'AutoV3' : hash.length === 10 ? 'AutoV2' : hash.length === 8 ? 'AutoV1' : 'SHA256';
}

/** A hash of unknown type, as a candidate for every type. */
function anyOf(hash: string): FileHashes {
  return Object.fromEntries(MATCH_ORDER.map((n) => [n, hash]));
}

function matchOf(local: FileHashes, version: ModelVersion, asked: HashName): { name: HashName; file: VersionFile | null } {
  for (const name of MATCH_ORDER) {
    const mine = local[name];
    if (!mine) continue;
    const file = version.files.find((f) => f.hashes[name] === mine);
    if (file) return { name, file };
  }
  return { name: asked, file: null };
}
