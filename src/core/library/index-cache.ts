/**
 * A small file beside the index holding something a host derived from it (the
 * panel's first screen of cards), valid only while the index on disk is the
 * version it was derived from.
 *
 * Why: loading a 100,000-model index takes seconds (48 MB of rows to parse,
 * decode and check), while what a user sees first is a few hundred of them.
 * A host can show those from here at once and replace them when the library
 * has loaded. Another process that changed the index since (a scan, a link)
 * changed its version, and the cache is then ignored.
 *
 * `<first root>/.modeldeck/<name>.cache.json` holds the version of every
 * root's index (index-store.ts `IndexVersion`), entries in the index's own row
 * form with their root's position, and the host's data. Reading never trusts
 * it: no links, a size cap, the format checked, every row decoded and checked
 * as the index's own rows are (one bad row and the whole cache is ignored).
 * Never throws: a cache that cannot be read or written is no cache.
 */
import { join } from 'node:path';
import { readFileCapped } from '../read-capped';
import { lstatOrNull } from '../safe-fs';
import { writeFileAtomic } from '../sidecars/paths';
import { decodeEntry, encodeEntry } from './index-codec';
import { INDEX_DIR } from './index-files';
import { IndexStore, sameIndexVersion, type IndexVersion } from './index-store';
import { resolveRoots, type Library } from './library';
import type { ModelEntry } from './types';

const CACHE_FORMAT = 1;
/** Far above what a screen of cards takes (about 0.5 KB a row); anything larger is not ours. */
const MAX_CACHE_BYTES = 4 * 1024 * 1024;
const NAME = /^[a-z][a-z0-9-]{0,40}$/;

export interface CachedEntry {
  /** Position of the entry's root in the library's `roots`. */
  rootIndex: number;
  entry: ModelEntry;
}

export interface IndexCacheContent {
  entries: CachedEntry[];
  /** The host's own data; the reader checks its shape. */
  data: unknown;
}

interface CacheFile {
  format: number;
  tool: 'modeldeck';
  roots: string[];
  versions: IndexVersion[];
  rows: [number, unknown[]][];
  data: unknown;
}

function fileOf(root: string, name: string): string {
  if (!NAME.test(name)) throw new Error(`index cache name ${JSON.stringify(name)}: lower-case letters, digits and dashes`);
  return join(root, INDEX_DIR, `${name}.cache.json`);
}

/**
 * Writes the cache for the library's index as it is in memory now. Skipped
 * when the first root has no index folder (nothing slow to load there). False
 * when nothing was written.
 */
export async function writeIndexCache(lib: Pick<Library, 'roots' | 'indexVersions'>, name: string, content: IndexCacheContent): Promise<boolean> {
  const file = fileOf(lib.roots[0], name);
  try {
    const dir = await lstatOrNull(join(lib.roots[0], INDEX_DIR));
    if (!dir?.isDirectory()) return false;
    const body: CacheFile = {
      format: CACHE_FORMAT,
      tool: 'modeldeck',
      roots: [...lib.roots],
      versions: lib.indexVersions(),
      rows: content.entries.map((e) => [e.rootIndex, encodeEntry(e.entry)]),
      data: content.data,
    };
    // No fsync: a cache lost in a crash costs one slow start, and on Drive every fsync is a round trip.
    await writeFileAtomic(file, JSON.stringify(body), { sync: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * The cache a library opened with `roots` would find valid now, or null: the
 * same roots in the same order, and every root's index on disk at the version
 * the cache was written from. `anyVersion` skips the last check, for a writer
 * that wants to know what was kept before it changed the index (the same
 * checks of the content apply).
 */
export async function readIndexCache(roots: string[], name: string, options: { anyVersion?: boolean } = {}): Promise<IndexCacheContent | null> {
  try {
    const resolved = await resolveRoots(roots);
    const read = await readFileCapped(fileOf(resolved[0], name), MAX_CACHE_BYTES);
    if (read.kind !== 'ok') return null;
    const file = JSON.parse(read.bytes.toString('utf8')) as Partial<CacheFile> | null;
    if (!file || typeof file !== 'object' || file.format !== CACHE_FORMAT || file.tool !== 'modeldeck') return null;
    if (!Array.isArray(file.roots) || file.roots.length !== resolved.length || file.roots.some((r, i) => r !== resolved[i])) return null;
    if (!Array.isArray(file.versions) || file.versions.length !== resolved.length) return null;
    for (let i = 0; i < resolved.length; i++) {
      if (!isVersion(file.versions[i])) return null;
      if (!options.anyVersion && !sameIndexVersion(file.versions[i], await IndexStore.versionOnDisk(resolved[i]))) return null;
    }
    if (!Array.isArray(file.rows)) return null;
    const entries: CachedEntry[] = [];
    for (const row of file.rows) {
      if (!Array.isArray(row) || row.length !== 2) return null;
      const [rootIndex, encoded] = row as [unknown, unknown];
      if (!Number.isInteger(rootIndex) || (rootIndex as number) < 0 || (rootIndex as number) >= resolved.length) return null;
      const decoded = decodeEntry(encoded);
      if ('error' in decoded) return null;
      entries.push({ rootIndex: rootIndex as number, entry: decoded.entry });
    }
    return { entries, data: file.data };
  } catch {
    return null;
  }
}

function isVersion(v: unknown): v is IndexVersion {
  if (!v || typeof v !== 'object') return false;
  const { snapshot, journal } = v as Record<string, unknown>;
  const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  const okSnap = snapshot === null || (!!snapshot && typeof snapshot === 'object' && ['ino', 'size', 'mtimeMs'].every((k) => num((snapshot as Record<string, unknown>)[k])));
  const okJournal = journal === null || (!!journal && typeof journal === 'object' && ['ino', 'size'].every((k) => num((journal as Record<string, unknown>)[k])));
  return okSnap && okJournal;
}
