/**
 * The grid's search, filters, sort, facet counts and windows, run in the
 * kernel over its cards, so that the page receives only the cards it shows.
 *
 * Each card gets a prepared lower-case haystack (names, file, path, trained
 * words, Civitai type and base-model label, kind) once after it changes, in
 * idle time or at the first search, whichever comes first. The
 * haystacks are also joined into one text, so that the first (longest) search
 * word is found with native `indexOf` jumps over that text rather than a test
 * per row; the other words are tested only on the rows it found (measured at
 * 100,000 models in bench/query.js, against MiniSearch). The rows are kept
 * sorted per sort key (sorted lazily, again only after a change), so a query
 * is one pass in order: no sort per keystroke. The last result is kept, so
 * the windows of one query (scrolling) cost a slice.
 */
import { gridCardOf, type IndexSource } from './cards';
import { displayName, statusesOf, type ModelEntry } from '../../core/library';
import type { BaseModel, GridCard, GridQuery, ModelCard, ModelKind, ModelStatus, QueryFacets, QuerySort } from '../protocol';

/** Base models in the order of their labels (SD 1.x, SDXL, ...), as the page's menu names them. */
const BASE_ORDER: Record<BaseModel, number> = { flux: 0, illustrious: 1, noobai: 2, pony: 3, sd1: 4, sd2: 5, sd3: 6, sdxl: 7, unknown: 8 };
const KIND_WORDS: Record<ModelKind, string> = {
  checkpoint: 'checkpoint', lora: 'lora', locon: 'locon', loha: 'loha', lokr: 'lokr', lycoris: 'lycoris', embedding: 'embedding textual inversion',
  vae: 'vae', controlnet: 'controlnet', upscaler: 'upscaler', unknown: 'unknown',
};
const BASE_WORDS: Record<BaseModel, string> = { sd1: 'sd 1.x', sd2: 'sd 2.x', sdxl: 'sdxl', sd3: 'sd 3', flux: 'flux', pony: 'pony', illustrious: 'illustrious', noobai: 'noobai', unknown: 'unknown' };

const KINDS: readonly ModelKind[] = ['checkpoint', 'lora', 'locon', 'loha', 'lokr', 'lycoris', 'embedding', 'vae', 'controlnet', 'upscaler', 'unknown'];
const BASES: readonly BaseModel[] = ['sd1', 'sd2', 'sdxl', 'sd3', 'flux', 'pony', 'illustrious', 'noobai', 'unknown'];
const STATUSES: readonly ModelStatus[] = ['identified', 'not_found', 'unverified', 'manual', 'error', 'pending'];

