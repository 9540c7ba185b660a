/**
 * The parent models of identified versions, fetched in bulk for the sidecars:
 * ComfyUI-Lora-Manager imports the model's tags, description, license and
 * creator from `.civitai.info`, and by-hash answers carry none of them. Costs
 * ceil(models/100) requests, none for models the client has cached.
 *
 * A failure never costs the identification or the sidecars: they are written
 * without the parent's fields, the scan gets one warning for all of them, and
 * the entries are marked so that a later scan completes them.
 */
import type { CivitaiClient, Model } from '../civitai';
import type { ModelEntry } from './types';

export interface ParentModels {
  /** By model id. */
  models: Map<number, Model>;
  /** Models a failed request did not fetch (not the ones Civitai has no page for: asking again would not help). */
  failed: Set<number>;
  /** One line for the whole batch when some parents could not be fetched. */
  warning?: string;
}

export async function fetchParentModels(
  client: CivitaiClient,
  modelIds: readonly number[],
  options: { refresh?: boolean; signal?: AbortSignal } = {},
): Promise<ParentModels> {
  if (modelIds.length === 0) return { models: new Map(), failed: new Set() };
  const r = await client.getModelsById(modelIds, options);
  const failed = new Set(r.failed.flatMap((f) => f.ids));
  if (failed.size === 0) return { models: r.models, failed };
  const what = failed.size === 1 ? '1 model' : `${failed.size} models`;
  return {
    models: r.models,
    failed,
    warning: `Civitai: tags, description, license and creator of ${what} not fetched (${r.failed[0].error.message}); their sidecars were written without them`,
  };
}

/** `entry` with its `parentPending` mark set or cleared. */
export function withParentPending(entry: ModelEntry, pending: boolean): ModelEntry {
  const { parentPending: _was, ...civitai } = entry.civitai;
  return { ...entry, civitai: pending ? { ...civitai, parentPending: true } : civitai };
}
