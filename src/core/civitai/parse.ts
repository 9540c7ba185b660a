/**
 * Civitai's bodies, read leniently into one typed shape.
 *
 * The API has drifted for years (reference §6): nsfw as boolean, string or
 * bitmask; `allowCommercialUse` as string, array or Postgres array text; hash
 * keys missing; `primary` absent; `null` in bulk replies. Everything that can
 * drift is optional here and gets a default. What cannot be defaulted (the ids
 * that tie a body to a request) must be there, or the body is a BadResponse and
 * nothing from it is stored.
 */
import { HASH_NAMES, type FileHashes, type HashName } from '../hash/names';
import { BadResponse } from './errors';

export interface VersionFile {
  id: number | null;
  name: string;
  /** `Model`, `Pruned Model`, `VAE`, `Training Data`, ... */
  type: string | null;
  sizeKB: number | null;
  /** True on the file Civitai serves by default; false (never absent) on the others. */
  primary: boolean;
  format: string | null;
  size: string | null;
  fp: string | null;
  /** Upper-case hex; a key is absent when Civitai has not computed that hash. */
  hashes: FileHashes;
  /** Rebuilt on the configured host from the version id and the server's file selectors. */
  downloadUrl: string;
  pickleScanResult: string | null;
  virusScanResult: string | null;
}

export interface PreviewImage {
  id: number | null;
  url: string;
  width: number | null;
  height: number | null;
  /** Single-level bitflag: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX, 32 blocked. */
  nsfwLevel: number | null;
  nsfw: boolean;
  type: string;
  blurhash: string | null;
  meta: Record<string, unknown> | null;
}

export interface ModelVersion {
  id: number;
  modelId: number;
  name: string;
  baseModel: string | null;
  baseModelType: string | null;
  trainedWords: string[];
  air: string | null;
  status: string | null;
  createdAt: string | null;
  /** Shown by ComfyUI-Lora-Manager's detail view. Absent in entries cached before it was kept. */
  updatedAt?: string | null;
  publishedAt: string | null;
  /** `Public`, `EarlyAccess`, ... (newer bodies only). Absent in entries cached before it was kept. */
  availability?: string | null;
  /** When early access ends (newer bodies, when the caller may see it). */
  earlyAccessEndsAt?: string | null;
  nsfwLevel: number | null;
  description: string | null;
  model: { id: number; name: string; type: string; nsfw: boolean; poi: boolean; mode: string | null };
  files: VersionFile[];
  images: PreviewImage[];
  stats: { downloadCount: number | null; thumbsUpCount: number | null };
  downloadUrl: string;
  /** `<site>/models/<modelId>?modelVersionId=<id>` on the host that answered. */
  pageUrl: string;
}

export interface Model {
  id: number;
  name: string;
  type: string;
  description: string | null;
  nsfw: boolean;
  nsfwLevel: number | null;
  poi: boolean;
  mode: string | null;
  /** Normalised to a list (`[]` for "None"): `Image`, `RentCivit`, `Rent`, `Sell`. */
  allowCommercialUse: string[];
  allowNoCredit: boolean | null;
  allowDerivatives: boolean | null;
  allowDifferentLicense: boolean | null;
  /** The creator's username; null for Civitai's own system user. */
  creator: string | null;
  /** The creator's avatar URL (`width=96`), when they have one. */
  creatorImage: string | null;
  tags: string[];
  /** Newest first, as Civitai lists them. */
  versions: ModelVersion[];
}

export interface ModelPage {
  items: Model[];
  nextCursor: string | null;
  /** The next page's full URL as the server built it (`metadata.nextPage`), or null on the last page. */
  nextPage: string | null;
}

/** A by-hash/ids match: which version holds a file with this SHA256. */
export interface HashMatch {
  hash: string;
  modelVersionId: number;
  modelId: number | null;
}

export interface ParseContext {
  /** Host and path, for error messages. */
  where: string;
  /** Origin that download URLs are rebuilt on (the configured base, not whatever the body says). */
  downloadBase: string;
  /** Origin of the site that answered, for page URLs. */
  siteBase: string;
}

type Obj = Record<string, unknown>;

