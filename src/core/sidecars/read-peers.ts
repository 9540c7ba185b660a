/**
 * What the user's other tools already know about a model file, read from the
 * sidecars they leave beside it (reference: sidecar-formats.md §2–§8, §12):
 *
 *   base.civitai.info   Civitai Helper / CHZ / civitai-shortcut: the by-hash body
 *   base.json           A1111 user metadata (+ sd-civitai-browser-plus's own keys)
 *   base.metadata.json  ComfyUI-Lora-Manager
 *   base.cm-info.json   Stability Matrix
 *   base[.preview].ext  previews
 *
 * Other tools' files are input we do not control: every problem (invalid JSON,
 * a 20 MB file, an array, a wrong-typed field, a hash that is not hex) becomes
 * a one-line warning naming the file, and the other sidecars still count.
 * Nothing here throws for a bad sidecar, and nothing here writes.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { HashName } from '../hash/names';
import type { HashSource } from '../library/types';
import { normaliseHashValue } from './hash-values';
import { MAX_SIDECAR_BYTES, isPlainObject, jsonKind, readJsonCapped, sidecarWarning, refusedSidecarWarning } from './json-file';
import { sidecarBase } from './paths';

export interface PeerSidecars {
  hashes: Partial<Record<HashName, { value: string; source: HashSource }>>;
  /**
   * The Civitai ids a sidecar records. `notFound`: a tool looked the file up and
   * Civitai did not know it at that time (CH's `{}`, CBP's "Model not found").
   */
  civitai?: { modelId: number | null; versionId: number | null; notFound: boolean; source: HashSource };
  trainedWords?: string[];
  /** The A1111 `base.json` object (wrong-typed A1111 keys removed, everything else as the user wrote it). */
  userMetadata?: Record<string, unknown>;
  /** File name (not path) of an existing preview beside the model. */
  previewFile?: string;
  warnings: string[];
}

export interface ReadPeersOptions {
  /**
   * Names in the model's folder, when the caller has listed it already (a scan
   * does): saves a readdir per model, and a failed open per absent sidecar,
   * which on a Drive mount is a network round trip each.
   */
  dirEntries?: readonly string[];
  /** The model's size in bytes, when known (else one stat): picks the right file of a multi-file `.civitai.info`. */
  modelSize?: number;
  /** Cap per sidecar (default 16 MB). */
  maxBytes?: number;
}

/** Which tool wins when sidecars disagree: the full Civitai body first, the user-editable A1111 file last. */
export const SOURCE_PRIORITY: readonly HashSource[] = ['civitai-info', 'lm-metadata', 'sm-cm-info', 'a1111-json'];

/** A1111's `find_preview` order (png, jpg, webp; later jpeg, gif), each bare then with `.preview` (formats §2.2). */
export const PREVIEW_EXTENSIONS = ['png', 'jpg', 'webp', 'jpeg', 'gif'] as const;

type Obj = Record<string, unknown>;
type Warn = (reason: string) => void;

/** What one sidecar says. */
interface Finding {
  source: HashSource;
  hashes: Partial<Record<HashName, string>>;
  civitai?: { modelId: number | null; versionId: number | null; notFound: boolean };
  trainedWords?: string[];
}