interface Row {
  /** Position in the joined haystack last built (set when it is built). */
  n: number;
  /** Index of the kind and base model in KINDS and BASES, and the statuses as bits of STATUSES. */
  kind: number;
  base: number;
  mask: number;
  id: string;
  /**
   * Where the grid card comes from: the model's source (entry and root; the
   * card is built when a window shows it, not kept), or, for a card given
   * whole (a change's full card), that card's grid part and Civitai type.
   */
  src: IndexSource | null;
  card: GridCard | null;
  civitaiType: string | null;
  addedAt: number;
  size: number;
  /**
   * Built when first needed (a search) or in idle time (prepare): the first
   * window does not wait for 100,000 of them. Dropped once joined: the joined
   * text holds it (and keeps it for the next join while the row is unchanged).
   */
  hay: string | null;
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
export function titleOf(card: { name: string; civitai: { modelName: string | null } }): string {
  return card.civitai.modelName ?? card.name;
}

export function haystackOf(card: ModelCard): string {
  return haystackOfGrid(toGridCard(card), card.civitai.type);
}

function haystackOfGrid(card: GridCard, civitaiType: string | null): string {
  const c = card.civitai;
  return [card.name, card.file, card.path, c.modelName, c.versionName, civitaiType, c.baseModel, KIND_WORDS[card.kind], BASE_WORDS[card.baseModel], ...card.trainedWords]
    .filter(Boolean)
    .join('\n')
    .toLowerCase();
}

function nameKeyOf(card: { name: string; civitai: { modelName: string | null } }): string {
  return keyOfTitle(titleOf(card));
}

function keyOfTitle(title: string): string {
  return title.toLowerCase().replace(/\d+/g, (d) => d.padStart(12, '0'));
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

// Positions by name, looked up once per row (100,000 rows at the first look).
const STATUS_BIT = new Map<string, number>(STATUSES.map((s, i) => [s, 1 << i]));
const KIND_AT = new Map<string, number>(KINDS.map((k, i) => [k, i]));
const BASE_AT = new Map<string, number>(BASES.map((b, i) => [b, i]));
const maskOf = (status: readonly ModelStatus[]) => {
  let m = 0;
  for (const st of status) m |= STATUS_BIT.get(st) ?? 0;
  return m;
};
const kindOf = (kind: ModelKind) => KIND_AT.get(kind) ?? KINDS.indexOf('unknown');
const baseOf = (base: BaseModel) => BASE_AT.get(base) ?? BASES.indexOf('unknown');

/** A row of a model given as its source: what sorting, filtering and counting need, read from the entry; no card. */
function rowOfSource(src: IndexSource): Row {
  const e = src.entry;
  const title = e.civitai.link?.modelName ?? displayName(e);
  return { n: -1, kind: kindOf(e.kind), base: baseOf(e.baseModel), mask: maskOf(statusesOf(e)), id: src.id, src, card: null, civitaiType: null, addedAt: e.addedAt, size: e.size, hay: null, nameKey: keyOfTitle(title) };
}

function rowOfCard(card: GridCard, civitaiType: string | null): Row {
  return { n: -1, kind: kindOf(card.kind), base: baseOf(card.baseModel), mask: maskOf(card.status), id: card.id, src: null, card, civitaiType, addedAt: card.addedAt, size: card.size, hay: null, nameKey: nameKeyOf(card) };
}

interface Joined {
  text: string;
  starts: Int32Array;
  rows: Row[];
}

/** Where row `i`'s haystack ends in the joined text (before the NUL that follows it). */
function endOf(j: Joined, i: number): number {
  return i + 1 < j.starts.length ? j.starts[i + 1] - 1 : j.text.length;
}

function buildHay(r: Row): string {
  return r.src ? haystackOfSource(r.src.entry) : haystackOfGrid(r.card!, r.civitaiType);
}

/**
 * The haystack of a model given as its source, read from the entry (the same
 * text as haystackOfGrid of its grid card, without building 100,000 grid
 * cards as garbage in the idle slices).
 */
function haystackOfSource(e: ModelEntry): string {
  const link = e.civitai.link;
  const parts = [displayName(e), e.path.slice(e.path.lastIndexOf('/') + 1), e.path, link?.modelName, link?.versionName, link?.type, link?.baseModel, KIND_WORDS[e.kind], BASE_WORDS[e.baseModel]];
  if (link) for (const w of link.trainedWords) parts.push(w);
  return parts.filter(Boolean).join('\n').toLowerCase();
}

function gridOf(r: Row): GridCard {
  return r.card ?? gridCardOf(r.src!);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byName = (a: Row, b: Row) => cmp(a.nameKey, b.nameKey) || cmp(a.id, b.id);
const ORDERS: Record<Exclude<QuerySort, 'update' | 'base'>, (a: Row, b: Row) => number> = {
  name: byName,
  added: (a, b) => a.addedAt - b.addedAt || byName(a, b),
  size: (a, b) => a.size - b.size || byName(a, b),
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
  /** Every haystack joined by NUL, and where each row's starts; built on the first search after a change. */
  private joined: Joined | null = null;
  /** The last joined text, also after a change: the haystacks of rows it holds are read from it, not kept twice. */
  private lastJoin: Joined | null = null;
  /** Where prepare() goes on (a Map iterator visits rows added after it started, too). */
  private pending: Iterator<Row> | null = null;

  get size(): number {
    return this.rows.size;
  }

  /** The grid card of an id. */
  card(id: string): GridCard | undefined {
    const r = this.rows.get(id);
    return r && gridOf(r);
  }

  /** Forgets every row and indexes these cards. */
  reset(cards: Iterable<ModelCard | IndexSource>): void {
    this.rows.clear();
    this.apply(cards, []);
  }

  /** Indexes changed cards and drops removed ones. */
  apply(upsert: Iterable<ModelCard | IndexSource>, remove: Iterable<string>): void {
    let changed = false;
    for (const id of remove) changed = this.rows.delete(id) || changed;
    for (const item of upsert) {
      const row = 'entry' in item ? rowOfSource(item) : rowOfCard(toGridCard(item), item.civitai.type);
      this.rows.set(row.id, row);
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
    const words = q.search.toLowerCase().replace(/\u0000/g, '').split(/\s+/).filter(Boolean);
    const hits = words.length ? this.search(words) : null;
    // Counted in typed arrays by index (a hot loop over 100,000 rows), turned into records at the end.
    const kindCount = new Int32Array(KINDS.length);
    const baseCount = new Int32Array(BASES.length);
    const statusCount = new Int32Array(STATUSES.length + 1);
    const UPDATE = STATUSES.length;
    const ids: string[] = [];
    const order = this.order(q.sort);
    const wantKind = q.kind === 'any' ? -1 : KINDS.indexOf(q.kind);
    const wantBase = q.base === 'any' ? -1 : BASES.indexOf(q.base);
    const wantUpdate = q.status === 'update';
    const wantMask = q.status === 'any' || wantUpdate ? 0 : 1 << STATUSES.indexOf(q.status as ModelStatus);
    const updates = this.updates.size ? this.updates : null;
    const n = order.length;
    for (let i = 0; i < n; i++) {
      const r = order[q.desc ? n - 1 - i : i];
      if (hits !== null && hits[r.n] === 0) continue;
      const updated = updates !== null && updates.has(r.id);
      const kindOk = wantKind < 0 || r.kind === wantKind;
      const baseOk = wantBase < 0 || r.base === wantBase;
      const sOk = wantUpdate ? updated : wantMask === 0 || (r.mask & wantMask) !== 0;
      if (baseOk && sOk) kindCount[r.kind]++;
      if (kindOk && sOk) baseCount[r.base]++;
      if (kindOk && baseOk) {
        for (let m = r.mask, s = 0; m !== 0; m >>= 1, s++) if (m & 1) statusCount[s]++;
        if (updated) statusCount[UPDATE]++;
        if (sOk) ids.push(r.id);
      }
    }
    const record = <K extends string>(names: readonly K[], counts: Int32Array) => {
      const out: Partial<Record<K, number>> = {};
      names.forEach((name, i) => counts[i] && (out[name] = counts[i]));
      return out;
    };
    const statuses: QueryFacets['statuses'] = record(STATUSES, statusCount);
    if (statusCount[UPDATE]) statuses.update = statusCount[UPDATE];
    const answer = { ids, facets: { kinds: record(KINDS, kindCount), bases: record(BASES, baseCount), statuses } };
    this.cache = { key, version: this.version, answer };
    return answer;
  }

  private invalidate(): void {
    this.version++;
    this.sorted.clear();
    this.cache = null;
    this.joined = null;
  }

  /** 1 for each row (by `n`) whose haystack holds every word. */
  private search(words: string[]): Uint8Array {
    const j = this.join();
    const hits = new Uint8Array(j.rows.length);
    const [first, ...rest] = [...words].sort((a, b) => b.length - a.length);
    let row = 0;
    let at = j.text.indexOf(first);
    while (at >= 0) {
      while (row + 1 < j.starts.length && j.starts[row + 1] <= at) row++;
      if (rest.length === 0) hits[row] = 1;
      else {
        const hay = j.text.slice(j.starts[row], endOf(j, row));
        if (rest.every((w) => hay.includes(w))) hits[row] = 1;
      }
      if (row + 1 >= j.starts.length) break;
      // The rest of this row cannot add anything: go on from the next row.
      at = j.text.indexOf(first, j.starts[row + 1]);
    }
    return hits;
  }

  /**
   * Builds up to `limit` haystacks not built yet; true while some remain. The
   * session calls it in idle slices after the first window is answered, so
   * that the first search does not pay for them all.
   */
  prepare(limit = Infinity): boolean {
    let built = 0;
    if (this.pending === null) this.pending = this.rows.values();
    for (let next = this.pending.next(); !next.done; next = this.pending.next()) {
      const r = next.value;
      if (r.hay === null && !this.inLastJoin(r)) r.hay = buildHay(r);
      if (++built >= limit) return true;
    }
    this.pending = null;
    return false;
  }

  private join(): Joined {
    if (this.joined) return this.joined;
    this.pending = null;
    const rows = [...this.rows.values()];
    // Every haystack before any row's position changes: unchanged rows' are read from the last join by position.
    const hays = rows.map((r) => this.hayOf(r));
    const starts = new Int32Array(rows.length);
    let offset = 0;
    rows.forEach((r, i) => {
      r.n = i;
      r.hay = null;
      starts[i] = offset;
      offset += hays[i].length + 1;
    });
    this.joined = this.lastJoin = { text: hays.join('\u0000'), starts, rows };
    return this.joined;
  }

  private inLastJoin(r: Row): boolean {
    const j = this.lastJoin;
    return j !== null && r.n >= 0 && r.n < j.rows.length && j.rows[r.n] === r;
  }

  private hayOf(r: Row): string {
    if (r.hay !== null) return r.hay;
    const j = this.lastJoin;
    if (j !== null && this.inLastJoin(r)) return j.text.slice(j.starts[r.n], endOf(j, r.n));
    return buildHay(r);
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
      } else if (sort === 'base') {
        // By base model, by name within each: bucket the name order (no second comparison sort).
        const buckets: Row[][] = Object.keys(BASE_ORDER).map(() => []);
        for (const r of this.order('name')) buckets[BASE_ORDER[BASES[r.base]]].push(r);
        rows = buckets.flat();
      } else rows.sort(ORDERS[sort]);
      this.sorted.set(sort, rows);
    }
    return rows;
  }
}
