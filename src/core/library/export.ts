/**
 * Export and import: one JSON file with what is costly to recompute or
 * impossible to guess (hashes, Civitai ids, manual links and hashes), with paths
 * relative to the root and no token. Import matches by SHA256, else by
 * fingerprint, so it works after files moved, were renamed, or on another
 * machine (scan the target first: import only fills in what a scan cannot know).
 */
import { ModeldeckError } from '../errors';
import { HASH_NAMES, type FileHashes } from '../hash/names';
import { checkEntry, exportedModelProblem, huggingFaceProblem } from './entry-schema';
import type { IndexStore } from './index-store';
import type { CivitaiState, HuggingFaceOrigin, ManualOverrides, ModelEntry, UpdateIgnores } from './types';

export const EXPORT_FORMAT = 'modeldeck-export';
export const EXPORT_VERSION = 1;

export interface ExportedModel {
  path: string;
  size: number;
  fingerprint: string;
  hashes: FileHashes;
  hashSources: ModelEntry['hashSources'];
  civitai: CivitaiState;
  manual?: ManualOverrides;
  /** Ignored updates (absent when none). */
  updates?: UpdateIgnores;
  /** Where a HuggingFace download came from (absent for other files). */
  huggingFace?: HuggingFaceOrigin;
}

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: number;
  exportedAt: string;
  models: ExportedModel[];
}

export interface ImportReport {
  models: number;
  matched: number;
  /** Of `matched`: by SHA256, and by fingerprint (size and sampled blocks) alone. */
  matchedBySha256: number;
  matchedByFingerprint: number;
  /** Files the import indexed first (a root never scanned, or files new since its last scan); absent when none. */
  indexed?: number;
  /** Exported models with no file of the same SHA256 or fingerprint in the library. */
  unmatched: string[];
  /** Exported models left out because they are not valid entries (`models[3]: reason`). */
  rejected: string[];
  /** Fields left out of models that were otherwise imported (`models[3]: huggingFace...: reason`); absent when none. */
  dropped?: string[];
}

export function exportLibrary(entries: Iterable<ModelEntry>): ExportDocument {
  const models: ExportedModel[] = [];
  for (const e of entries) {
    // lastError and parentPending are about one moment (and the sidecars) on one machine, not about the file.
    const { lastError: _dropped, parentPending: _sidecars, ...civitai } = e.civitai;
    const model: ExportedModel = { path: e.path, size: e.size, fingerprint: e.fingerprint, hashes: e.hashes, hashSources: e.hashSources, civitai, manual: e.manual };
    if (e.updates) model.updates = e.updates;
    if (e.huggingFace) model.huggingFace = e.huggingFace;
    models.push(model);
  }
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date().toISOString(), models };
}

/**
 * Checks the document before anything changes: one that is not an export (or
 * of another version) changes nothing. Each model is then checked against the
 * entry schema on its own: a bad one is left out and named in the report,
 * never written into the index.
 */
export function validateExport(doc: unknown): { doc: ExportDocument; rejected: string[]; dropped: string[] } {
  const bad = (why: string) => new ModeldeckError('bad_export', `not a modeldeck export: ${why}`);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad('not a JSON object');
  const d = doc as Partial<ExportDocument>;
  if (d.format !== EXPORT_FORMAT) throw bad(`"format" is ${JSON.stringify(d.format)}, expected "${EXPORT_FORMAT}"`);
  if (d.version !== EXPORT_VERSION) throw bad(`version ${JSON.stringify(d.version)} is not supported (this modeldeck reads ${EXPORT_VERSION})`);
  if (!Array.isArray(d.models)) throw bad('"models" is not a list');
  const models: ExportedModel[] = [];
  const rejected: string[] = [];
  const dropped: string[] = [];
  d.models.forEach((m: unknown, i: number) => {
    const why = exportedModelProblem(m);
    if (why) return void rejected.push(`models[${i}]: ${why}`);
    const model = m as ExportedModel;
    // The origin is a courtesy: a bad one is left out, the hashes and links still count.
    const badOrigin = huggingFaceProblem(model.huggingFace);
    if (badOrigin) {
      const { huggingFace: _bad, ...rest } = model;
      dropped.push(`models[${i}]: ${badOrigin}`);
      models.push(rest);
    } else {
      models.push(model);
    }
  });
  return { doc: { ...(d as ExportDocument), models }, rejected, dropped };
}

