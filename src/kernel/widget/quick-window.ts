/**
 * The page's opening window from a first look at the index (core's
 * index-peek.ts), for a panel that finds no first window kept beside the index:
 * an index an older modeldeck wrote, or a deleted cache. At 100,000 models the
 * look takes well under half of the library's load, and the session makes it
 * before the load, so the first cards come that much sooner; the library's own
 * answer replaces this one once it has loaded (only what differs is sent), as
 * for a kept window.
 *
 * Only the page's opening query (DEFAULT_GRID_QUERY: everything, by name) is
 * answered: the cards are the first FIRST_WINDOW_CARDS by the query index's
 * own order (`byName` over `nameKeyOfEntry`), each decoded and checked in full
 * as the store does; the counts are the peeks'.
 */
import { peekIndex, statusesOf, type EntryPeek, type ModelEntry, type ReadSnapshots } from '../../core/library';
import type { QueryFacets } from '../protocol';
import { cardId, type IndexSource } from './cards';
import { FIRST_WINDOW_CARDS, keptWindowOf, type KeptWindow } from './first-window';
import { DEFAULT_GRID_QUERY, byName, nameKeyOfEntry } from './query';
import type { SummaryCounts } from './state';

/** Candidates kept beyond the window, in case some of them fail the full check. */
const SPARE = 16;
const KEEP = FIRST_WINDOW_CARDS + SPARE;

interface Candidate {
  nameKey: string;
  id: string;
  rootIndex: number;
  entry: () => ModelEntry | null;
}

/**
 * The opening window of these roots from a look at their indexes, or null when
 * some index cannot be looked at that way. `read` keeps the snapshots' bytes
 * for the library's load.
 */
export async function quickFirstWindow(roots: readonly string[], read?: ReadSnapshots): Promise<KeptWindow | null> {
  const counts: SummaryCounts = { models: 0, bytes: 0, byStatus: {}, byKind: {} };
  const bases: QueryFacets['bases'] = {};
  let best: Candidate[] = [];
  /** The largest candidate kept once `best` was first cut: anything after it cannot be in the window. */
  let bound: Candidate | null = null;
  const add = (peek: EntryPeek, rootIndex: number, entry: () => ModelEntry | null) => {
    counts.models++;
    counts.bytes += peek.size;
    counts.byKind[peek.kind] = (counts.byKind[peek.kind] ?? 0) + 1;
    bases[peek.baseModel] = (bases[peek.baseModel] ?? 0) + 1;
    for (const s of statusesOf(peek)) counts.byStatus[s] = (counts.byStatus[s] ?? 0) + 1;
    const c = { nameKey: nameKeyOfEntry(peek), id: cardId(rootIndex, peek.path), rootIndex, entry };
    if (bound && byName(c, bound) >= 0) return;
    best.push(c);
    // Cut back to the best KEEP now and then: a sort of 2 x KEEP, not one of the whole library.
    if (best.length >= 2 * KEEP) {
      best = best.sort(byName).slice(0, KEEP);
      bound = best[KEEP - 1];
    }
  };
  for (let i = 0; i < roots.length; i++) {
    const seen = await peekIndex(roots[i], (peek, entry) => add(peek, i, entry), read);
    if (!seen) return null;
  }
  best.sort(byName);
  const sources: IndexSource[] = [];
  for (const c of best) {
    if (sources.length === Math.min(FIRST_WINDOW_CARDS, counts.models)) break;
    const entry = c.entry();
    if (entry) sources.push({ id: c.id, rootIndex: c.rootIndex, entry });
  }
  // Candidates were cut and too many of the best were refused to know which come next: leave it to the library.
  if (bound !== null && sources.length < FIRST_WINDOW_CARDS) return null;
  // Everything matches the opening query: its facets are the library's counts (no update count: no check was made).
  const facets: QueryFacets = { kinds: { ...counts.byKind }, bases, statuses: { ...counts.byStatus } };
  return keptWindowOf({ query: DEFAULT_GRID_QUERY, sources, total: counts.models, library: counts.models, facets, counts });
}