export async function readPeerSidecars(modelPath: string, options: ReadPeersOptions = {}): Promise<PeerSidecars> {
  const warnings: string[] = [];
  const dir = dirname(modelPath);
  const base = sidecarBase(modelPath);
  const stem = basename(base);
  const maxBytes = options.maxBytes ?? MAX_SIDECAR_BYTES;
  const entries = options.dirEntries ?? (await readdir(dir).catch(() => null));
  const present = entries ? new Set(entries) : null;

  /** Parsed JSON of `stem + suffix`, undefined when absent or unusable (with a warning). */
  const load = async (suffix: string): Promise<{ file: string; value: unknown; warn: Warn } | undefined> => {
    const file = base + suffix;
    if (present && !present.has(stem + suffix)) return undefined;
    const warn: Warn = (reason) => warnings.push(sidecarWarning(file, reason));
    const r = await readJsonCapped(file, maxBytes);
    if (r.kind === 'missing') return undefined;
    if (r.kind === 'empty') {
      warn('empty file, ignored');
      return undefined;
    }
    if (r.kind === 'bad') {
      if (r.refused) warnings.push(refusedSidecarWarning(file, r.reason));
      else warn(`${r.reason}, ignored`);
      return undefined;
    }
    if (!isPlainObject(r.value)) {
      warn(`expected a JSON object, got ${jsonKind(r.value)}, ignored`);
      return undefined;
    }
    return { file, value: r.value, warn };
  };

  const [info, a1111, lm, sm] = await Promise.all([
    load('.civitai.info'),
    load('.json'),
    load('.metadata.json'),
    load('.cm-info.json'),
  ]);

  const findings: Finding[] = [];
  if (info) {
    const size = options.modelSize ?? (await stat(modelPath).then((s) => s.size, () => undefined));
    findings.push(fromCivitaiInfo(info.value as Obj, basename(modelPath), size, info.warn));
  }
  if (lm) findings.push(fromLoraManager(lm.value as Obj, lm.warn));
  if (sm) findings.push(fromStabilityMatrix(sm.value as Obj, sm.warn));
  let userMetadata: Record<string, unknown> | undefined;
  if (a1111) {
    const r = fromA1111Json(a1111.value as Obj, a1111.warn);
    findings.push(r.finding);
    userMetadata = r.userMetadata;
  }

  const out: PeerSidecars = { hashes: {}, warnings };
  mergeFindings(findings, out);
  if (userMetadata) out.userMetadata = userMetadata;
  const preview = entries ? findPreview(stem, entries) : undefined;
  if (preview) out.previewFile = preview;
  return out;
}

/**
 * The first existing preview in A1111 order, matched case-insensitively
 * (`NAME.Preview.PNG` counts); else any other `NAME.preview.*` another tool
 * wrote (LM's and SM's `.preview.mp4`, `.preview.avif`...), so it is shown
 * and never duplicated.
 */
export function findPreview(stem: string, entries: readonly string[]): string | undefined {
  const byLower = new Map<string, string>();
  for (const e of entries) if (!byLower.has(e.toLowerCase())) byLower.set(e.toLowerCase(), e);
  const s = stem.toLowerCase();
  for (const ext of PREVIEW_EXTENSIONS) {
    for (const name of [`${s}.${ext}`, `${s}.preview.${ext}`]) {
      const hit = byLower.get(name);
      if (hit) return hit;
    }
  }
  const prefix = `${s}.preview.`;
  return entries.find((e) => {
    const lower = e.toLowerCase();
    return lower.startsWith(prefix) && lower.length > prefix.length && !lower.endsWith('.tmp');
  });
}

// ---- merging ----

function mergeFindings(findings: Finding[], out: PeerSidecars): void {
  findings.sort((a, b) => SOURCE_PRIORITY.indexOf(a.source) - SOURCE_PRIORITY.indexOf(b.source));
  const names = new Set(findings.flatMap((f) => Object.keys(f.hashes) as HashName[]));
  for (const name of names) {
    const said = findings.filter((f) => f.hashes[name]).map((f) => ({ source: f.source, value: f.hashes[name]! }));
    const [first] = said;
    out.hashes[name] = first;
    const others = said.filter((s) => s.value !== first.value);
    if (others.length) {
      out.warnings.push(
        `sidecars disagree on ${name}: ${said.map((s) => `${s.source} says ${s.value}`).join(', ')}; using ${first.source}`,
      );
    }
  }
  const found = findings.filter((f) => f.civitai && !f.civitai.notFound);
  const chosen = found[0] ?? findings.find((f) => f.civitai?.notFound);
  if (chosen?.civitai) {
    out.civitai = { ...chosen.civitai, source: chosen.source };
    const differing = found.filter((f) => f.civitai!.versionId !== null && chosen.civitai!.versionId !== null && f.civitai!.versionId !== chosen.civitai!.versionId);
    if (differing.length) {
      out.warnings.push(
        `sidecars disagree on the Civitai version: ${found.map((f) => `${f.source} says ${f.civitai!.versionId}`).join(', ')}; using ${chosen.source}`,
      );
    }
  }
  const words = findings.find((f) => f.trainedWords && f.trainedWords.length) ?? findings.find((f) => f.trainedWords);
  if (words?.trainedWords) out.trainedWords = words.trainedWords;
}

