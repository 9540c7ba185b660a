/**
 * The parent models of freshly identified versions, fetched in bulk for the
 * sidecars: ComfyUI-Lora-Manager imports the model's tags, description,
 * license and creator from `.civitai.info`, and by-hash answers carry none of
 * them. Costs ceil(models/100) requests, none for models the client has cached.
 *
 * A failure never costs the identification or the sidecars: they are written
 * without the parent's fields, and the scan gets one warning for all of them.
 */
import type { CivitaiClient, Model, ModelVersion } from '../civitai';

export interface ParentModels {
  /** By model id. */
  models: Map<number, Model>;
  /** One line for the whole batch when some parents could not be fetched. */
  warning?: string;
}

export async function fetchParentModels(
  client: CivitaiClient,
  versions: readonly ModelVersion[],
  options: { refresh?: boolean; signal?: AbortSignal } = {},
): Promise<ParentModels> {
  const ids = [...new Set(versions.map((v) => v.modelId))];
  if (ids.length === 0) return { models: new Map() };
  const r = await client.getModelsById(ids, options);
  if (r.failed.length === 0) return { models: r.models };
  const lost = r.failed.reduce((n, f) => n + f.ids.length, 0);
  const what = lost === 1 ? '1 model' : `${lost} models`;
  return {
    models: r.models,
    warning: `Civitai: tags, description, license and creator of ${what} not fetched (${r.failed[0].error.message}); their sidecars were written without them`,
  };
}
