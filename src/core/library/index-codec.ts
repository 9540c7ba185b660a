/**
 * The snapshot's on-disk form of an entry: a JSON array in a fixed field order
 * rather than an object, with what can be derived left out (AutoV2 is the start
 * of SHA256, the 12-hex AutoV3 the start of the full one, the usual page URL
 * follows from the ids, "computed" is the usual hash source, empty lists are
 * omitted). It halves the snapshot (about 560 bytes per model instead of 1,130)
 * and with it the load time: a 50,000-model index must load in under a second on
 * a machine where every megabyte parsed costs about 15 ms.
 */
import { HASH_NAMES, type FileHashes } from '../hash/names';
import { checkEntry } from './entry-schema';
import { BASE_MODELS, MODEL_KINDS } from '../probe/types';
import { HASH_SOURCES, type CivitaiLink, type CivitaiState, type EntryPeek, type HashSource, type ModelEntry } from './types';

/** A row: see `encodeEntry` for the order. */
export type EntryRow = unknown[];

const DEFAULT_PAGE = (l: { modelId: number; versionId: number }) => `https://civitai.com/models/${l.modelId}?modelVersionId=${l.versionId}`;

function compactHashes(h: FileHashes): FileHashes {
  const out: FileHashes = { ...h };
  if (out.SHA256 && out.AutoV2 === out.SHA256.slice(0, 10)) delete out.AutoV2;
  if (out.AutoV3Full && out.AutoV3 === out.AutoV3Full.slice(0, 12)) delete out.AutoV3;
  return out;
}

/**
 * Decoded objects are built key by key in one fixed order (not spread from the
 * parsed row and added to): at 100,000 models the spread-and-add hashes object
 * alone cost ~240 bytes more per model (measured with bench/session-node.js).
 */
const HASH_KEY_ORDER = [...HASH_NAMES, 'AutoV3Full'] as const;

function fullHashes(h: FileHashes): FileHashes {
  let own = 0;
  for (const k in h) if (Object.prototype.hasOwnProperty.call(h, k)) own++;
  const out: FileHashes = {};
  let known = 0;
  for (const k of HASH_KEY_ORDER) {
    const v = k === 'AutoV2' && !h.AutoV2 && h.SHA256 ? h.SHA256.slice(0, 10) : k === 'AutoV3' && !h.AutoV3 && h.AutoV3Full ? h.AutoV3Full.slice(0, 12) : h[k];
    if (Object.prototype.hasOwnProperty.call(h, k)) known++;
    if (v !== undefined) out[k] = v;
  }
  // A key that is no hash name: keep it, so that checkEntry refuses the row rather than the key vanishing.
  return known === own ? out : { ...h, ...out };
}

/** Empty lists of decoded entries: one shared, frozen array (entries are replaced, never changed in place). */
const EMPTY: never[] = Object.freeze([]) as unknown as never[];
/** A missing list (0 in a row) or an empty one as the shared empty list; anything else as it is, for checkEntry to judge. */
const orEmpty = <T>(list: T[] | 0 | undefined): T[] => (!list || (Array.isArray(list) && list.length === 0) ? EMPTY : list);

function compactSources(s: ModelEntry['hashSources']): Record<string, HashSource> | 0 {
  const out: Record<string, HashSource> = {};
  for (const [k, v] of Object.entries(s)) if (v && v !== 'computed') out[k] = v;
  return Object.keys(out).length ? out : 0;
}

/**
 * Hash sources: the few combinations a library holds (nearly always "every
 * hash computed") are built once and shared, frozen, by every entry that has
 * them. The key packs each hash name's source (3 bits, +1 so 0 is "absent").
 */
const SOURCE_CODES = new Map<string, number>(HASH_SOURCES.map((s, i) => [s, i + 1]));
const sharedSources = new Map<number, ModelEntry['hashSources']>();

