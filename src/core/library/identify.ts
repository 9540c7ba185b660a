/**
 * Asking Civitai about many entries at once, and writing what it answers into
 * the entries and beside the models.
 *
 * The client's resolver does the batching (bulk SHA256 first, single lookups
 * only for what bulk cannot answer) and its on-disk cache. Here: which entries
 * to ask about, and how an answer changes an entry. A failed lookup never
 * replaces an earlier answer: it goes into `lastError`, and the next scan asks
 * again.
 */
import type { CivitaiClient, ModelVersion, ResolveInput, ResolveResult } from '../civitai';
import type { HashName } from '../hash/names';
import { findConflicts } from './conflicts';
import type { CivitaiLink, ModelEntry } from './types';

/** A "not on Civitai" answer is asked again after this long: models get uploaded later. */
export const NOT_FOUND_RECHECK_MS = 7 * 24 * 3600 * 1000;

export function needsLookup(entry: ModelEntry, now: number): boolean {
  if (entry.manual?.link) return false;
  if (!entry.hashes.SHA256 && !entry.hashes.AutoV3 && !entry.hashes.BLAKE3) return false;
  switch (entry.civitai.status) {
    case 'unknown':
      return true;
    case 'not_found':
      return now - (entry.civitai.checkedAt ?? 0) > NOT_FOUND_RECHECK_MS;
    case 'found':
      return false;
  }
}

export function linkFrom(version: ModelVersion, matchedBy: HashName | 'manual'): CivitaiLink {
  return {
    modelId: version.modelId,
    versionId: version.id,
    modelName: version.model.name,
    versionName: version.name,
    type: version.model.type,
    baseModel: version.baseModel,
    trainedWords: version.trainedWords,
    nsfwLevel: version.nsfwLevel,
    pageUrl: version.pageUrl,
    matchedBy,
  };
}

/** Records that `version` is what this entry is. */
export function applyFound(entry: ModelEntry, version: ModelVersion, matchedBy: HashName | 'manual', now: number): ModelEntry {
  const conflicts = entry.conflicts.filter((c) => !c.startsWith('Civitai says'));
  conflicts.push(
    ...findConflicts({ probeKind: entry.kind, probeBase: entry.baseModel, civitaiType: version.model.type, civitaiBase: version.baseModel }),
  );
  return { ...entry, conflicts, civitai: { status: 'found', link: linkFrom(version, matchedBy), checkedAt: now } };
}

export interface IdentifyOutcome {
  entry: ModelEntry;
  /** The version found in this lookup, for sidecars and previews. */
  version?: ModelVersion;
}

export async function identifyEntries(
  client: CivitaiClient,
  entries: ModelEntry[],
  options: { refresh?: boolean; signal?: AbortSignal; now: number },
): Promise<IdentifyOutcome[]> {
  if (entries.length === 0) return [];
  const inputs: ResolveInput[] = entries.map((e) => ({ key: e.path, hashes: e.hashes }));
  const results: ResolveResult[] = await client.resolve(inputs, { refresh: options.refresh, signal: options.signal });
  return results.map((r, i) => {
    const entry = entries[i];
    switch (r.status) {
      case 'found':
        return { entry: applyFound(entry, r.version, r.matchedBy, options.now), version: r.version };
      case 'not_found':
        return { entry: { ...entry, civitai: { status: 'not_found', checkedAt: options.now } } };
      case 'error': {
        const { link, checkedAt, status } = entry.civitai;
        const lastError = { code: r.error.code, message: r.error.message, at: options.now };
        return { entry: { ...entry, civitai: { status, link, checkedAt, lastError } } };
      }
    }
  });
}
