/**
 * The snapshot's on-disk form of an entry: a JSON array in a fixed field order
 * rather than an object, with what can be derived left out (AutoV2 is the start
 * of SHA256, the 12-hex AutoV3 the start of the full one, the usual page URL
 * follows from the ids, "computed" is the usual hash source, empty lists are
 * omitted). It halves the snapshot (about 560 bytes per model instead of 1,130)
 * and with it the load time: a 50,000-model index must load in under a second on
 * a machine where every megabyte parsed costs about 15 ms.
 */
import type { FileHashes, HashName } from '../hash/names';
import { checkEntry } from './entry-schema';
import type { CivitaiLink, CivitaiState, HashSource, ModelEntry } from './types';

/** A row: see `encodeEntry` for the order. */
export type EntryRow = unknown[];

const DEFAULT_PAGE = (l: { modelId: number; versionId: number }) => `https://civitai.com/models/${l.modelId}?modelVersionId=${l.versionId}`;

function compactHashes(h: FileHashes): FileHashes {
  const out: FileHashes = { ...h };
  if (out.SHA256 && out.AutoV2 === out.SHA256.slice(0, 10)) delete out.AutoV2;
  if (out.AutoV3Full && out.AutoV3 === out.AutoV3Full.slice(0, 12)) delete out.AutoV3;
  return out;
}

function fullHashes(h: FileHashes): FileHashes {
  const out: FileHashes = { ...h };
  if (out.SHA256 && !out.AutoV2) out.AutoV2 = out.SHA256.slice(0, 10);
  if (out.AutoV3Full && !out.AutoV3) out.AutoV3 = out.AutoV3Full.slice(0, 12);
  return out;
}

function compactSources(s: ModelEntry['hashSources']): Record<string, HashSource> | 0 {
  const out: Record<string, HashSource> = {};
  for (const [k, v] of Object.entries(s)) if (v && v !== 'computed') out[k] = v;
  return Object.keys(out).length ? out : 0;
}

function fullSources(hashes: FileHashes, stored: Record<string, HashSource> | 0): ModelEntry['hashSources'] {
  const out: ModelEntry['hashSources'] = {};
  for (const k of Object.keys(hashes)) if (k !== 'AutoV3Full') out[k as HashName] = (stored && stored[k]) || 'computed';
  // AutoV2 and AutoV3 share the source of what they derive from.
  if (hashes.AutoV2 && stored && stored.SHA256 && !stored.AutoV2) out.AutoV2 = stored.SHA256;
  return out;
}

function encodeLink(l: CivitaiLink): unknown[] {
  const page = l.pageUrl === DEFAULT_PAGE(l) ? 0 : l.pageUrl;
  return [l.modelId, l.versionId, l.modelName, l.versionName, l.type, l.baseModel, l.trainedWords, l.nsfwLevel, page, l.matchedBy];
}

function decodeLink(r: unknown[]): CivitaiLink {
  const [modelId, versionId, modelName, versionName, type, baseModel, trainedWords, nsfwLevel, page, matchedBy] = r as [
    number, number, string, string, string, string | null, string[], number | null, string | 0, CivitaiLink['matchedBy'],
  ];
  return { modelId, versionId, modelName, versionName, type, baseModel, trainedWords, nsfwLevel, pageUrl: page || DEFAULT_PAGE({ modelId, versionId }), matchedBy };
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
    evidence: evidence || [],
    conflicts: conflicts || [],
    civitai: decodeCivitai(civitai),
    addedAt,
    warnings: warnings || [],
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
