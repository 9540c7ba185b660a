/**
 * The grid's search, filters, sort, facet counts and windows, run in the
 * kernel over its cards, so that the page receives only the cards it shows.
 *
 * Each card gets a prepared lower-case haystack (names, file, path, trained
 * words, Civitai type and base-model label, kind) once, when it changes; a
 * search is then a substring test per word over the rows (measured at 100,000
 * models in bench/query.js: a few milliseconds a query). The rows are kept
 * sorted per sort key (sorted lazily, again only after a change), so a query
 * is one pass in order: no sort per keystroke. The last result is kept, so
 * the windows of one query (scrolling) cost a slice.
 */
import type { BaseModel, GridCard, GridQuery, ModelCard, ModelKind, ModelStatus, QueryFacets, QuerySort } from '../protocol';

/** Base models in the order of their labels (SD 1.x, SDXL, ...), as the page's menu names them. */
const BASE_ORDER: Record<BaseModel, number> = { flux: 0, illustrious: 1, noobai: 2, pony: 3, sd1: 4, sd2: 5, sd3: 6, sdxl: 7, unknown: 8 };
const KIND_WORDS: Record<ModelKind, string> = {
  checkpoint: 'checkpoint', lora: 'lora', locon: 'locon', loha: 'loha', lokr: 'lokr', lycoris: 'lycoris', embedding: 'embedding textual inversion',
  vae: 'vae', controlnet: 'controlnet', upscaler: 'upscaler', unknown: 'unknown',
};
const BASE_WORDS: Record<BaseModel, string> = { sd1: 'sd 1.x', sd2: 'sd 2.x', sdxl: 'sdxl', sd3: 'sd 3', flux: 'flux', pony: 'pony', illustrious: 'illustrious', noobai: 'noobai', unknown: 'unknown' };

interface Row {
  id: string;
  card: ModelCard;
  hay: string;
  /** Title in lower case with digit runs padded, so that a plain comparison sorts "model 9" before "model 10". */
  nameKey: string;
}

export interface QueryAnswer {
  /** Ids of every matching card, in order. */
  ids: string[];
  facets: QueryFacets;
}

export const DEFAULT_GRID_QUERY: GridQuery = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };

/** The title the page shows: Civitai's model name when identified, else the kernel's name. */
export function titleOf(card: Pick<ModelCard, 'name' | 'civitai'>): string {
  return card.civitai.modelName ?? card.name;
}

export function haystackOf(card: ModelCard): string {
  const c = card.civitai;
  return [card.name, card.file, card.path, c.modelName, c.versionName, c.type, c.baseModel, KIND_WORDS[card.kind], BASE_WORDS[card.baseModel], ...card.trainedWords]
    .filter(Boolean)
    .join('\n')
    .toLowerCase();
}

function nameKeyOf(card: ModelCard): string {
  return titleOf(card)
    .toLowerCase()
    .replace(/\d+/g, (d) => d.padStart(12, '0'));
}

