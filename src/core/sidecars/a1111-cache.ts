/**
 * A1111's hash cache `cache.json` (sidecar-formats.md §2.3): hashes the webui
 * already computed, adopted without reading the model file.
 *
 * Layout (A1111 ≤ 1.9, also Forge): top-level subsections, each mapping a
 * *title* to `{"mtime": <float seconds>, "sha256": "<lower hex>"}`:
 *   - `hashes`: full-file SHA256;
 *   - `hashes-addnet`: the kohya "addnet" hash of safetensors LoRAs (the full
 *     64 hex of what Civitai calls AutoV3), not a SHA256.
 *
 * Titles, as A1111 builds them (derived from the sources cited in §2.3):
 *   - checkpoints: `checkpoint/<name>`, where `name` is the path relative to
 *     `models/Stable-diffusion` *with* its extension, in the OS's separators
 *     (so `/` on Colab, `\` for a cache written on Windows); a checkpoint
 *     outside that folder (a `--ckpt-dir`) is titled by its base name.
 *   - LoRA/LyCORIS (Lora extension, `NetworkOnDisk`): `lora/<name>`, `name` =
 *     the file's base name *without* extension and without any subfolder, so
 *     two LoRAs of the same name in different subfolders share one title
 *     (A1111's own collision; the mtime rule and `--verify` are the guard).
 *     Safetensors LoRAs are hashed with the addnet hash (`hashes-addnet`);
 *     `.pt`/`.ckpt` LoRAs get a SHA256 under the same title in `hashes`.
 *   - A hit requires the file's mtime on disk ≤ the cached mtime
 *     (`sha256_from_cache`): a file changed since it was hashed is a miss.
 *
 * A1111 1.10 moved the cache to a diskcache folder `cache/<subsection>`; that
 * SQLite store is not read here.
 */
import { access } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { normaliseHashValue } from './hash-values';
import { isPlainObject, jsonKind, readJsonCapped, sidecarWarning } from './json-file';

/** `cache.json` keeps safetensors metadata too and can grow to tens of MB; beyond this it is not read. */
const MAX_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Float seconds from Python vs. Node's float milliseconds of the same stat can
 * differ in the last bits; equal times must still count as "not newer".
 */
const MTIME_SLACK_S = 1e-3;

interface CachedHash {
  mtime: number;
  hex: string;
}

export interface A1111FileHashes {
  /** Upper-case SHA256 from `hashes`. */
  SHA256?: string;
  /** The 12-hex AutoV3 Civitai keys on, from `hashes-addnet`. */
  AutoV3?: string;
  /** The full 64-hex addnet hash. */
  AutoV3Full?: string;
}

export class A1111Cache {
  /** Folder holding `cache.json`: A1111's data path, whose `models/` the titles are relative to. */
  readonly dataDir: string;

  constructor(
    readonly file: string,
    private readonly hashes: Map<string, CachedHash>,
    private readonly addnet: Map<string, CachedHash>,
  ) {
    this.dataDir = dirname(resolve(file));
  }

  /** Number of usable entries in both subsections. */
  get size(): number {
    return this.hashes.size + this.addnet.size;
  }

  /** Upper-case SHA256 cached under `title` in `hashes`, if the file is not newer than the cache entry. */
  lookup(title: string, mtimeMs: number): string | null {
    return fresh(this.hashes.get(title), mtimeMs);
  }

  /** The full 64-hex addnet hash (AutoV3) cached under `title` in `hashes-addnet`, with the same mtime rule. */
  lookupAddnet(title: string, mtimeMs: number): string | null {
    return fresh(this.addnet.get(title), mtimeMs);
  }

