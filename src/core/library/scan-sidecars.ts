/**
 * The sidecar step of a scan: the parent models of the identified versions in
 * one bulk fetch, then `.civitai.info`, A1111's `.json` and the previews. An
 * entry whose parent could not be fetched is marked `parentPending`, and a
 * later scan (`completePendingSidecars`) adds the parent's fields once it
 * arrives, so a Civitai hiccup does not leave ComfyUI-Lora-Manager without
 * tags and license for good.
 */
import type { Model, ModelVersion } from '../civitai';
import { fetchParentModels, withParentPending, type ParentModels } from './parent-models';
import { addWarning } from './progress';
import type { ScanContext, ScanOptions } from './scan';
import { addParentToSidecars, syncSidecars, type SidecarOptions } from './sidecar-sync';
import type { ModelEntry } from './types';

/** Writes the sidecars of freshly identified entries. */
export async function writeScanSidecars(ctx: ScanContext, found: { entry: ModelEntry; version: ModelVersion }[], options: ScanOptions): Promise<void> {
  if (found.length === 0) return;
  const parents = await parentsFor(ctx, found.map((f) => f.version.modelId), options);
  await writeWithParents(ctx, found, parents, options);
}

/**
 * Entries identified in an earlier scan whose sidecars still lack the parent
 * model's fields: fetch the parents (in bulk) and add their fields. Entries
 * whose parent fails again stay marked; one Civitai no longer lists has
 * nothing to add and loses the mark.
 */
export async function completePendingSidecars(ctx: ScanContext, pending: ModelEntry[], options: ScanOptions): Promise<void> {
  const linked = pending.filter((e) => e.civitai.status === 'found' && e.civitai.link);
  if (linked.length === 0) return;
  const parents = await parentsFor(ctx, linked.map((e) => e.civitai.link!.modelId), options);
  ctx.progress.phase = 'sidecars';
  ctx.emit();
  const done: { entry: ModelEntry; parent: Model }[] = [];
  for (const entry of linked) {
    const { modelId } = entry.civitai.link!;
    if (parents.failed.has(modelId)) continue;
    const cleared = withParentPending(entry, false);
    ctx.store.put(cleared);
    const parent = parents.models.get(modelId);
    if (parent) done.push({ entry: cleared, parent });
  }
  await addParentToSidecars(ctx.root, done, (w) => addWarning(ctx.report, w.path, w.message), ctx.io?.retry);
  ctx.emit();
}

async function parentsFor(ctx: ScanContext, modelIds: number[], options: ScanOptions): Promise<ParentModels> {
  const parents = await fetchParentModels(ctx.client!, modelIds, { refresh: options.refresh, signal: options.signal });
  if (parents.warning) addWarning(ctx.report, ctx.root, parents.warning);
  ctx.progress.lookups = ctx.client!.requestCount;
  return parents;
}

async function writeWithParents(ctx: ScanContext, found: { entry: ModelEntry; version: ModelVersion }[], parents: ParentModels, options: ScanOptions): Promise<void> {
  if (found.length === 0) return;
  ctx.progress.phase = 'sidecars';
  ctx.emit();
  const jobs = found.map(({ entry, version }) => ({
    entry: withParentPending(entry, parents.failed.has(version.modelId)),
    version,
    parent: parents.models.get(version.modelId),
  }));
  for (const job of jobs) ctx.store.put(job.entry);
  const sidecarOptions: SidecarOptions = {
    previews: options.previews !== false,
    nsfwLevel: options.nsfwLevel ?? 2,
    signal: options.signal,
    policy: ctx.policy,
    retry: ctx.io?.retry,
    listings: ctx.io?.listings,
  };
  const written = await syncSidecars(ctx.root, jobs, sidecarOptions, (w) => addWarning(ctx.report, w.path, w.message));
  for (const entry of written.entries) ctx.store.put(entry);
  ctx.report.previewsWritten += written.previews;
  ctx.progress.previews += written.previews;
  ctx.emit();
}
