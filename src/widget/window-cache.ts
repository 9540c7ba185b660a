/**
 * The page's side of queries and windows: what the grid shows of a query the
 * kernel answers.
 *
 * - The grid says which card positions are on screen (`setRange`); missing
 *   blocks of them are asked for as one `window` request. Blocks already seen
 *   are kept while the query stays the same.
 * - A new query (a keystroke) is answered at once from the cards the page has
 *   (the page's own filter over them, marked provisional) and replaced when
 *   the kernel's answer comes.
 * - Every request carries a `seq`; an answer or change is used only when it is
 *   for the current query, and a block is never overwritten by an older answer.
 * - `window` messages (changes during a scan) replace the view's block and
 *   drop the other blocks of the query (positions may have moved).
 *
 * Takes its host as a parameter (request and custom-message events), so the
 * ipywidgets model and any other host adapter can drive it.
 */
import type { GridCard, GridQuery, QueryFacets, ReplyMessage, WindowMessage, WindowRequest, WindowResult } from '../kernel/protocol';
import { MAX_WINDOW } from '../kernel/protocol';
import { applyQuery, type UpdatesById } from './filter';
import { Emitter } from './emitter';

/** Cards per block: the unit that is asked for and kept. */
export const BLOCK = 60;
/** Cards kept in the page for provisional answers; past it the ones not on screen are dropped. */
export const MAX_CARDS = 20_000;

/** What the cache needs of its host (every `PanelClient` adapter is one). */
export interface WindowHost {
  request(type: 'window', payload: Omit<WindowRequest, 'type' | 'requestId'>, buffers?: undefined, options?: { report?: boolean }): Promise<ReplyMessage>;
  /** Calls `fn` with each custom message's content; returns the unsubscribe. */
  onCustom(fn: (content: unknown) => void): () => void;
}

export function queryKey(q: GridQuery): string {
  return JSON.stringify([q.search.trim().toLowerCase().split(/\s+/).filter(Boolean), q.kind, q.base, q.status, q.sort, q.desc]);
}

const EMPTY_FACETS: QueryFacets = { kinds: {}, bases: {}, statuses: {} };

export class WindowCache extends Emitter {
  private query: GridQuery;
  private key: string;
  private seq = 0;
  /** The first seq sent for the current query: older answers are another query's. */
  private querySeq = 0;
  /** Blocks of the current query: index -> ids and the seq that filled it. */
  private blocks = new Map<number, { ids: string[]; seq: number }>();
  /** Blocks asked for and not answered, for the current query. */
  private asked = new Set<number>();
  private cards = new Map<string, GridCard>();
  private provisional: GridCard[] | null = null;
  private range: [number, number] = [0, BLOCK];
  private started = false;
  private stopListening: (() => void) | null = null;
  /** The kernel's count for the current query (null before its first answer). */
  answeredTotal: number | null = null;
  library = 0;
  facets: QueryFacets = EMPTY_FACETS;
  /** Whether any answer came (false: still waiting for the first). */
  received = false;

  constructor(
    private readonly host: WindowHost,
    query: GridQuery,
    private updates: UpdatesById = new Map(),
  ) {
    super();
    this.query = query;
    this.key = queryKey(query);
  }

  /** Starts listening and asks for the first window (the kernel answers once it can: from a kept window or the loaded library). */
  start(): void {
    if (!this.stopListening) this.stopListening = this.host.onCustom((c) => this.onCustom(c));
    this.started = true;
    this.fetchMissing();
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = null;
    this.started = false;
  }

  /** Asks for the view again from scratch (after a reconnect). */
  reload(): void {
    this.blocks.clear();
    this.asked.clear();
    this.querySeq = this.seq + 1;
    this.fetchMissing();
  }

  /** The updates the page knows, for provisional answers of the `update` filter. */
  setUpdates(updates: UpdatesById): void {
    this.updates = updates;
  }

  get pending(): boolean {
    return this.asked.size > 0;
  }

  /** How many positions the grid has: the kernel's count, or the provisional answer's until it comes. */
  get count(): number {
    if (this.answeredTotal !== null) return this.answeredTotal;
    return this.provisional?.length ?? 0;
  }

  /** True while the grid shows the page's own guess for the current query. */
  get isProvisional(): boolean {
    return this.answeredTotal === null && this.provisional !== null;
  }

  /** The card at a position, or undefined while its block is on its way. */
  cardAt(index: number): GridCard | undefined {
    if (this.answeredTotal === null) return this.provisional?.[index];
    const block = this.blocks.get(Math.floor(index / BLOCK));
    const id = block?.ids[index % BLOCK];
    return id === undefined ? undefined : this.cards.get(id);
  }

  card(id: string): GridCard | undefined {
    return this.cards.get(id);
  }