function fullSources(hashes: FileHashes, stored: Record<string, HashSource> | 0): ModelEntry['hashSources'] {
  const out: ModelEntry['hashSources'] = {};
  let key = 0;
  let shareable = true;
  for (const k of HASH_KEY_ORDER) {
    if (k === 'AutoV3Full' || !Object.prototype.hasOwnProperty.call(hashes, k)) continue;
    // AutoV2 and AutoV3 share the source of what they derive from.
    const source = k === 'AutoV2' && stored && stored.SHA256 && !stored.AutoV2 ? stored.SHA256 : (stored && stored[k]) || 'computed';
    out[k] = source;
    const code = SOURCE_CODES.get(source);
    if (code === undefined) shareable = false;
    else key += code * 8 ** HASH_NAMES.indexOf(k);
  }
  if (!shareable) return out;
  let shared = sharedSources.get(key);
  if (!shared) sharedSources.set(key, (shared = Object.freeze(out)));
  return shared;
}

function encodeLink(l: CivitaiLink): unknown[] {
  const page = l.pageUrl === DEFAULT_PAGE(l) ? 0 : l.pageUrl;
  return [l.modelId, l.versionId, l.modelName, l.versionName, l.type, l.baseModel, l.trainedWords, l.nsfwLevel, page, l.matchedBy];
}

function decodeLink(r: unknown[]): CivitaiLink {
  const [modelId, versionId, modelName, versionName, type, baseModel, trainedWords, nsfwLevel, page, matchedBy] = r as [
    number, number, string, string, string, string | null, string[], number | null, string | 0, CivitaiLink['matchedBy'],
  ];
  return { modelId, versionId, modelName, versionName, type, baseModel, trainedWords: Array.isArray(trainedWords) && trainedWords.length === 0 ? EMPTY : trainedWords, nsfwLevel, pageUrl: page || DEFAULT_PAGE({ modelId, versionId }), matchedBy };
}

function encodeCivitai(c: CivitaiState): unknown[] {
  const row: unknown[] = [c.status, c.checkedAt ?? 0, c.link ? encodeLink(c.link) : 0, c.lastError ?? 0];
  // Appended only when set, so rows stay as short as before and older readers ignore it.
  if (c.parentPending) row.push(1);
  return row;
}

function decodeCivitai(r: unknown[]): CivitaiState {
  const [status, checkedAt, link, lastError, parentPending] = r as [CivitaiState['status'], number, unknown[] | 0, CivitaiState['lastError'] | 0, 1 | undefined];
  const c: CivitaiState = { status };
  if (checkedAt) c.checkedAt = checkedAt;
  if (link) c.link = decodeLink(link);
  if (lastError) c.lastError = lastError;
  if (parentPending === 1) c.parentPending = true;
  return c;
}

/** The preview is nearly always beside the model: then only its file name is kept. */
function encodePreview(e: ModelEntry): string | 0 {
  if (!e.preview) return 0;
  const dir = e.path.slice(0, e.path.lastIndexOf('/') + 1);
  return e.preview.startsWith(dir) && !e.preview.slice(dir.length).includes('/') ? e.preview.slice(dir.length) : `/${e.preview}`;
}

function decodePreview(path: string, p: string | 0): string | undefined {
  if (!p) return undefined;
  if (p.startsWith('/')) return p.slice(1);
  return path.slice(0, path.lastIndexOf('/') + 1) + p;
}

const orZero = <T>(list: T[] | undefined) => (list && list.length ? list : 0);

export function encodeEntry(e: ModelEntry): EntryRow {
  return [
    e.path,
    e.size,
    e.mtimeMs,
    e.fingerprint,
    compactHashes(e.hashes),
    compactSources(e.hashSources),
    e.verified ? 1 : 0,
    e.kind,
    e.baseModel,
    e.folderKind ?? 0,
    orZero(e.evidence),
    orZero(e.conflicts),
    encodeCivitai(e.civitai),
    e.manual ?? 0,
    encodePreview(e),
    e.addedAt,
    orZero(e.warnings),
    // Appended only when set, as the civitai row's parentPending: rows stay as short as before.
    // A HuggingFace origin without ignores puts `{}` in the ignores' place: a reader from before
    // the origin existed takes that for "no ignores" and ignores the extra element.
    ...(e.updates || e.huggingFace ? [e.updates ?? {}] : []),
    ...(e.huggingFace ? [e.huggingFace] : []),
  ];
}

/**
 * Reads a row back and checks it against the entry schema: a row that is not
 * one (damaged, hand-edited, planted) gives the reason instead, and the rest of
 * the snapshot stays usable.
 */
