/**
 * By-hash answers and models (by id) on disk, so that re-running a notebook (or
 * a fresh Colab runtime with a persistent cache dir) does not ask Civitai again.
 *
 * - "Not found" is cached too, for a shorter time: most of a local library is
 *   not on Civitai, and asking again for each file on every run is the main cost.
 * - One file per (host, hash): answers from a test server or civitai.red never
 *   mix with civitai.com's.
 * - What is stored is the parsed version (download URLs already rebuilt without
 *   any token), never request headers, so no cache file can hold the token.
 * - Writes go to a temporary file that is then renamed, so a crash or two
 *   processes at once leave either the old entry or the new one, never half.
 * - The cache is an optimisation: unreadable, corrupt or unwritable entries are
 *   treated as absent and never fail a lookup.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Model, ModelVersion } from './parse';

/** Bumped when the stored shape changes; older entries are then ignored. 2: versions keep `updatedAt`. */
const FORMAT = 2;

export type CachedAnswer = { found: true; version: ModelVersion; fetchedAt: number } | { found: false; fetchedAt: number };
export type CachedModel = { found: true; model: Model; fetchedAt: number } | { found: false; fetchedAt: number };

export interface CacheOptions {
  positiveTtlMs: number;
  negativeTtlMs: number;
  /**
   * How long a model (by id) stays cached. Shorter than a version's: a model
   * gains versions, and the update check reads them from the same answer.
   */
  modelTtlMs?: number;
  now?: () => number;
}

/** Default lifetime of a cached model: a day. */
export const DEFAULT_MODEL_TTL_MS = 24 * 3600_000;

interface StoredEntry {
  format?: unknown;
  found?: unknown;
  fetchedAt?: unknown;
  version?: unknown;
  model?: unknown;
}

export class ResponseCache {
  private readonly now: () => number;

  constructor(
    readonly dir: string,
    private readonly options: CacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The file an answer for `hash` from `host` lives in. */
  pathFor(host: string, hash: string): string {
    return join(this.dir, 'by-hash', safeName(host), `${safeName(hash.toUpperCase())}.json`);
  }

  async get(host: string, hash: string): Promise<CachedAnswer | undefined> {
    const hit = await this.fresh(this.pathFor(host, hash), this.options.positiveTtlMs, (e) => {
      const v = e.version as ModelVersion | undefined;
      return v && typeof v.id === 'number' && Array.isArray(v.files) ? v : undefined;
    });
    if (!hit) return undefined;
    return hit.value ? { found: true, version: hit.value, fetchedAt: hit.fetchedAt } : { found: false, fetchedAt: hit.fetchedAt };
  }

  async put(host: string, hash: string, answer: { found: true; version: ModelVersion } | { found: false }): Promise<void> {
    await this.write(this.pathFor(host, hash), { host, hash: hash.toUpperCase(), ...answer });
  }

  /** The file a model answer for `id` from `host` lives in. */
  modelPathFor(host: string, id: number): string {
    return join(this.dir, 'models', safeName(host), `${id}.json`);
  }

  /** A model by id; "not on this host" is kept for the negative lifetime. */
  async getModel(host: string, id: number): Promise<CachedModel | undefined> {
    const hit = await this.fresh(this.modelPathFor(host, id), this.options.modelTtlMs ?? DEFAULT_MODEL_TTL_MS, (e) => {
      const m = e.model as Model | undefined;
      return m && m.id === id && Array.isArray(m.versions) ? m : undefined;
    });
    if (!hit) return undefined;
    return hit.value ? { found: true, model: hit.value, fetchedAt: hit.fetchedAt } : { found: false, fetchedAt: hit.fetchedAt };
  }

  async putModel(host: string, id: number, answer: { found: true; model: Model } | { found: false }): Promise<void> {
    await this.write(this.modelPathFor(host, id), { host, id, ...answer });
  }

  /**
   * A live entry: a found one (its value, as `pick` reads it) within
   * `positiveTtlMs`, a "not found" (no value) within the negative lifetime;
   * else undefined (missing, corrupt, older format, expired).
   */
  private async fresh<T>(file: string, positiveTtlMs: number, pick: (e: StoredEntry) => T | undefined): Promise<{ value?: T; fetchedAt: number } | undefined> {
    const entry = await this.read(file);
    if (!entry) return undefined;
    const age = this.now() - entry.fetchedAt;
    if (entry.found === true) {
      const value = pick(entry);
      return value !== undefined && age <= positiveTtlMs ? { value, fetchedAt: entry.fetchedAt } : undefined;
    }
    if (entry.found === false && age <= this.options.negativeTtlMs) return { fetchedAt: entry.fetchedAt };
    return undefined;
  }

  /** An entry of the current format with a numeric time, or undefined (missing, corrupt, older format). */
  private async read(file: string): Promise<(StoredEntry & { fetchedAt: number }) | undefined> {
    let entry: StoredEntry;
    try {
      entry = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      return undefined;
    }
    if (entry?.format !== FORMAT || typeof entry.fetchedAt !== 'number') return undefined;
    return entry as StoredEntry & { fetchedAt: number };
  }

  private async write(file: string, fields: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify({ format: FORMAT, fetchedAt: this.now(), ...fields });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(tmp, body);
      await rename(tmp, file);
    } catch {
      await unlink(tmp).catch(() => undefined);
    }
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}
