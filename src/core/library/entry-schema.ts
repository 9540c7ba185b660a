/**
 * The one check every entry passes before the library uses it: rows of the
 * snapshot, lines of the journal, models of an import. All three are files that
 * another process, another version or a stranger sharing the folder may have
 * written, and one bad row used to break every later `ls`, scan and panel.
 *
 * An entry that fails is dropped with a reason (the caller warns once); a scan
 * finds the file again and rebuilds it. Paths must be relative, `/`-separated,
 * normalised and inside the root: an index can never name a file elsewhere.
 *
 * Hand-written rather than a schema library: it runs on every row decoded (a
 * 100,000-model panel decodes them all), the checks are flat, and the shipped
 * declarations must stay readable by tslab's TypeScript 5.0.
 */
import { HASH_NAMES } from '../hash/names';
import { BASE_MODELS, MODEL_KINDS } from '../probe/types';
import { HASH_SOURCES, type ModelEntry } from './types';

const KINDS = new Set<string>(MODEL_KINDS);
const BASES = new Set<string>(BASE_MODELS);
const SOURCES = new Set<string>(HASH_SOURCES);
const HASH_KEYS = new Set<string>([...HASH_NAMES, 'AutoV3Full']);
const MATCHED_BY = new Set<string>([...HASH_NAMES, 'manual']);
const STATUSES = new Set(['unknown', 'found', 'not_found']);
const MAX_TEXT = 100_000;
const MAX_LIST = 10_000;

/** Why `p` is not a safe entry path (relative, normalised, inside the root), or null when it is. */
export function unsafeEntryPath(p: unknown): string | null {
  if (typeof p !== 'string' || p === '') return 'no path';
  if (p.length > 4096) return 'path too long';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'absolute path';
  // Any byte a Linux file name may hold is allowed (printing strips controls); NUL cannot be in one.
  if (p.includes('\u0000')) return 'path with a NUL character';
  // Segment by segment without splitting (no array and substrings per row: this runs on every decoded row).
  for (let start = 0; start <= p.length; ) {
    let end = p.indexOf('/', start);
    if (end < 0) end = p.length;
    const len = end - start;
    if (len === 0 || (p.charCodeAt(start) === 0x2e && (len === 1 || (len === 2 && p.charCodeAt(start + 1) === 0x2e)))) return 'path not normalised or leaving the root';
    start = end + 1;
  }
  return null;
}

/** The entry, checked, or the first reason it is not one. */
export function checkEntry(x: unknown): { entry: ModelEntry } | { error: string } {
  const error = entryProblem(x);
  return error ? { error } : { entry: x as ModelEntry };
}

/**
 * A model of an export: what it shares with an entry (path, size, fingerprint,
 * hashes, Civitai state, manual edits, update ignores) is checked as an
 * entry's is; hash sources need only be an object (import keeps its own).
 */
export function exportedModelProblem(x: unknown): string | null {
  if (!isObj(x)) return 'not an object';
  const identity = identityProblem(x);
  if (identity) return identity;
  if (x.hashSources !== undefined && !isObj(x.hashSources)) return 'hashSources is not an object';
  // A bad huggingFace origin is the caller's to drop (with a warning): the rest of the model is good.
  return civitaiProblem(x.civitai) ?? manualProblem(x.manual) ?? updatesProblem(x.updates);
}

/** The fields that say which file a row is about. */
function identityProblem(x: Record<string, unknown>): string | null {
  const badPath = unsafeEntryPath(x.path);
  if (badPath) return badPath;
  if (!isCount(x.size)) return 'size is not a byte count';
  if (typeof x.fingerprint !== 'string' || x.fingerprint.length > 200) return 'fingerprint is not a string';
  if (!isHashes(x.hashes)) return 'hashes are not hex digests';
  return null;
}

function entryProblem(x: unknown): string | null {
  if (!isObj(x)) return 'not an object';
  const identity = identityProblem(x);
  if (identity) return identity;
  if (!isTime(x.mtimeMs)) return 'mtimeMs is not a time';
  if (!isObj(x.hashSources) || !everyOwn(x.hashSources, (k, v) => HASH_KEYS.has(k) && SOURCES.has(v as string))) return 'hashSources are invalid';
  if (typeof x.verified !== 'boolean') return 'verified is not a boolean';
  if (!KINDS.has(x.kind as string)) return 'kind is unknown';
  if (!BASES.has(x.baseModel as string)) return 'baseModel is unknown';
  if (x.folderKind !== undefined && !KINDS.has(x.folderKind as string)) return 'folderKind is unknown';
  if (!isTexts(x.evidence) || !isTexts(x.conflicts) || !isTexts(x.warnings)) return 'evidence, conflicts or warnings are not lists of strings';
  const civitai = civitaiProblem(x.civitai);
  if (civitai) return civitai;
  const manual = manualProblem(x.manual);
  if (manual) return manual;
  if (x.preview !== undefined && unsafeEntryPath(x.preview)) return `preview: ${unsafeEntryPath(x.preview)}`;
  if (!isTime(x.addedAt)) return 'addedAt is not a time';
  return updatesProblem(x.updates) ?? huggingFaceProblem(x.huggingFace);
}