// ---- per format ----

/**
 * CH/CHZ `.civitai.info` (formats §3): the by-hash body, or `{}` / an id-less
 * object when Civitai did not know the file. The body lists every file of the
 * version; the hashes adopted are those of the file that is this one (the only
 * one, or the one with this name, or the one with this size) and only when its
 * size agrees: a stale `.civitai.info` beside a replaced file must not lend it
 * another file's SHA256.
 */
function fromCivitaiInfo(v: Obj, fileName: string, size: number | undefined, warn: Warn): Finding {
  const f: Finding = { source: 'civitai-info', hashes: {} };
  const versionId = idField(v, 'id', warn);
  if (versionId === undefined) return f; // wrong-typed id: we cannot tell found from not found
  const modelId = idField(v, 'modelId', warn) ?? null;
  if (versionId === null) {
    f.civitai = { modelId: null, versionId: null, notFound: true };
    return f;
  }
  f.civitai = { modelId, versionId, notFound: false };
  const words = stringList(v, 'trainedWords', warn);
  if (words) f.trainedWords = words;
  if (v.files === undefined || v.files === null) return f;
  if (!Array.isArray(v.files)) {
    warn(`"files" is ${jsonKind(v.files)}, not an array; hashes ignored`);
    return f;
  }
  const files = v.files.filter((x): x is Obj => isPlainObject(x) && isPlainObject(x.hashes));
  const file = pickFile(files, fileName, size);
  if (!file) {
    if (files.length) warn(`none of its ${files.length} files matches this file by name or size; hashes not adopted`);
    return f;
  }
  for (const [k, raw] of Object.entries(file.hashes as Obj)) {
    const name = hashNameOf(k);
    if (!name) continue;
    const value = normaliseHashValue(name, raw);
    if (value) f.hashes[name] = value;
    else warn(`files[].hashes.${k} is not a valid ${name} (${preview(raw)}), ignored`);
  }
  return f;
}

function pickFile(files: Obj[], fileName: string, size: number | undefined): Obj | undefined {
  const sizeOk = (x: Obj) => {
    const kb = x.sizeKB;
    if (size === undefined || typeof kb !== 'number' || !Number.isFinite(kb)) return true;
    return Math.abs(kb * 1024 - size) <= 1024; // sizeKB is bytes/1024 as a float; allow its rounding
  };
  const lower = fileName.toLowerCase();
  const byName = files.filter((x) => typeof x.name === 'string' && x.name.toLowerCase() === lower);
  const candidates = files.length === 1 ? files : byName.length ? byName : files.filter((x) => size !== undefined && typeof x.sizeKB === 'number' && sizeOk(x));
  return candidates.length === 1 && sizeOk(candidates[0]) ? candidates[0] : undefined;
}

/**
 * A1111 `base.json` (formats §2.1) with sd-civitai-browser-plus's keys (§5):
 * `sha256` upper-case, `modelId`/`modelVersionId`, which are the string
 * "Model not found" after a 404 (and "offline" after a 503, which says nothing).
 */
