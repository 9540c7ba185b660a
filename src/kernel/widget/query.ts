/**
 * The grid's search, filters, sort, facet counts and windows, run in the
 * kernel over its cards, so that the page receives only the cards it shows.
 *
 * Each card gets a prepared lower-case haystack (names, file, path, trained
 * words, Civitai type and base-model label, kind) once after it changes, in
 * idle time or at the first search, whichever comes first. The
 * haystacks are also joined into texts of 2,048 rows each, so that the first (longest) search
 * word is found with native `indexOf` jumps over those texts rather than a test
 * per row; the other words are tested only on the rows it found (measured at
 * 100,000 models in bench/query.js, against MiniSearch). The rows are kept
 * sorted per sort key (sorted lazily, again only after a change), so a query
 * is one pass in order: no sort per keystroke. The last result is kept, so
 * the windows of one query (scrolling) cost a slice.
 */
import { gridCardOf, type IndexSource } from './cards';
import { displayName, statusesOf, type EntryPeek, type ModelEntry } from '../../core/library';
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
  /** Position among the joined haystacks last built (set as they are built). */
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

/** The key the name sort orders an entry by (with its id after it: `byName`); the same as nameKeyOf its card. */
export function nameKeyOfEntry(e: Pick<EntryPeek, 'path' | 'civitai'>): string {
  return keyOfTitle(e.civitai.link?.modelName ?? displayName(e));
}

/** A row of a model given as its source: what sorting, filtering and counting need, read from the entry; no card. */
function rowOfSource(src: IndexSource): Row {
  const e = src.entry;
  return { n: -1, kind: kindOf(e.kind), base: baseOf(e.baseModel), mask: maskOf(statusesOf(e)), id: src.id, src, card: null, civitaiType: null, addedAt: e.addedAt, size: e.size, nameKey: nameKeyOfEntry(e) };
}

function rowOfCard(card: GridCard, civitaiType: string | null): Row {
  return { n: -1, kind: kindOf(card.kind), base: baseOf(card.baseModel), mask: maskOf(card.status), id: card.id, src: null, card, civitaiType, addedAt: card.addedAt, size: card.size, nameKey: nameKeyOf(card) };
}

/**
 * Rows' haystacks joined by NUL, in blocks of BLOCK_ROWS rows: a search runs
 * native indexOf over each block's text. Blocks, not one text: building one
 * text at 100,000 models held every haystack and their join at once (~32 MB
 * at the first search); a block is joined as soon as its rows are built, in
 * the idle slices, and nothing is copied again.
 */
interface Block {
  text: string;
  /** Where each row's haystack starts in the text. */
  starts: Int32Array;
  /** Position of the block's first row. */
  first: number;
}

interface Joined {
  blocks: Block[];
  rows: Row[];
}

/** A join under way (prepare): the rows in the order they get their positions, the blocks closed so far and the open block's haystacks. */
interface Building extends Joined {
  hays: string[];
  next: number;
}

const BLOCK_ROWS = 2048;

/** Where row `i` of a block ends in its text (before the NUL that follows it). */
function endOf(b: Block, i: number): number {
  return i + 1 < b.starts.length ? b.starts[i + 1] - 1 : b.text.length;
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
/** The name order: by name key, then by id (ids are unique, so the order is total). */
export const byName = (a: { nameKey: string; id: string }, b: { nameKey: string; id: string }) => cmp(a.nameKey, b.nameKey) || cmp(a.id, b.id);
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
  /** Every haystack joined (see Block), built in idle slices after a change or at the first search, whichever comes first. */
  private joined: Joined | null = null;
  /** The last join, also after a change: the haystacks of rows it holds are read from it, not built again. */
  private lastJoin: Joined | null = null;
  /** The join prepare() is building. */
  private building: Building | null = null;

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
    this.building = null;
  }

  /** 1 for each row (by `n`) whose haystack holds every word. */
  private search(words: string[]): Uint8Array {
    const j = this.join();
    const hits = new Uint8Array(j.rows.length);
    const [first, ...rest] = [...words].sort((a, b) => b.length - a.length);
    for (const block of j.blocks) {
      const { text, starts } = block;
      let row = 0;
      let at = text.indexOf(first);
      while (at >= 0) {
        while (row + 1 < starts.length && starts[row + 1] <= at) row++;
        if (rest.length === 0) hits[block.first + row] = 1;
        else {
          const hay = text.slice(starts[row], endOf(block, row));
          if (rest.every((w) => hay.includes(w))) hits[block.first + row] = 1;
        }
        if (row + 1 >= starts.length) break;
        // The rest of this row cannot add anything: go on from the next row.
        at = text.indexOf(first, starts[row + 1]);
      }
    }
    return hits;
  }

  /**
   * Builds up to `limit` haystacks of the join under way; true while some
   * remain. The session calls it in idle slices after the first window is
   * answered, so that the first search does not pay for them all.
   */
  prepare(limit = Infinity): boolean {
    if (this.joined) return false;
    const b = (this.building ??= { rows: [...this.rows.values()], blocks: [], hays: [], next: 0 });
    for (let built = 0; b.next < b.rows.length; built++) {
      if (built >= limit) return true;
      const r = b.rows[b.next];
      // Read (from the last join, by the row's old position) before the row takes its new one.
      b.hays.push(this.hayOf(r));
      r.n = b.next++;
      if (b.hays.length === BLOCK_ROWS || b.next === b.rows.length) closeBlock(b);
    }
    this.joined = this.lastJoin = { blocks: b.blocks, rows: b.rows };
    this.building = null;
    return false;
  }

  private join(): Joined {
    if (!this.joined) this.prepare();
    return this.joined!;
  }

  /** Whether the last join holds this row's haystack (rows are replaced when they change, so the same row is an unchanged one). */
  private inLastJoin(r: Row): boolean {
    const j = this.lastJoin;
    return j !== null && r.n >= 0 && r.n < j.rows.length && j.rows[r.n] === r;
  }

  private hayOf(r: Row): string {
    if (!this.inLastJoin(r)) return buildHay(r);
    const block = this.lastJoin!.blocks[Math.floor(r.n / BLOCK_ROWS)];
    const i = r.n - block.first;
    return block.text.slice(block.starts[i], endOf(block, i));
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

function closeBlock(b: Building): void {
  const starts = new Int32Array(b.hays.length);
  let offset = 0;
  for (let i = 0; i < b.hays.length; i++) {
    starts[i] = offset;
    offset += b.hays[i].length + 1;
  }
  b.blocks.push({ text: b.hays.join('\u0000'), starts, first: b.next - b.hays.length });
  b.hays = [];
}