export function importIntoLibrary(store: IndexStore, doc: unknown): ImportReport {
  const { doc: valid, rejected, dropped } = validateExport(doc);
  const bySha = new Map<string, ModelEntry[]>();
  const byFingerprint = new Map<string, ModelEntry[]>();
  for (const e of store.all()) {
    if (e.hashes.SHA256) bySha.set(e.hashes.SHA256, [...(bySha.get(e.hashes.SHA256) ?? []), e]);
    byFingerprint.set(e.fingerprint, [...(byFingerprint.get(e.fingerprint) ?? []), e]);
  }
  const report: ImportReport = { models: valid.models.length + rejected.length, matched: 0, matchedBySha256: 0, matchedByFingerprint: 0, unmatched: [], rejected, ...(dropped.length ? { dropped } : {}) };
  for (const m of valid.models) {
    const bySha256 = (m.hashes.SHA256 && bySha.get(m.hashes.SHA256)) || undefined;
    // A fingerprint match must not contradict a SHA256 both sides know.
    const byPrint = (byFingerprint.get(m.fingerprint) ?? []).filter((e) => !(e.hashes.SHA256 && m.hashes.SHA256 && e.hashes.SHA256 !== m.hashes.SHA256));
    const targets = bySha256 || byPrint;
    if (targets.length === 0) {
      report.unmatched.push(m.path);
      continue;
    }
    let applied = false;
    for (const target of targets) {
      const checked = checkEntry(merge(target, m));
      if ('entry' in checked) {
        store.put(checked.entry);
        applied = true;
      } else if (!report.rejected.includes(`${m.path}: ${checked.error}`)) {
        report.rejected.push(`${m.path}: ${checked.error}`);
      }
    }
    if (applied) {
      report.matched++;
      if (bySha256) report.matchedBySha256++;
      else report.matchedByFingerprint++;
    }
  }
  return report;
}

/** What an export adds to a local entry: hashes it lacks, manual edits, and a Civitai answer it has not got. */
function merge(local: ModelEntry, m: ExportedModel): ModelEntry {
  const hashes = { ...local.hashes };
  const hashSources = { ...local.hashSources };
  for (const name of HASH_NAMES) {
    const v = m.hashes[name];
    if (v && !hashes[name]) {
      hashes[name] = v;
      hashSources[name] = m.hashSources?.[name] === 'manual' ? 'manual' : (m.hashSources?.[name] ?? 'computed');
    }
  }
  const manual = m.manual ? { ...local.manual, ...m.manual } : local.manual;
  const civitai = local.civitai.status === 'unknown' || m.manual?.link ? { ...m.civitai } : local.civitai;
  const updates = mergeIgnores(local.updates, m.updates);
  // The local origin wins; an exported one fills in, on the same match as everything else the export carries.
  const huggingFace = local.huggingFace ?? m.huggingFace;
  return { ...local, hashes, hashSources, manual, civitai, ...(updates ? { updates } : {}), ...(huggingFace ? { huggingFace } : {}) };
}

/** Ignores add up: an ignored model stays ignored, the newer ignored version wins. */
function mergeIgnores(a: UpdateIgnores | undefined, b: UpdateIgnores | undefined): UpdateIgnores | undefined {
  if (!a && !b) return undefined;
  const out: UpdateIgnores = {};
  if (a?.model || b?.model) out.model = true;
  const version = Math.max(a?.version ?? 0, b?.version ?? 0);
  if (version > 0) out.version = version;
  return out;
}
