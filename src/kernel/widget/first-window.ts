/**
 * The panel's first screen, kept beside the index (core's index-cache.ts) so
 * that a panel opened on a large library paints cards before the library has
 * loaded: at 100,000 models loading takes seconds, and the first window the
 * page asks for is the one the last panel on this library showed.
 *
 * What is kept: the query the page asked with, the first FIRST_WINDOW_CARDS
 * entries in its order, its total and facets, and the summary's counts, for
 * the version of the index they were taken from. A cached window answers only
 * a request with the same query inside the rows kept; the session replaces
 * the answer with the library's own once it has loaded (only what differs is
 * sent: PageView.seed).
 *
 * Queries on the `update` status or sort are not kept: their answer depends on
 * the last update check of that panel, not on the index alone.
 */
import { readIndexCache, writeIndexCache, type Library } from '../../core/library';
import type { GridCard, GridQuery, QueryFacets, WindowRequest, WindowResult } from '../protocol';
import { CardTracker, cardId, gridCardOf, type IndexSource } from './cards';
import { DEFAULT_GRID_QUERY, QueryIndex, queryKey } from './query';
import { summaryCountsOf, type SummaryCounts } from './state';
import { BASES, KINDS, STATUSES, isPlainObject, parseQuery } from './validate';

const CACHE_NAME = 'panel-first-window';
/** Four of the page's blocks of 60: a tall screen's first request. */
export const FIRST_WINDOW_CARDS = 240;

interface Window {
  query: GridQuery;
  cards: GridCard[];
  total: number;
  library: number;
  facets: QueryFacets;
}

/**
 * A kept first window, checked, held as one JSON text until a request asks for
 * it. Why text: holding its 240 cards as objects while a 100,000-model index
 * loads left the tslab kernel 36 MB larger for good (RSS 414 against 376 MB,
 * the same heap after GC: the few live objects kept the load's old-space pages
 * from being given back); as one string it costs nothing measurable.
 */
export class KeptWindow {
  private readonly key: string;

  constructor(
    private readonly text: string,
    query: GridQuery,
    /** The summary's counts when it was kept. */
    readonly counts: SummaryCounts,
  ) {
    this.key = queryKey(query);
  }

  /** The answer to a request from the kept window, or null when the request asks for another query or for rows not kept. */
  answer(request: WindowRequest): WindowResult | null {
    if (queryKey(request.query) !== this.key) return null;
    const window = JSON.parse(this.text) as Window;
    const end = Math.min(request.offset + request.limit, window.total);
    if (end > window.cards.length) return null;
    const cards = window.cards.slice(request.offset, end);
    return { query: request.query, seq: request.seq, offset: request.offset, cards, total: window.total, library: window.library, facets: window.facets };
  }
}

interface Data {
  query: GridQuery;
  total: number;
  library: number;
  facets: QueryFacets;
  counts: SummaryCounts;
}

export function cacheable(query: GridQuery): boolean {
  return query.status !== 'update' && query.sort !== 'update';
}

/** A first window as it is kept: the query's first sources in order, its total and facets, and the summary's counts. */
export interface FirstWindow {
  query: GridQuery;
  sources: IndexSource[];
  total: number;
  library: number;
  facets: QueryFacets;
  counts: SummaryCounts;
}

/**
 * The first window of `query` over a panel's query index and card tracker, or
 * null when the tracker has not caught up with a change yet (the next change
 * keeps it).
 */
export function firstWindowOf(query: GridQuery, index: QueryIndex, tracker: CardTracker, counts: SummaryCounts): FirstWindow | null {
  const answer = index.run(query);
  const sources: IndexSource[] = [];
  for (const id of answer.ids.slice(0, FIRST_WINDOW_CARDS)) {
    const source = tracker.source(id);
    if (!source) return null;
    sources.push(source);
  }
  // The update count belongs to a panel's last check, not to the index.
  const { update: _update, ...statuses } = answer.facets.statuses;
  return { query, sources, total: answer.ids.length, library: index.size, facets: { ...answer.facets, statuses }, counts };
}

/** Keeps a first window for the library's index as it is now. */
export function saveFirstWindow(lib: Library, window: FirstWindow): Promise<boolean> {
  const data: Data = { query: window.query, total: window.total, library: window.library, facets: window.facets, counts: window.counts };
  return writeIndexCache(lib, CACHE_NAME, { entries: window.sources.map((s) => ({ rootIndex: s.rootIndex, entry: s.entry })), data });
}

/**
 * Keeps the first window of a library that a process with no panel changed
 * (a CLI scan, link or download), so that the next panel's first screen does
 * not wait for the whole library to load: for the query the last panel on
 * these roots kept, else the page's opening query. False when nothing was
 * written.
 */
export async function keepFirstWindow(lib: Library): Promise<boolean> {
  const previous = await readIndexCache(lib.roots, CACHE_NAME, { anyVersion: true });
  const query = (previous && isPlainObject(previous.data) && validQuery(previous.data.query)) || DEFAULT_GRID_QUERY;
  const tracker = new CardTracker();
  tracker.update(lib.entries(), lib.roots);
  const index = new QueryIndex();
  index.reset(tracker.takeAll());
  const window = firstWindowOf(query, index, tracker, summaryCountsOf(tracker.all()));
  return window ? saveFirstWindow(lib, window) : false;
}

function validQuery(raw: unknown): GridQuery | null {
  const query = parseQuery(raw);
  return typeof query !== 'string' && cacheable(query) ? query : null;
}

/** The first window kept for these roots, if the index on disk is still the version it was taken from. */
export async function loadFirstWindow(roots: string[]): Promise<KeptWindow | null> {
  const cached = await readIndexCache(roots, CACHE_NAME);
  if (!cached || !isPlainObject(cached.data)) return null;
  const { query: rawQuery, total, library, facets, counts } = cached.data;
  const query = validQuery(rawQuery);
  if (!query) return null;
  if (!isCount(total) || !isCount(library) || total > library || cached.entries.length > Math.min(total, FIRST_WINDOW_CARDS)) return null;
  if (!isFacets(facets) || !isSummaryCounts(counts)) return null;
  const sources = cached.entries.map((e) => ({ id: cardId(e.rootIndex, e.entry.path), rootIndex: e.rootIndex, entry: e.entry }));
  return keptWindowOf({ query, sources, total, library, facets, counts });
}

/** A first window (kept beside the index, or a first look at it: quick-window.ts) as the session holds it until asked. */
export function keptWindowOf(w: FirstWindow): KeptWindow {
  const window: Window = { query: w.query, cards: w.sources.map(gridCardOf), total: w.total, library: w.library, facets: w.facets };
  return new KeptWindow(JSON.stringify(window), w.query, w.counts);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isCountsOf(v: unknown, names: readonly string[]): boolean {
  return isPlainObject(v) && Object.entries(v).every(([k, n]) => names.includes(k) && isCount(n));
}

function isFacets(v: unknown): v is QueryFacets {
  return isPlainObject(v) && isCountsOf(v.kinds, KINDS) && isCountsOf(v.bases, BASES) && isCountsOf(v.statuses, STATUSES) && Object.keys(v).length === 3;
}

function isSummaryCounts(v: unknown): v is SummaryCounts {
  return isPlainObject(v) && isCount(v.models) && isCount(v.bytes) && isCountsOf(v.byStatus, STATUSES) && isCountsOf(v.byKind, KINDS);
}