// ---- entry points, one per endpoint shape ----

/** `GET /model-versions/:id` and `GET /model-versions/by-hash/:hash`. */
export function parseModelVersion(raw: unknown, ctx: ParseContext): ModelVersion {
  const v = requireObject(raw, ctx, 'a model version');
  return readVersion(v, ctx, undefined);
}

/**
 * `POST /model-versions/by-hash`: an array, possibly with `null` elements
 * (versions without a primary file). Null and unreadable elements are dropped;
 * the hashes they would have answered then count as misses and get a fallback.
 */
export function parseModelVersionList(raw: unknown, ctx: ParseContext): { versions: ModelVersion[]; dropped: number } {
  if (!Array.isArray(raw)) throw wrongShape(ctx, 'an array of model versions', raw);
  const versions: ModelVersion[] = [];
  let dropped = 0;
  for (const el of raw) {
    try {
      versions.push(parseModelVersion(el, ctx));
    } catch {
      dropped++;
    }
  }
  return { versions, dropped };
}

/** `POST /model-versions/by-hash/ids`. */
export function parseHashMatches(raw: unknown, ctx: ParseContext): HashMatch[] {
  if (!Array.isArray(raw)) throw wrongShape(ctx, 'an array of {modelVersionId, hash}', raw);
  const out: HashMatch[] = [];
  for (const el of raw) {
    if (!isObj(el)) continue;
    const id = positiveInt(el.modelVersionId);
    const hash = hex(el.hash);
    if (id !== null && hash) out.push({ hash, modelVersionId: id, modelId: positiveInt(el.modelId) });
  }
  return out;
}

/** `GET /models/:id`. */
export function parseModel(raw: unknown, ctx: ParseContext): Model {
  return readModel(requireObject(raw, ctx, 'a model'), ctx);
}

/** `GET /models?...`: items that cannot be read are dropped, not fatal. */
export function parseModelPage(raw: unknown, ctx: ParseContext): ModelPage {
  const page = requireObject(raw, ctx, 'a page of models');
  if (!Array.isArray(page.items)) throw wrongShape(ctx, 'a page of models with items[]', raw);
  const items: Model[] = [];
  for (const el of page.items) {
    if (!isObj(el)) continue;
    try {
      items.push(readModel(el, ctx));
    } catch {
      /* one bad record must not hide the others */
    }
  }
  const meta = isObj(page.metadata) ? page.metadata : {};
  const cursor = meta.nextCursor;
  return {
    items,
    nextCursor: typeof cursor === 'string' || typeof cursor === 'number' ? String(cursor) : null,
    nextPage: str(meta.nextPage),
  };
}

/** `GET /images?...`. */
export function parseImagePage(raw: unknown, ctx: ParseContext): { items: PreviewImage[]; nextCursor: string | null } {
  const page = requireObject(raw, ctx, 'a page of images');
  if (!Array.isArray(page.items)) throw wrongShape(ctx, 'a page of images with items[]', raw);
  const items = page.items.filter(isObj).map(readImage).filter((i): i is PreviewImage => i !== null);
  const meta = isObj(page.metadata) ? page.metadata : {};
  const cursor = meta.nextCursor;
  return { items, nextCursor: typeof cursor === 'string' || typeof cursor === 'number' ? String(cursor) : null };
}

// ---- drifting fields ----

const LEGACY_LEVEL: Record<string, number> = { none: 1, soft: 2, mature: 4, x: 8, blocked: 32 };

/** An nsfw level from a number, a numeric string, or a legacy word (`None`, `Soft`, `Mature`, `X`). */
export function nsfwLevelOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const s = value.trim().toLowerCase();
    if (/^\d+$/.test(s)) return Number(s);
    if (s in LEGACY_LEVEL) return LEGACY_LEVEL[s];
  }
  return null;
}

/**
 * Whether something is flagged mature: a boolean as is, `"true"`/`"false"`, a
 * legacy word (anything but `None`), or a level with any bit above PG.
 */
export function nsfwFlag(flag: unknown, level: unknown = undefined): boolean {
  if (typeof flag === 'boolean') return flag;
  if (typeof flag === 'string') {
    const s = flag.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false' || s === '') return false;
  }
  const lvl = nsfwLevelOf(flag) ?? nsfwLevelOf(level);
  return lvl !== null && (lvl & ~1) !== 0;
}