function fromA1111Json(v: Obj, warn: Warn): { finding: Finding; userMetadata: Obj } {
  const f: Finding = { source: 'a1111-json', hashes: {} };
  const meta: Obj = { ...v };
  for (const key of ['activation text', 'negative text', 'sd version', 'description', 'notes']) {
    if (key in meta && typeof meta[key] !== 'string') {
      warn(`"${key}" is ${jsonKind(meta[key])}, not a string; ignored`);
      delete meta[key];
    }
  }
  if ('preferred weight' in meta) {
    const w = meta['preferred weight'];
    const n = typeof w === 'string' && w.trim() !== '' ? Number(w) : w;
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      warn(`"preferred weight" is ${jsonKind(w)}, not a number; ignored`);
      delete meta['preferred weight'];
    }
  }
  if (meta.sha256 !== undefined && meta.sha256 !== null && meta.sha256 !== '') {
    const h = normaliseHashValue('SHA256', meta.sha256);
    if (h) f.hashes.SHA256 = h;
    else warn(`"sha256" is not a valid SHA256 (${preview(meta.sha256)}), ignored`);
  }
  const notFound = (x: unknown) => typeof x === 'string' && x.trim().toLowerCase() === 'model not found';
  if (notFound(meta.modelId) || notFound(meta.modelVersionId)) {
    f.civitai = { modelId: null, versionId: null, notFound: true };
  } else {
    const quiet = (x: unknown) => typeof x === 'string' && !/^\d+$/.test(x.trim()); // "offline" and other CBP states
    const modelId = quiet(meta.modelId) ? null : idField(meta, 'modelId', warn) ?? null;
    const versionId = quiet(meta.modelVersionId) ? null : idField(meta, 'modelVersionId', warn) ?? null;
    if (modelId !== null || versionId !== null) f.civitai = { modelId, versionId, notFound: false };
  }
  return { finding: f, userMetadata: meta };
}

/**
 * ComfyUI-Lora-Manager `base.metadata.json` (formats §7): `sha256` lower-case
 * (empty while LM has not hashed a checkpoint), `autov3` 12 hex or null, and
 * the Civitai version object under `civitai` (`{}` when there is none).
 * `from_civitai: false` without an id is LM's "not on Civitai".
 */
function fromLoraManager(v: Obj, warn: Warn): Finding {
  const f: Finding = { source: 'lm-metadata', hashes: {} };
  if (typeof v.sha256 === 'string' && v.sha256 !== '') {
    const h = normaliseHashValue('SHA256', v.sha256);
    if (h) f.hashes.SHA256 = h;
    else warn(`"sha256" is not a valid SHA256 (${preview(v.sha256)}), ignored`);
  } else if (v.sha256 !== undefined && v.sha256 !== null && v.sha256 !== '') {
    warn(`"sha256" is ${jsonKind(v.sha256)}, not a string; ignored`);
  }
  if (v.autov3 !== undefined && v.autov3 !== null) {
    const h = normaliseHashValue('AutoV3', v.autov3);
    if (h) f.hashes.AutoV3 = h;
    else warn(`"autov3" is not a valid AutoV3 (${preview(v.autov3)}), ignored`);
  }
  let versionId: number | null = null;
  if (isPlainObject(v.civitai)) {
    const c = v.civitai;
    const warnC: Warn = (r) => warn(`civitai.${r}`);
    versionId = idField(c, 'id', warnC) ?? null;
    const modelId = idField(c, 'modelId', warnC) ?? null;
    if (versionId !== null || modelId !== null) f.civitai = { modelId, versionId, notFound: false };
    const words = stringList(c, 'trainedWords', warnC);
    if (words) f.trainedWords = words;
  } else if (v.civitai !== undefined && v.civitai !== null) {
    warn(`"civitai" is ${jsonKind(v.civitai)}, not an object; ignored`);
  }
  if (!f.civitai && v.from_civitai === false) f.civitai = { modelId: null, versionId: null, notFound: true };
  return f;
}