export function decodeEntry(r: unknown): { entry: ModelEntry } | { error: string } {
  if (!Array.isArray(r) || r.length < 17) return { error: 'not an index row' };
  let entry: ModelEntry;
  try {
    entry = buildEntry(r);
  } catch {
    return { error: 'a field has the wrong shape' };
  }
  return checkEntry(entry);
}

function buildEntry(r: unknown[]): ModelEntry {
  const [path, size, mtimeMs, fingerprint, hashes, sources, verified, kind, baseModel, folderKind, evidence, conflicts, civitai, manual, preview, addedAt, warnings, updates, huggingFace] =
    r as [string, number, number, string, FileHashes, Record<string, HashSource> | 0, number, ModelEntry['kind'], ModelEntry['baseModel'], ModelEntry['folderKind'] | 0, string[] | 0, string[] | 0, unknown[], ModelEntry['manual'] | 0, string | 0, number, string[] | 0, ModelEntry['updates'] | undefined, ModelEntry['huggingFace'] | undefined];
  if (!Array.isArray(civitai) || (hashes !== null && typeof hashes !== 'object') || (typeof preview !== 'string' && preview !== 0)) throw new Error('bad row');
  const full = fullHashes(hashes ?? {});
  const entry: ModelEntry = {
    path,
    size,
    mtimeMs,
    fingerprint,
    hashes: full,
    hashSources: fullSources(full, sources),
    verified: verified === 1,
    kind,
    baseModel,
    evidence: orEmpty(evidence),
    conflicts: orEmpty(conflicts),
    civitai: decodeCivitai(civitai),
    addedAt,
    warnings: orEmpty(warnings),
  };
  if (folderKind) entry.folderKind = folderKind;
  if (manual) entry.manual = manual;
  const p = decodePreview(path, preview);
  if (p) entry.preview = p;
  // `{}`: the placeholder before a HuggingFace origin (no ignores).
  if (updates !== undefined && !(isEmptyObject(updates))) entry.updates = updates;
  if (huggingFace !== undefined) entry.huggingFace = huggingFace;
  return entry;
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

const PEEK_KINDS = new Set<string>(MODEL_KINDS);
const PEEK_BASES = new Set<string>(BASE_MODELS);
const PEEK_STATUSES = new Set(['unknown', 'found', 'not_found']);

/**
 * The few fields of a row the panel's first screen needs, with only the checks
 * that keep them usable (a path, a size, a known kind and base, a Civitai
 * status), or null. Cheaper than decodeEntry by the objects it does not build
 * and the checks it leaves out: a row it accepts may still be one decodeEntry
 * refuses (a bad hash, say), so what it gives is a first look, not the library.
 */
export function peekRow(r: unknown): EntryPeek | null {
  if (!Array.isArray(r) || r.length < 17) return null;
  const path: unknown = r[0];
  const size: unknown = r[1];
  const kind: unknown = r[7];
  const baseModel: unknown = r[8];
  const civitai: unknown = r[12];
  const manual: unknown = r[13];
  const warnings: unknown = r[16];
  if (typeof path !== 'string' || !Number.isSafeInteger(size) || (size as number) < 0 || !PEEK_KINDS.has(kind as string) || !PEEK_BASES.has(baseModel as string)) return null;
  if (!Array.isArray(civitai) || !PEEK_STATUSES.has(civitai[0] as string)) return null;
  if (warnings !== 0 && !Array.isArray(warnings)) return null;
  if (manual !== 0 && (typeof manual !== 'object' || manual === null)) return null;
  const c: EntryPeek['civitai'] = { status: civitai[0] as CivitaiState['status'] };
  const link: unknown = civitai[2];
  if (Array.isArray(link)) {
    if (typeof link[2] !== 'string' || typeof link[3] !== 'string') return null;
    c.link = { modelName: link[2], versionName: link[3] };
  }
  if (civitai[3]) c.lastError = civitai[3] as CivitaiState['lastError'];
  const peek: EntryPeek = { path, size: size as number, kind: kind as EntryPeek['kind'], baseModel: baseModel as EntryPeek['baseModel'], verified: r[6] === 1, warnings: warnings || EMPTY, civitai: c };
  if (manual) peek.manual = manual as ModelEntry['manual'];
  return peek;
}