  setQuery(query: GridQuery): void {
    const key = queryKey(query);
    this.query = query;
    if (key === this.key) return;
    this.key = key;
    this.blocks.clear();
    this.asked.clear();
    this.answeredTotal = null;
    this.querySeq = this.seq + 1;
    // The page's own answer from the cards it has, until the kernel's comes.
    this.provisional = applyQuery([...this.cards.values()], query, this.updates);
    this.range = [0, Math.max(BLOCK, this.range[1] - this.range[0])];
    this.fetchMissing();
    this.emit();
  }

  /** The positions on screen: missing blocks among them are asked for. */
  setRange(start: number, end: number): void {
    if (start === this.range[0] && end === this.range[1]) return;
    this.range = [start, end];
    this.fetchMissing();
  }

  private fetchMissing(): void {
    if (!this.started) return;
    const [start, end] = this.range;
    const first = Math.floor(start / BLOCK);
    const last = Math.max(first, Math.ceil(Math.max(end, start + 1) / BLOCK) - 1);
    const limitBlocks = Math.floor(MAX_WINDOW / BLOCK);
    const missing: number[] = [];
    for (let b = first; b <= last && b < first + limitBlocks; b++) if (!this.blocks.has(b) && !this.asked.has(b)) missing.push(b);
    if (!missing.length) return;
    // One request from the first missing block to the last: the kernel treats it as the page's view.
    const from = missing[0];
    const to = missing[missing.length - 1];
    for (let b = from; b <= to; b++) this.asked.add(b);
    const seq = ++this.seq;
    const key = this.key;
    void this.host.request('window', { query: this.query, offset: from * BLOCK, limit: (to - from + 1) * BLOCK, seq }, undefined, { report: true }).then((reply) => {
      if (key === this.key) for (let b = from; b <= to; b++) this.asked.delete(b);
      if (reply.ok) this.onAnswer(reply.result as WindowResult);
      else this.emit();
    });
    this.emit();
  }

  private onAnswer(r: WindowResult): void {
    if (!r || typeof r !== 'object' || !Array.isArray(r.cards)) return;
    // Another (older) query's answer: the page has moved on.
    if (queryKey(r.query) !== this.key || r.seq < this.querySeq) return;
    this.received = true;
    for (const c of r.cards) this.cards.set(c.id, c);
    const ids = r.cards.map((c) => c.id);
    this.fill(r.offset, ids, r.seq, false);
    this.setCounts(r.total, r.library, r.facets);
    this.trim();
    this.emit();
  }

  private onCustom(content: unknown): void {
    const m = content as WindowMessage | null;
    if (!m || typeof m !== 'object' || m.type !== 'window' || !Array.isArray(m.ids)) return;
    if (queryKey(m.query) !== this.key || m.seq < this.querySeq) return;
    this.received = true;
    for (const c of m.upsert ?? []) this.cards.set(c.id, c);
    // Positions outside the view may have moved: keep only the view's blocks, and ask again for the others when shown.
    this.fill(m.offset, m.ids, m.seq, true);
    this.setCounts(m.total, m.library, m.facets);
    this.trim();
    this.fetchMissing();
    this.emit();
  }

  /** Puts ids at positions `offset`...; `only`: drops every block not filled here. */
  private fill(offset: number, ids: string[], seq: number, only: boolean): void {
    const filled = new Set<number>();
    const firstBlock = Math.floor(offset / BLOCK);
    const blocks = Math.max(1, Math.ceil(ids.length / BLOCK));
    for (let i = 0; i < blocks; i++) {
      const b = firstBlock + i;
      const have = this.blocks.get(b);
      if (have && have.seq > seq) continue; // a newer answer filled it already
      this.blocks.set(b, { ids: ids.slice(i * BLOCK, (i + 1) * BLOCK), seq });
      filled.add(b);
    }
    if (only) for (const b of [...this.blocks.keys()]) if (!filled.has(b)) this.blocks.delete(b);
  }

  private setCounts(total: number, library: number, facets: QueryFacets): void {
    this.answeredTotal = total;
    this.provisional = null;
    this.library = library;
    this.facets = facets ?? EMPTY_FACETS;
    // Blocks past the end (the result shrank) are gone.
    const lastBlock = Math.floor(Math.max(0, total - 1) / BLOCK);
    for (const b of [...this.blocks.keys()]) if (b > lastBlock || total === 0) this.blocks.delete(b);
  }

  /** Keeps the page's card copy bounded: drops cards no kept block names. */
  private trim(): void {
    if (this.cards.size <= MAX_CARDS) return;
    const keep = new Set<string>();
    for (const { ids } of this.blocks.values()) for (const id of ids) keep.add(id);
    for (const id of [...this.cards.keys()]) if (!keep.has(id)) this.cards.delete(id);
  }
}
