/**
 * The page's view: the window it asked for last, and what it was sent of it.
 * After a change (a scan's batch, a link, another panel's move) the session
 * asks for `changes()`: the window's ids again, only the cards among them
 * that differ from what the page was sent, and the new counts — or nothing
 * when the change touched neither the window nor the counts.
 */
import type { GridCard, WindowMessage, WindowRequest, WindowResult } from '../protocol';
import type { QueryIndex } from './query';

/** The page keeps at most about this many cards; past it, what was sent outside the view is forgotten (and sent again when asked). */
const SENT_MAX = 5000;

export class PageView {
  private request: WindowRequest | null = null;
  /** id -> JSON of the grid card as the page was sent it. */
  private sent = new Map<string, string>();
  /** The last window the page has: ids, counts and facets (JSON). */
  private last = { ids: [] as string[], total: -1, library: -1, facets: '' };

  constructor(private readonly index: QueryIndex) {}

  answer(request: WindowRequest): WindowResult {
    const { total, facets, cards } = this.window(request);
    const result = { query: request.query, seq: request.seq, offset: request.offset, cards, total, library: this.index.size, facets };
    this.seed(request, result);
    return result;
  }

  /**
   * Records an answer as what the page was sent: the next `changes()` sends
   * what differs from it. Also for an answer given from elsewhere (the kept
   * first window, before the library loaded).
   */
  seed(request: WindowRequest, result: WindowResult): void {
    this.request = request;
    const ids = result.cards.map((c) => c.id);
    for (const c of result.cards) this.sent.set(c.id, JSON.stringify(c));
    this.prune(ids);
    this.last = { ids, total: result.total, library: result.library, facets: JSON.stringify(result.facets) };
  }

  changes(): WindowMessage | null {
    const request = this.request;
    if (!request) return null;
    const { ids, total, facets, cards } = this.window(request);
    const upsert: GridCard[] = [];
    for (const c of cards) {
      const json = JSON.stringify(c);
      if (this.sent.get(c.id) !== json) {
        this.sent.set(c.id, json);
        upsert.push(c);
      }
    }
    const facetsJson = JSON.stringify(facets);
    const same = upsert.length === 0 && total === this.last.total && this.index.size === this.last.library && facetsJson === this.last.facets && sameIds(ids, this.last.ids);
    if (same) return null;
    this.prune(ids);
    this.last = { ids, total, library: this.index.size, facets: facetsJson };
    return { type: 'window', seq: request.seq, query: request.query, offset: request.offset, ids, upsert, total, library: this.index.size, facets };
  }

  /** The page may have lost everything (it asked for the state again): the next change sends the window whole. */
  forgetSent(): void {
    this.sent.clear();
    this.last = { ids: [], total: -1, library: -1, facets: '' };
  }

  private window(request: WindowRequest) {
    const answer = this.index.run(request.query);
    const ids = answer.ids.slice(request.offset, request.offset + request.limit);
    const cards = ids.map((id) => this.index.card(id)!);
    return { ids, total: answer.ids.length, facets: answer.facets, cards };
  }

  private prune(keep: string[]): void {
    if (this.sent.size <= SENT_MAX) return;
    const kept = new Set(keep);
    for (const id of this.sent.keys()) if (!kept.has(id)) this.sent.delete(id);
  }
}

function sameIds(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