const HEX40 = /^[0-9a-f]{40}$/;
// Short, single-line names: no control characters (a row is printed by `info` and shown in the panel).
const NAME = /^[^\u0000-\u001f\u007f]{1,300}$/;
const HF_KEYS = new Set(['repo', 'revision', 'path', 'commit', 'license', 'baseModels']);

/** Why a HuggingFace origin (of an entry or of an exported model) is not one, or null. */
export function huggingFaceProblem(h: unknown): string | null {
  if (h === undefined) return null;
  if (!isObj(h)) return 'huggingFace is not an object';
  if (Object.keys(h).some((k) => !HF_KEYS.has(k))) return 'huggingFace has unknown keys';
  if (typeof h.repo !== 'string' || !/^((datasets|spaces)\/)?[\w.-]{1,100}\/[\w.-]{1,100}$/.test(h.repo) || h.repo.split('/').some((s) => s === '.' || s === '..')) return 'huggingFace.repo is not owner/name';
  if (typeof h.revision !== 'string' || !NAME.test(h.revision)) return 'huggingFace.revision is not a name';
  if (typeof h.path !== 'string' || h.path.length > 1000 || unsafeEntryPath(h.path) || /[\u0000-\u001f\u007f]/.test(h.path)) return 'huggingFace.path is not a path inside the repository';
  if (h.commit !== undefined && (typeof h.commit !== 'string' || !HEX40.test(h.commit))) return 'huggingFace.commit is not a commit hash';
  if (h.license !== undefined && (typeof h.license !== 'string' || !NAME.test(h.license))) return 'huggingFace.license is not a name';
  if (h.baseModels !== undefined && !(Array.isArray(h.baseModels) && h.baseModels.length <= 20 && h.baseModels.every((b) => typeof b === 'string' && NAME.test(b)))) return 'huggingFace.baseModels is not a list of names';
  return null;
}

/** Also checks the update ignores of an imported model. */
function updatesProblem(u: unknown): string | null {
  if (u === undefined) return null;
  if (!isObj(u)) return 'updates is not an object';
  if (u.model !== undefined && u.model !== true) return 'updates.model is not true';
  if (u.version !== undefined && !isId(u.version)) return 'updates.version is not a version id';
  if (Object.keys(u).some((k) => k !== 'model' && k !== 'version')) return 'updates has unknown keys';
  return null;
}

/** The Civitai part of an entry (or of an exported model). */
function civitaiProblem(c: unknown): string | null {
  if (!isObj(c) || !STATUSES.has(c.status as string)) return 'civitai.status is invalid';
  if (c.checkedAt !== undefined && !isTime(c.checkedAt)) return 'civitai.checkedAt is not a time';
  if (c.parentPending !== undefined && c.parentPending !== true) return 'civitai.parentPending is not true';
  if (c.lastError !== undefined && !(isObj(c.lastError) && isText(c.lastError.code) && isText(c.lastError.message) && isTime(c.lastError.at))) return 'civitai.lastError is invalid';
  if (c.link === undefined) return null;
  const l = c.link;
  if (!isObj(l)) return 'civitai.link is not an object';
  if (!isId(l.modelId) || !isId(l.versionId)) return 'civitai.link has no ids';
  if (!isText(l.modelName) || !isText(l.versionName) || !isText(l.type) || !isText(l.pageUrl)) return 'civitai.link names are not strings';
  if (l.baseModel !== null && !isText(l.baseModel)) return 'civitai.link.baseModel is not a string';
  if (!isTexts(l.trainedWords)) return 'civitai.link.trainedWords is not a list of strings';
  if (l.nsfwLevel !== null && !Number.isFinite(l.nsfwLevel)) return 'civitai.link.nsfwLevel is not a number';
  if (!MATCHED_BY.has(l.matchedBy as string)) return 'civitai.link.matchedBy is unknown';
  return null;
}

function manualProblem(m: unknown): string | null {
  if (m === undefined) return null;
  if (!isObj(m)) return 'manual is not an object';
  if (m.link !== undefined) {
    const l = m.link;
    if (!isObj(l) || !isId(l.versionId) || !(l.modelId === null || isId(l.modelId)) || !isText(l.input) || !isTime(l.at)) return 'manual.link is invalid';
  }
  if (m.hashes !== undefined && !isHashes(m.hashes)) return 'manual.hashes are not hex digests';
  return null;
}

const HEX = /^[0-9A-F]{8,64}$/;

function isHashes(h: unknown): boolean {
  return isObj(h) && everyOwn(h, (k, v) => HASH_KEYS.has(k) && typeof v === 'string' && HEX.test(v));
}

/** Whether every own enumerable property passes; as Object.entries(o).every, without its arrays (it runs on every decoded row). */
function everyOwn(o: Record<string, unknown>, test: (key: string, value: unknown) => boolean): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k) && !test(k, o[k])) return false;
  return true;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_TEXT;
}

function isTexts(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= MAX_LIST && v.every(isText);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}