/**
 * Stability Matrix `base.cm-info.json` (formats §8): PascalCase keys (read
 * case-insensitively, since SM has two serialisers), `Hashes` with SHA256,
 * CRC32, BLAKE3 upper-case. Ids count only when `Source` is Civitai (or absent):
 * an OpenModelDb id is not a Civitai id.
 */
function fromStabilityMatrix(v: Obj, warn: Warn): Finding {
  const f: Finding = { source: 'sm-cm-info', hashes: {} };
  const get = caseInsensitive(v);
  const hashes = get('Hashes');
  if (isPlainObject(hashes)) {
    for (const [k, raw] of Object.entries(hashes)) {
      const name = hashNameOf(k);
      if (!name || raw === null || raw === undefined) continue;
      const value = normaliseHashValue(name, raw);
      if (value) f.hashes[name] = value;
      else warn(`Hashes.${k} is not a valid ${name} (${preview(raw)}), ignored`);
    }
  } else if (hashes !== undefined && hashes !== null) {
    warn(`"Hashes" is ${jsonKind(hashes)}, not an object; ignored`);
  }
  const source = get('Source');
  const fromCivitai = source === undefined || source === null || (typeof source === 'string' && source.toLowerCase() === 'civitai');
  if (fromCivitai) {
    const modelId = idField({ ModelId: get('ModelId') }, 'ModelId', warn) ?? null;
    const versionId = idField({ VersionId: get('VersionId') }, 'VersionId', warn) ?? null;
    if (modelId !== null || versionId !== null) f.civitai = { modelId, versionId, notFound: false };
  }
  const words = stringList({ TrainedWords: get('TrainedWords') }, 'TrainedWords', warn);
  if (words) f.trainedWords = words;
  return f;
}

// ---- small readers ----

const HASH_KEYS = new Map<string, HashName>(
  (['SHA256', 'AutoV1', 'AutoV2', 'AutoV3', 'BLAKE3', 'CRC32'] as HashName[]).map((n) => [n.toLowerCase(), n]),
);

function hashNameOf(key: string): HashName | undefined {
  return HASH_KEYS.get(key.toLowerCase());
}

/**
 * A positive integer id (a digit string too). `null` when absent or null;
 * `undefined`, with a warning, when present with a wrong type or value.
 */
function idField(o: Obj, key: string, warn: Warn): number | null | undefined {
  const v = o[key];
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
  warn(`"${key}" is not a positive integer (${preview(v)}), ignored`);
  return undefined;
}

/** A list of strings; non-strings dropped with a warning; undefined when absent. */
function stringList(o: Obj, key: string, warn: Warn): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    warn(`"${key}" is ${jsonKind(v)}, not a list; ignored`);
    return undefined;
  }
  const words = v.filter((w): w is string => typeof w === 'string');
  if (words.length !== v.length) warn(`"${key}" holds ${v.length - words.length} non-string item(s), dropped`);
  return words;
}

function caseInsensitive(o: Obj): (key: string) => unknown {
  const map = new Map<string, unknown>();
  for (const [k, v] of Object.entries(o)) if (!map.has(k.toLowerCase())) map.set(k.toLowerCase(), v);
  return (key) => map.get(key.toLowerCase());
}

/** A short quote of a bad value for a warning. */
function preview(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : jsonKind(v);
  return s.length > 40 ? s.slice(0, 37) + '..."' : s;
}

/** Sidecar paths for a model, for callers that want to watch or delete them. */
export function peerSidecarPaths(modelPath: string): Record<'civitaiInfo' | 'a1111Json' | 'lmMetadata' | 'smCmInfo', string> {
  const base = sidecarBase(modelPath);
  return {
    civitaiInfo: base + '.civitai.info',
    a1111Json: base + '.json',
    lmMetadata: base + '.metadata.json',
    smCmInfo: base + '.cm-info.json',
  };
}