/** The part of a card the grid shows. */
export function toGridCard(card: ModelCard): GridCard {
  const c = card.civitai;
  return {
    id: card.id,
    root: card.root,
    path: card.path,
    file: card.file,
    name: card.name,
    kind: card.kind,
    baseModel: card.baseModel,
    size: card.size,
    addedAt: card.addedAt,
    status: card.status,
    trainedWords: card.trainedWords,
    preview: card.preview,
    civitai: { state: c.state, modelName: c.modelName, versionName: c.versionName, baseModel: c.baseModel, nsfwLevel: c.nsfwLevel, pageUrl: c.pageUrl },
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byName = (a: Row, b: Row) => cmp(a.nameKey, b.nameKey) || cmp(a.id, b.id);
const ORDERS: Record<Exclude<QuerySort, 'update'>, (a: Row, b: Row) => number> = {
  name: byName,
  added: (a, b) => a.card.addedAt - b.card.addedAt || byName(a, b),
  size: (a, b) => a.card.size - b.card.size || byName(a, b),
  base: (a, b) => BASE_ORDER[a.card.baseModel] - BASE_ORDER[b.card.baseModel] || byName(a, b),
};

export function queryKey(q: GridQuery): string {
  return JSON.stringify([q.search.trim().toLowerCase().split(/\s+/).filter(Boolean), q.kind, q.base, q.status, q.sort, q.desc]);
}

export class QueryIndex {
  private rows = new Map<string, Row>();
  private sorted = new Map<QuerySort, Row[]>();
  /** Card id -> publishedAt of the newer version, from the last `updates` request. */
  private updates = new Map<string, string>();
  private version = 0;
  private cache: { key: string; version: number; answer: QueryAnswer } | null = null;

  get size(): number {
    return this.rows.size;
  }

  card(id: string): ModelCard | undefined {
    return this.rows.get(id)?.card;
  }

  /** Forgets every row and indexes these cards. */
  reset(cards: Iterable<ModelCard>): void {
    this.rows.clear();
    this.apply(cards, []);
  }

  /** Indexes changed cards and drops removed ones. */
  apply(upsert: Iterable<ModelCard>, remove: Iterable<string>): void {
    let changed = false;
    for (const id of remove) changed = this.rows.delete(id) || changed;
    for (const card of upsert) {
      this.rows.set(card.id, { id: card.id, card, hay: haystackOf(card), nameKey: nameKeyOf(card) });
      changed = true;
    }
    if (changed) this.invalidate();
  }

  /** The cards with a newer version on Civitai (the `update` status and sort). */
  setUpdates(updates: Iterable<[string, string | null]>): void {
    this.updates = new Map([...updates].map(([id, at]) => [id, at ?? '']));
    this.invalidate();
  }

  /** The matching ids in order, and the facet counts. */
  run(q: GridQuery): QueryAnswer {
    const key = queryKey(q);
    if (this.cache && this.cache.key === key && this.cache.version === this.version) return this.cache.answer;
    const words = q.search.toLowerCase().split(/\s+/).filter(Boolean);
    const kinds: QueryFacets['kinds'] = {};
    const bases: QueryFacets['bases'] = {};
    const statuses: QueryFacets['statuses'] = {};
    const ids: string[] = [];
    const order = this.order(q.sort);
    const statusOk = (r: Row) => q.status === 'any' || (q.status === 'update' ? this.updates.has(r.id) : r.card.status.includes(q.status as ModelStatus));
    const n = order.length;
    for (let i = 0; i < n; i++) {
      const r = order[q.desc ? n - 1 - i : i];
      if (words.length && !words.every((w) => r.hay.includes(w))) continue;
      const c = r.card;
      const kindOk = q.kind === 'any' || c.kind === q.kind;
      const baseOk = q.base === 'any' || c.baseModel === q.base;
      const sOk = statusOk(r);
      if (baseOk && sOk) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
      if (kindOk && sOk) bases[c.baseModel] = (bases[c.baseModel] ?? 0) + 1;
      if (kindOk && baseOk) {
        for (const s of c.status) statuses[s] = (statuses[s] ?? 0) + 1;
        if (this.updates.has(r.id)) statuses.update = (statuses.update ?? 0) + 1;
      }
      if (kindOk && baseOk && sOk) ids.push(r.id);
    }
    const answer = { ids, facets: { kinds, bases, statuses } };
    this.cache = { key, version: this.version, answer };
    return answer;
  }

  private invalidate(): void {
    this.version++;
    this.sorted.clear();
    this.cache = null;
  }

  private order(sort: QuerySort): Row[] {
    let rows = this.sorted.get(sort);
    if (!rows) {
      rows = [...this.rows.values()];
      if (sort === 'update') {
        // With an update first (newest first among them), then by name.
        const at = (r: Row) => this.updates.get(r.id);
        rows.sort((a, b) => {
          const x = at(a);
          const y = at(b);
          if (x !== undefined && y !== undefined) return cmp(y, x) || byName(a, b);
          return x !== undefined ? -1 : y !== undefined ? 1 : byName(a, b);
        });
      } else rows.sort(ORDERS[sort]);
      this.sorted.set(sort, rows);
    }
    return rows;
  }
}
