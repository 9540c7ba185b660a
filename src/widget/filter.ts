/**
 * Search, filters and sort of a card list: pure functions. The kernel answers
 * the grid's queries (src/kernel/widget/query.ts); the page uses these for its
 * provisional answer to a keystroke, over the cards it already has. The search text of each card is built once per card
 * object and kept in a WeakMap (a delta replaces the object, dropping it).
 */
import type { BaseModel, GridCard as ModelCard, GridQuery, ModelKind, ModelStatus, UpdateInfo } from '../kernel/protocol';

export type SortKey = 'name' | 'added' | 'size' | 'base' | 'update';
export type StatusFilter = 'any' | 'identified' | 'not_found' | 'unverified' | 'manual' | 'error' | 'pending' | 'update';

/** Updates by card id, from the last `updates` request. */
export type UpdatesById = ReadonlyMap<string, UpdateInfo>;
const NO_UPDATES: UpdatesById = new Map();

/** The grid's query (the protocol's `GridQuery`). */
export type ViewQuery = GridQuery;

export const DEFAULT_QUERY: ViewQuery = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };

export const STATUS_LABELS: Record<ModelStatus, string> = {
  identified: 'Identified',
  not_found: 'Not on Civitai',
  unverified: 'Unverified',
  manual: 'Manual link',
  error: 'Error',
  pending: 'Not looked up',
};

export const KIND_LABELS: Record<ModelKind, string> = {
  checkpoint: 'Checkpoint',
  lora: 'LoRA',
  locon: 'LoCon',
  loha: 'LoHa',
  lokr: 'LoKr',
  lycoris: 'LyCORIS',
  embedding: 'Embedding',
  vae: 'VAE',
  controlnet: 'ControlNet',
  upscaler: 'Upscaler',
  unknown: 'Unknown',
};

export const BASE_LABELS: Record<BaseModel, string> = {
  sd1: 'SD 1.x',
  sd2: 'SD 2.x',
  sdxl: 'SDXL',
  sd3: 'SD 3',
  flux: 'Flux',
  pony: 'Pony',
  illustrious: 'Illustrious',
  noobai: 'NoobAI',
  unknown: 'Unknown',
};

const haystacks = new WeakMap<ModelCard, string>();

/** Lower-case text a search matches: names, file name, path, trained words, Civitai base model, kind and base labels. */
export function haystack(card: ModelCard): string {
  let h = haystacks.get(card);
  if (h === undefined) {
    const c = card.civitai;
    h = [card.name, card.file, card.path, c.modelName, c.versionName, c.baseModel, KIND_LABELS[card.kind], BASE_LABELS[card.baseModel], ...card.trainedWords]
      .filter(Boolean)
      .join('\n')
      .toLowerCase();
    haystacks.set(card, h);
  }
  return h;
}

/** The title a card shows: Civitai's model name when identified, else the kernel's name. */
export function displayTitle(card: ModelCard): string {
  return card.civitai.modelName ?? card.name;
}

function compare(a: ModelCard, b: ModelCard, key: SortKey, updates: UpdatesById): number {
  switch (key) {
    case 'update':
      // Cards with an update first (with desc, last), newest update first among them.
      return Number(updates.has(b.id)) - Number(updates.has(a.id)) || (updates.get(b.id)?.latest.publishedAt ?? '').localeCompare(updates.get(a.id)?.latest.publishedAt ?? '');
    case 'added':
      return a.addedAt - b.addedAt;
    case 'size':
      return a.size - b.size;
    case 'base':
      return BASE_LABELS[a.baseModel].localeCompare(BASE_LABELS[b.baseModel]);
    case 'name':
      return 0;
  }
}

const collator = typeof Intl !== 'undefined' ? new Intl.Collator(undefined, { sensitivity: 'base', numeric: true }) : null;
const byName = (a: ModelCard, b: ModelCard) => {
  const x = displayTitle(a);
  const y = displayTitle(b);
  return collator ? collator.compare(x, y) : x.localeCompare(y);
};

/** The cards a query shows, in its order. Every search word must match (in any field). */
export function applyQuery(cards: readonly ModelCard[], q: ViewQuery, updates: UpdatesById = NO_UPDATES): ModelCard[] {
  const words = q.search.toLowerCase().split(/\s+/).filter(Boolean);
  const out = cards.filter(
    (c) =>
      (q.kind === 'any' || c.kind === q.kind) &&
      (q.base === 'any' || c.baseModel === q.base) &&
      (q.status === 'any' || (q.status === 'update' ? updates.has(c.id) : c.status.includes(q.status))) &&
      (words.length === 0 || words.every((w) => haystack(c).includes(w))),
  );
  const dir = q.desc ? -1 : 1;
  out.sort((a, b) => dir * (compare(a, b, q.sort, updates) || byName(a, b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

/** The values present in the list, for the filter menus (counts per value). */
export function facets(cards: readonly ModelCard[]): { kinds: Map<ModelKind, number>; bases: Map<BaseModel, number> } {
  const kinds = new Map<ModelKind, number>();
  const bases = new Map<BaseModel, number>();
  for (const c of cards) {
    kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
    bases.set(c.baseModel, (bases.get(c.baseModel) ?? 0) + 1);
  }
  return { kinds, bases };
}
