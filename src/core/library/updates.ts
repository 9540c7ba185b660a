/**
 * Updates available: for every identified model, a newer published version of
 * the same Civitai model. The models are asked in bulk through
 * `client.getModelsById` (100 ids a request, `nextPage` followed, a day's
 * cache per (host, id), a failed request losing only its own ids), so 2,000
 * models cost 20 requests, and none within a day.
 *
 * An update is a version listed before (newer than) the newest version of
 * that model in the library, that is:
 * - of the same base model as that version, unless `allBases`;
 * - published; in early access only when `includeEarlyAccess` (then marked);
 * - downloadable (it has a model file);
 * - not in the library already, by version id or by any file's SHA256;
 * - not ignored: an ignored model never, an ignored version and everything
 *   older never (a newer one is offered again).
 */
import type { CivitaiClient, CivitaiError, Model, ModelVersion } from '../civitai';
import type { LibraryModel } from './library';

export interface UpdateOptions {
  allBases?: boolean;
  includeEarlyAccess?: boolean;
  /** Ask Civitai again even where its answer is cached (a day). */
  refresh?: boolean;
  now?: number;
  signal?: AbortSignal;
}

export interface UpdateVersion {
  versionId: number;
  name: string;
  baseModel: string | null;
  publishedAt: string | null;
  earlyAccess: boolean;
  /** The primary model file's size in bytes, when Civitai says. */
  size: number | null;
  fileName: string | null;
  pageUrl: string;
}

export interface ModelUpdate {
  modelId: number;
  modelName: string;
  type: string;
  /** The newest version of the model in the library, and its files. */
  current: { versionId: number; name: string; baseModel: string | null; files: Array<{ root: string; path: string; absolute: string }> };
  latest: UpdateVersion;
  /** How many versions are updates (latest included). */
  newer: number;
}

export interface UpdatesReport {
  /** Civitai models checked. */
  checked: number;
  updates: ModelUpdate[];
  /** Models with an update hidden by an ignore. */
  ignored: number;
  /** Models Civitai no longer lists (deleted, unpublished, hidden). */
  missing: number[];
  /** Requests that failed, with the model ids they cost; every other answer is kept. */
  failed: Array<{ ids: number[]; message: string }>;
}

export async function checkUpdates(client: CivitaiClient, models: LibraryModel[], options: UpdateOptions = {}): Promise<UpdatesReport> {
  const now = options.now ?? Date.now();
  const byModel = new Map<number, LibraryModel[]>();
  const versionsHere = new Set<number>();
  const shaHere = new Set<string>();
  for (const m of models) {
    if (m.hashes.SHA256) shaHere.add(m.hashes.SHA256);
    const link = m.civitai.status === 'found' ? m.civitai.link : undefined;
    if (!link) continue;
    versionsHere.add(link.versionId);
    const list = byModel.get(link.modelId);
    if (list) list.push(m);
    else byModel.set(link.modelId, [m]);
  }
  const got = await client.getModelsById([...byModel.keys()], { refresh: options.refresh, signal: options.signal });
  const report: UpdatesReport = {
    checked: byModel.size,
    updates: [],
    ignored: 0,
    missing: got.missing,
    failed: got.failed.map((f: { ids: number[]; error: CivitaiError }) => ({ ids: f.ids, message: f.error.message })),
  };
  for (const [modelId, entries] of byModel) {
    const model = got.models.get(modelId);
    if (!model) continue;
    const found = updateFor(model, entries, versionsHere, shaHere, options, now);
    if (found === 'ignored') report.ignored++;
    else if (found) report.updates.push(found);
  }
  report.updates.sort((a, b) => a.modelName.localeCompare(b.modelName) || a.modelId - b.modelId);
  return report;
}

function updateFor(model: Model, entries: LibraryModel[], versionsHere: Set<number>, shaHere: Set<string>, options: UpdateOptions, now: number): ModelUpdate | 'ignored' | null {
  // Newest first, as Civitai lists them; a local version missing from the list (unpublished since) counts by id.
  const position = new Map(model.versions.map((v, i) => [v.id, i]));
  const rank = (versionId: number) => position.get(versionId) ?? Number.MAX_SAFE_INTEGER;
  const local = entries.reduce((best, e) => (rank(e.civitai.link!.versionId) < rank(best.civitai.link!.versionId) ? e : best));
  const currentLink = local.civitai.link!;
  const currentRank = rank(currentLink.versionId);
  const currentVersion = model.versions[currentRank];
  const baseModel = currentVersion?.baseModel ?? currentLink.baseModel;
  const candidates = model.versions.filter((v, i) => {
    if (currentRank !== Number.MAX_SAFE_INTEGER ? i >= currentRank : v.id <= currentLink.versionId) return false;
    if (v.status && v.status !== 'Published') return false;
    if (!options.allBases && v.baseModel !== baseModel) return false;
    if (isEarlyAccess(v, now) && !options.includeEarlyAccess) return false;
    const file = modelFile(v);
    if (!file) return false;
    if (versionsHere.has(v.id) || v.files.some((f) => f.hashes.SHA256 && shaHere.has(f.hashes.SHA256))) return false;
    return true;
  });
  if (candidates.length === 0) return null;
  const ignoreModel = entries.some((e) => e.updates?.model);
  const ignoredVersion = Math.max(0, ...entries.map((e) => e.updates?.version ?? 0));
  const ignoredRank = ignoredVersion ? rank(ignoredVersion) : Number.MAX_SAFE_INTEGER;
  const shown = candidates.filter((v) => (ignoredRank !== Number.MAX_SAFE_INTEGER ? rank(v.id) < ignoredRank : v.id > ignoredVersion));
  if (ignoreModel || shown.length === 0) return 'ignored';
  const latest = shown[0];
  const file = modelFile(latest)!;
  return {
    modelId: model.id,
    modelName: model.name,
    type: model.type,
    current: {
      versionId: currentLink.versionId,
      name: currentVersion?.name ?? currentLink.versionName,
      baseModel,
      files: entries.filter((e) => e.civitai.link!.versionId === currentLink.versionId).map((e) => ({ root: e.root, path: e.path, absolute: e.absolute })),
    },
    latest: {
      versionId: latest.id,
      name: latest.name,
      baseModel: latest.baseModel,
      publishedAt: latest.publishedAt,
      earlyAccess: isEarlyAccess(latest, now),
      size: file.sizeKB === null ? null : Math.round(file.sizeKB * 1024),
      fileName: file.name || null,
      pageUrl: latest.pageUrl,
    },
    newer: shown.length,
  };
}

export function isEarlyAccess(v: ModelVersion, now: number): boolean {
  if (v.availability === 'EarlyAccess') return true;
  const ends = v.earlyAccessEndsAt ? Date.parse(v.earlyAccessEndsAt) : NaN;
  return Number.isFinite(ends) && ends > now;
}

/** The file a download would fetch: the primary one, else the first `Model` file. */
function modelFile(v: ModelVersion) {
  return v.files.find((f) => f.primary) ?? v.files.find((f) => f.type === 'Model' || f.type === null);
}