  /**
   * The titles A1111 would use for `modelPath`: `checkpoint/...` when the file
   * is under `<dataDir>/models/Stable-diffusion`, `lora/...` when under
   * `models/Lora` or `models/LyCORIS`. A file elsewhere has no title: this
   * cache cannot be about it.
   */
  titlesFor(modelPath: string): string[] {
    const abs = resolve(modelPath);
    const under = (folder: string) => {
      const rel = relative(join(this.dataDir, 'models', folder), abs);
      return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : null;
    };
    const titles: string[] = [];
    const ckpt = under('Stable-diffusion');
    if (ckpt) {
      const posix = ckpt.split(sep).join('/');
      titles.push(`checkpoint/${posix}`);
      if (posix.includes('/')) titles.push(`checkpoint/${posix.split('/').join('\\')}`);
    }
    if (under('Lora') || under('LyCORIS')) titles.push(`lora/${basename(abs, extname(abs))}`);
    return titles;
  }

  /** Upper-case SHA256 of `modelPath` from the cache, or null (what the library's examine step asks). */
  lookupFile(modelPath: string, mtimeMs: number): string | null {
    for (const t of this.titlesFor(modelPath)) {
      const hit = this.lookup(t, mtimeMs);
      if (hit) return hit;
    }
    return null;
  }

  /** Everything the cache knows about `modelPath`: SHA256 and/or the addnet hash. */
  hashesForFile(modelPath: string, mtimeMs: number): A1111FileHashes {
    const out: A1111FileHashes = {};
    const sha = this.lookupFile(modelPath, mtimeMs);
    if (sha) out.SHA256 = sha;
    for (const t of this.titlesFor(modelPath)) {
      if (!t.startsWith('lora/')) continue;
      const full = this.lookupAddnet(t, mtimeMs);
      if (full) {
        out.AutoV3Full = full;
        out.AutoV3 = full.slice(0, 12);
      }
    }
    return out;
  }
}

function fresh(entry: CachedHash | undefined, mtimeMs: number): string | null {
  if (!entry) return null;
  return mtimeMs / 1000 <= entry.mtime + MTIME_SLACK_S ? entry.hex : null;
}

/**
 * Loads `file`. Null when it is missing, unreadable, not JSON, or holds
 * neither subsection (a `cache.json` of some other program); the reason goes
 * to `onWarning`. Entries with a bad mtime or hash are skipped.
 */
export async function loadA1111Cache(file: string, options: { onWarning?: (message: string) => void } = {}): Promise<A1111Cache | null> {
  const warn = (reason: string) => options.onWarning?.(sidecarWarning(file, reason));
  const r = await readJsonCapped(file, MAX_CACHE_BYTES);
  if (r.kind === 'missing') return null;
  if (r.kind === 'empty') return null;
  if (r.kind === 'bad') {
    warn(`${r.reason}; A1111 hash cache not used`);
    return null;
  }
  if (!isPlainObject(r.value)) {
    warn(`expected a JSON object, got ${jsonKind(r.value)}; A1111 hash cache not used`);
    return null;
  }
  const top = r.value;
  if (!('hashes' in top) && !('hashes-addnet' in top)) return null;
  let skipped = 0;
  const section = (name: string): Map<string, CachedHash> => {
    const out = new Map<string, CachedHash>();
    const s = top[name];
    if (!isPlainObject(s)) return out;
    for (const [title, e] of Object.entries(s)) {
      if (!isPlainObject(e) || typeof e.mtime !== 'number' || !Number.isFinite(e.mtime)) {
        skipped++;
        continue;
      }
      // The addnet hash is 64 hex like a SHA256; validate it as one, keep it whole.
      const hex = normaliseHashValue('SHA256', e.sha256);
      if (!hex) {
        skipped++;
        continue;
      }
      out.set(title, { mtime: e.mtime, hex });
    }
    return out;
  };
  const cache = new A1111Cache(file, section('hashes'), section('hashes-addnet'));
  if (skipped) warn(`${skipped} unusable entr${skipped === 1 ? 'y' : 'ies'} skipped`);
  return cache;
}

/**
 * `cache.json` in `root`, its parent or its grandparent: a library root may be
 * the webui folder, `webui/models`, or `webui/models/Lora`. Null when none.
 */
export async function findA1111CacheFor(root: string): Promise<string | null> {
  let dir = resolve(root);
  for (let i = 0; i < 3; i++) {
    const candidate = join(dir, 'cache.json');
    if (await access(candidate).then(() => true, () => false)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}