/** `"Sell"`, `["Image","Rent"]`, `"{Image,RentCivit}"` → a list; `"None"` → `[]`. */
export function commercialUses(value: unknown): string[] {
  let parts: unknown[];
  if (Array.isArray(value)) parts = value;
  else if (typeof value === 'string') parts = value.replace(/^\{|\}$/g, '').split(',');
  else return [];
  const out: string[] = [];
  for (const p of parts) {
    if (typeof p !== 'string') continue;
    const s = p.trim().replace(/^"|"$/g, '');
    if (s && s.toLowerCase() !== 'none' && !out.includes(s)) out.push(s);
  }
  return out;
}

const HASH_BY_LOWER = new Map<string, HashName>(HASH_NAMES.map((n) => [n.toLowerCase(), n]));

/** Known hash keys in any case, values upper-cased; unknown keys and non-hex values dropped. */
export function normaliseHashes(value: unknown): FileHashes {
  const out: FileHashes = {};
  if (!isObj(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    const name = HASH_BY_LOWER.get(k.toLowerCase());
    const h = hex(v);
    if (name && h) out[name] = h;
  }
  return out;
}

// ---- records ----

function readModel(m: Obj, ctx: ParseContext): Model {
  const id = positiveInt(m.id);
  if (id === null) throw wrongShape(ctx, 'a model with a numeric id', m);
  const name = str(m.name) ?? '';
  const type = str(m.type) ?? 'Other';
  const nsfwLevel = nsfwLevelOf(m.nsfwLevel);
  const parent = { id, name, type, nsfw: nsfwFlag(m.nsfw), poi: m.poi === true, mode: str(m.mode) };
  const versions: ModelVersion[] = [];
  for (const v of Array.isArray(m.modelVersions) ? m.modelVersions : []) {
    if (!isObj(v)) continue;
    try {
      versions.push(readVersion(v, ctx, parent));
    } catch {
      /* a version without an id is not one we can name; skip it */
    }
  }
  const creator = isObj(m.creator) ? str(m.creator.username) : null;
  const creatorImage = isObj(m.creator) ? str(m.creator.image) : null;
  return {
    id,
    name,
    type,
    description: str(m.description),
    nsfw: parent.nsfw,
    nsfwLevel,
    poi: parent.poi,
    mode: parent.mode,
    allowCommercialUse: commercialUses(m.allowCommercialUse),
    allowNoCredit: boolOrNull(m.allowNoCredit),
    allowDerivatives: boolOrNull(m.allowDerivatives),
    allowDifferentLicense: boolOrNull(m.allowDifferentLicense),
    creator,
    creatorImage,
    tags: strings(m.tags),
    versions,
  };
}

function readVersion(v: Obj, ctx: ParseContext, parent: ModelVersion['model'] | undefined): ModelVersion {
  const id = positiveInt(v.id);
  if (id === null) throw wrongShape(ctx, 'a model version with a numeric id', v);
  const embedded = isObj(v.model) ? v.model : undefined;
  const modelId = positiveInt(v.modelId) ?? parent?.id ?? null;
  if (modelId === null) throw wrongShape(ctx, 'a model version with a modelId', v);
  const model = parent ?? {
    id: modelId,
    name: str(embedded?.name) ?? '',
    type: str(embedded?.type) ?? 'Other',
    nsfw: nsfwFlag(embedded?.nsfw),
    poi: embedded?.poi === true,
    mode: str(embedded?.mode),
  };
  const files = (Array.isArray(v.files) ? v.files : []).filter(isObj).map((f) => readFile(f, id, ctx));
  const stats = isObj(v.stats) ? v.stats : {};
  return {
    id,
    modelId,
    name: str(v.name) ?? '',
    baseModel: str(v.baseModel),
    baseModelType: str(v.baseModelType),
    trainedWords: strings(v.trainedWords),
    air: str(v.air),
    status: str(v.status),
    createdAt: str(v.createdAt),
    updatedAt: str(v.updatedAt),
    publishedAt: str(v.publishedAt),
    availability: str(v.availability),
    earlyAccessEndsAt: str(v.earlyAccessEndsAt),
    nsfwLevel: nsfwLevelOf(v.nsfwLevel),
    description: str(v.description),
    model,
    files,
    images: (Array.isArray(v.images) ? v.images : []).filter(isObj).map(readImage).filter((i): i is PreviewImage => i !== null),
    stats: { downloadCount: numOrNull(stats.downloadCount), thumbsUpCount: numOrNull(stats.thumbsUpCount) },
    downloadUrl: `${ctx.downloadBase}/api/download/models/${id}`,
    pageUrl: `${ctx.siteBase}/models/${modelId}?modelVersionId=${id}`,
  };
}

function readFile(f: Obj, versionId: number, ctx: ParseContext): VersionFile {
  const meta = isObj(f.metadata) ? f.metadata : {};
  return {
    id: positiveInt(f.id),
    name: str(f.name) ?? '',
    type: str(f.type),
    sizeKB: numOrNull(f.sizeKB),
    primary: f.primary === true,
    format: str(meta.format),
    size: str(meta.size),
    fp: str(meta.fp),
    hashes: normaliseHashes(f.hashes),
    downloadUrl: rebuildDownloadUrl(f, versionId, ctx.downloadBase),
    pickleScanResult: str(f.pickleScanResult),
    virusScanResult: str(f.virusScanResult),
  };
}

/**
 * Download URLs in bodies carry whatever host the server thought it was
 * (`api.civitai.com`, a `posthost` header, civitai.red). Keep only what
 * identifies the file (the version id and the type/format/size/fp selectors)
 * and put it on the configured host. A `token` in the query is dropped.
 */
function rebuildDownloadUrl(f: Obj, versionId: number, base: string): string {
  const url = new URL(`/api/download/models/${versionId}`, base);
  let given: URL | undefined;
  try {
    given = typeof f.downloadUrl === 'string' ? new URL(f.downloadUrl) : undefined;
  } catch {
    given = undefined;
  }
  if (given && given.pathname.replace(/\/$/, '') === `/api/download/models/${versionId}`) {
    for (const [k, v] of given.searchParams) if (k.toLowerCase() !== 'token') url.searchParams.append(k, v);
  } else if (f.primary !== true) {
    const meta = isObj(f.metadata) ? f.metadata : {};
    const type = str(f.type);
    const sel: Array<[string, string | null]> = [
      ['type', type],
      ['format', type === 'Training Data' ? null : str(meta.format)],
      ['size', str(meta.size)],
      ['fp', str(meta.fp)],
    ];
    for (const [k, v] of sel) if (v) url.searchParams.set(k, v);
  }
  return url.toString();
}

function readImage(i: Obj): PreviewImage | null {
  const url = str(i.url);
  if (!url) return null;
  const level = nsfwLevelOf(i.nsfwLevel) ?? (typeof i.nsfw === 'string' ? nsfwLevelOf(i.nsfw) : null);
  return {
    id: positiveInt(i.id),
    url,
    width: numOrNull(i.width),
    height: numOrNull(i.height),
    nsfwLevel: level,
    nsfw: i.nsfw !== undefined && i.nsfw !== null ? nsfwFlag(i.nsfw) : nsfwFlag(undefined, level),
    type: str(i.type) ?? 'image',
    blurhash: str(i.hash),
    meta: isObj(i.meta) ? i.meta : null,
  };
}

// ---- small readers ----

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireObject(raw: unknown, ctx: ParseContext, what: string): Obj {
  if (!isObj(raw)) throw wrongShape(ctx, what, raw);
  return raw;
}

function wrongShape(ctx: ParseContext, expected: string, got: unknown): BadResponse {
  const kind = got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got === 'object' ? 'an object without the needed fields' : typeof got;
  return new BadResponse(ctx.where, `wrong shape: expected ${expected}, got ${kind}`);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function boolOrNull(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return null;
}

function positiveInt(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : null;
}

function hex(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  return /^(0x)?[0-9a-f]+$/i.test(s) ? s.replace(/^0x/i, '').toUpperCase() : null;
}
