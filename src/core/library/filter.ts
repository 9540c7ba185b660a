/**
 * Listing models: search, filters and sort, as `modeldeck ls` and the widget's
 * toolbar offer them.
 */
import type { BaseModel, ModelKind } from '../probe/types';
import { baseFamily, isLoraFamily } from '../probe/types';
import type { EntryPeek, ModelEntry } from './types';

export const MODEL_STATUSES = ['identified', 'not_found', 'unverified', 'manual', 'error', 'pending'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const SORT_KEYS = ['name', 'added', 'size', 'base'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ModelFilter {
  /** Words that must all appear in the file name, the Civitai names or the trained words (any case). */
  text?: string;
  /** `lora` also matches LyCORIS kinds. */
  kind?: ModelKind;
  /** `sdxl` also matches Pony, Illustrious and NoobAI. */
  baseModel?: BaseModel;
  status?: ModelStatus;
  sort?: SortKey;
}

/** Every status that applies to an entry (a manual link is also identified, for instance). */
export function statusesOf(e: EntryPeek): ModelStatus[] {
  const out: ModelStatus[] = [];
  if (e.civitai.status === 'found') out.push('identified');
  if (e.civitai.status === 'not_found') out.push('not_found');
  if (e.civitai.status === 'unknown') out.push('pending');
  if (!e.verified) out.push('unverified');
  if (e.manual?.link || e.manual?.hashes) out.push('manual');
  if (e.civitai.lastError || e.warnings.length > 0) out.push('error');
  return out;
}

export function displayName(e: Pick<EntryPeek, 'path' | 'civitai'>): string {
  const link = e.civitai.link;
  if (link) return `${link.modelName} ${link.versionName}`.trim();
  const file = e.path.slice(e.path.lastIndexOf('/') + 1);
  return file.replace(/\.[^.]+$/, '');
}

function haystack(e: ModelEntry): string {
  const link = e.civitai.link;
  return [e.path, link?.modelName, link?.versionName, ...(link?.trainedWords ?? [])].join('\n').toLowerCase();
}

export function filterModels<T extends ModelEntry>(models: T[], filter: ModelFilter): T[] {
  const words = (filter.text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const out = models.filter((m) => {
    if (filter.kind && !(m.kind === filter.kind || (filter.kind === 'lora' && isLoraFamily(m.kind)))) return false;
    if (filter.baseModel && !(m.baseModel === filter.baseModel || (filter.baseModel === 'sdxl' && baseFamily(m.baseModel) === 'sdxl'))) {
      return false;
    }
    if (filter.status && !statusesOf(m).includes(filter.status)) return false;
    if (words.length) {
      const text = haystack(m);
      if (!words.every((w) => text.includes(w))) return false;
    }
    return true;
  });
  const sort = filter.sort ?? 'name';
  const by: Record<SortKey, (a: T, b: T) => number> = {
    name: (a, b) => displayName(a).localeCompare(displayName(b)),
    added: (a, b) => b.addedAt - a.addedAt,
    size: (a, b) => b.size - a.size,
    base: (a, b) => a.baseModel.localeCompare(b.baseModel) || displayName(a).localeCompare(displayName(b)),
  };
  return out.sort(by[sort]);
}
