// The grid over windows in jsdom: it asks for the windows it scrolls to, keeps
// those it saw for the same query, answers a keystroke from the cards it has,
// and drops answers that come too late. Against a scripted kernel (helpers)
// and against a bare fake client (WindowCache on its own).
import type { GridQuery, ReplyMessage, WindowRequest } from '../../src/kernel/protocol';
import { DEFAULT_QUERY } from '../../src/widget/filter';
import { BLOCK, WindowCache, type WindowHost } from '../../src/widget/window-cache';
import { RESYNC_DELAY_MS } from '../../src/widget/components/ModelsPanel';
import { act } from 'preact/test-utils';
import { card, field, flush, input, openPanel, settle, type Panel } from './helpers';

let panel: Panel;
afterEach(() => panel?.close());

const many = (n: number) => Array.from({ length: n }, (_, i) => card(i));

describe('the grid over windows', () => {
  it('asks for its first window as soon as it shows (before the library is ready), once, and shows the answer', async () => {
    const loading = { ready: false, models: 0, bytes: 0, byStatus: {}, byKind: {}, civitai: true, tokenSet: false, lastScan: null };
    panel = await openPanel({ summary: loading }, { autoWindows: false });
    panel.models(many(300));
    await settle();
    // Asked at once: waiting for the summary to say the kernel can answer cost a round trip before the first card.
    expect(panel.comm.requests('window')).toHaveLength(1);
    expect(panel.el.querySelector('.md-empty')!.textContent).toContain('Loading the library');

    panel.update({ summary: { ...loading, models: 300, preview: true } });
    await settle();
    expect(panel.comm.requests('window')).toHaveLength(1);
    await panel.answerWindow();
    await settle();
    expect(panel.titles()[0]).toBe('Model 00000');

    panel.update({ summary: { ...loading, models: 300, ready: true } });
    await settle();
    expect(panel.comm.requests('window')).toHaveLength(1);
    expect(panel.titles()[0]).toBe('Model 00000');
  });

  it('asks again when no answer came a moment after the kernel said it can answer (a lost request)', async () => {
    const loading = { ready: false, models: 0, bytes: 0, byStatus: {}, byKind: {}, civitai: true, tokenSet: false, lastScan: null };
    panel = await openPanel({ summary: loading }, { autoWindows: false });
    panel.models(many(300));
    await settle();
    expect(panel.comm.requests('window')).toHaveLength(1);
    // Still loading: waiting is not a lost request. (A wait due after the resync timer's: timers run in order.)
    await act(() => flush(RESYNC_DELAY_MS + 100));
    expect(panel.comm.requests('window')).toHaveLength(1);
    panel.update({ summary: { ...loading, models: 300, ready: true } });
    await settle();
    await act(() => flush(RESYNC_DELAY_MS + 100));
    await settle();
    expect(panel.comm.requests('window')).toHaveLength(2);
  });

  it('asks for the window it scrolls to, shows placeholders until it comes, and keeps windows it saw', async () => {
    panel = await openPanel({}, { autoWindows: false });
    panel.models(many(10_000));
    await panel.answerWindow();
    await settle();
    expect(panel.titles()[0]).toBe('Model 00000');
    expect(panel.el.querySelector('.md-count')!.textContent).toBe('10,000 models');
    const first = panel.comm.requests('window');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ offset: 0, limit: BLOCK, query: DEFAULT_QUERY });

    const scroller = panel.el.querySelector('.md-scroller') as HTMLElement;
    scroller.scrollTop = 356 * 1000;
    scroller.dispatchEvent(new Event('scroll'));
    await settle();
    // Not here yet: placeholders where the cards go, and one request for that part of the list.
    expect(panel.cards()).toHaveLength(0);
    expect(panel.el.querySelectorAll('.md-card-loading').length).toBeGreaterThan(0);
    expect(panel.el.querySelector('[data-md-pending]')).not.toBeNull();
    const asked = panel.unansweredWindows();
    expect(asked).toHaveLength(1);
    const firstShown = Number((panel.el.querySelector('.md-card-loading') as HTMLElement).dataset.index);
    expect(asked[0].offset).toBeLessThanOrEqual(firstShown);
    expect(asked[0].offset + asked[0].limit).toBeGreaterThan(firstShown);
    expect(asked[0].offset % BLOCK).toBe(0);
    await panel.answerWindow();
    await settle();
    expect(panel.el.querySelectorAll('.md-card-loading')).toHaveLength(0);
    expect(Number(panel.cards()[0].dataset.index)).toBe(firstShown);
    expect(panel.titles()[0]).toBe(`Model ${String(firstShown).padStart(5, '0')}`);
    expect(panel.el.querySelector('[data-md-pending]')).toBeNull();

    // Back to the top: that window was seen for this query, so nothing is asked for.
    const before = panel.comm.requests('window').length;
    scroller.scrollTop = 0;
    scroller.dispatchEvent(new Event('scroll'));
    await settle();
    expect(panel.titles()[0]).toBe('Model 00000');
    expect(panel.comm.requests('window')).toHaveLength(before);
  });

  it('answers a keystroke at once from the cards it has, then shows the kernel answer', async () => {
    panel = await openPanel({}, { autoWindows: false });
    // The page holds the first window only; the kernel knows cards beyond it ("Zeta" sorts last).
    panel.models([...many(200), card(5000, { name: 'Zeta 00007' })]);
    await panel.answerWindow();
    await settle();
    input(field<HTMLInputElement>(panel.el, 'Search'), '00007');
    await settle();
    // Provisional: from the page's own cards, while the answer is awaited.
    expect(panel.titles()).toEqual(['Model 00007']);
    expect(panel.el.querySelector('[data-md-pending]')).not.toBeNull();
    const req = panel.unansweredWindows().pop()!;
    expect(req.query.search).toBe('00007');
    await panel.answerWindow(req);
    await settle();
    expect(panel.titles()).toEqual(['Model 00007', 'Zeta 00007']);
    expect(panel.el.querySelector('.md-count')!.textContent).toBe('2 of 201 models');
    expect(panel.el.querySelector('[data-md-pending]')).toBeNull();
  });

  it('drops an answer to an older query that comes after the newer one', async () => {
    panel = await openPanel({}, { autoWindows: false });
    panel.models([card(1, { name: 'Apple' }), card(2, { name: 'Apricot' }), card(3, { name: 'Banana' })]);
    await panel.answerWindow();
    await settle();
    const search = field<HTMLInputElement>(panel.el, 'Search');
    input(search, 'ap');
    await settle();
    input(search, 'apr');
    await settle();
    const [older, newer] = panel.unansweredWindows();
    expect(older.query.search).toBe('ap');
    expect(newer.query.search).toBe('apr');
    await panel.answerWindow(newer);
    await settle();
    expect(panel.titles()).toEqual(['Apricot']);
    // The late answer for "ap" (two cards) must not replace what "apr" shows.
    await panel.answerWindow(older);
    await settle();
    expect(panel.titles()).toEqual(['Apricot']);
    expect(panel.el.querySelector('.md-count')!.textContent).toBe('1 of 3 models');
  });

  it('facet counts from the kernel feed the filter menus', async () => {
    panel = await openPanel();
    panel.models([card(1, { kind: 'checkpoint' }), card(2), card(3), card(4, { baseModel: 'pony' })]);
    await settle();
    const kinds = [...field<HTMLSelectElement>(panel.el, 'Kind').options].map((o) => o.textContent);
    expect(kinds).toEqual(['All kinds', 'Checkpoint (1)', 'LoRA (3)']);
    input(field(panel.el, 'Kind'), 'lora');
    await settle();
    const bases = [...field<HTMLSelectElement>(panel.el, 'Base model').options].map((o) => o.textContent);
    expect(bases).toEqual(['All base models', 'SDXL (2)', 'Pony (1)']);
  });

  it('a change pushed for the view replaces the card in place and keeps the scroll position', async () => {
    panel = await openPanel();
    panel.models(many(500));
    await settle();
    const scroller = panel.el.querySelector('.md-scroller') as HTMLElement;
    scroller.scrollTop = 356 * 20;
    scroller.dispatchEvent(new Event('scroll'));
    await settle();
    const shown = panel.cards()[0];
    const index = Number(shown.dataset.index);
    panel.models([card(index, { name: `Model ${String(index).padStart(5, '0')} renamed` })]);
    await settle();
    expect(scroller.scrollTop).toBe(356 * 20);
    expect(panel.cards()[0].querySelector('.md-card-title')!.textContent).toBe(`Model ${String(index).padStart(5, '0')} renamed`);
  });
});

describe('WindowCache against a fake client', () => {
  /** A client that records requests and lets the test answer them in any order. */
  function fakeClient() {
    const requests: { payload: Omit<WindowRequest, 'type' | 'requestId'>; resolve: (r: ReplyMessage) => void }[] = [];
    let listener: ((c: unknown) => void) | null = null;
    const host: WindowHost = {
      request: (_type, payload) => new Promise((resolve) => requests.push({ payload, resolve })),
      onCustom(fn) {
        listener = fn;
        return () => (listener = null);
      },
    };
    const answer = (i: number, ids: string[], total: number) => {
      const { payload, resolve } = requests[i];
      resolve({ type: 'reply', requestId: i, request: 'window', ok: true, result: { query: payload.query, seq: payload.seq, offset: payload.offset, cards: ids.map((id, k) => card(k, { id })), total, library: 1000, facets: { kinds: {}, bases: {}, statuses: {} } } });
    };
    return { host, requests, answer, push: (c: unknown) => listener?.(c) };
  }
  const flush = () => new Promise((r) => setTimeout(r, 0));

  it('asks for the missing blocks of a range in one request, and only those', async () => {
    const f = fakeClient();
    const cache = new WindowCache(f.host, DEFAULT_QUERY);
    cache.start();
    expect(f.requests.map((r) => [r.payload.offset, r.payload.limit])).toEqual([[0, BLOCK]]);
    f.answer(0, Array.from({ length: BLOCK }, (_, i) => `a${i}`), 1000);
    await flush();
    cache.setRange(BLOCK - 5, BLOCK * 2 + 5);
    expect(f.requests.map((r) => [r.payload.offset, r.payload.limit])).toEqual([[0, BLOCK], [BLOCK, BLOCK * 2]]);
    expect(cache.cardAt(3)!.id).toBe('a3');
    expect(cache.cardAt(BLOCK + 1)).toBeUndefined();
  });

  it('a push for another query, or one older than the current query, is dropped', async () => {
    const f = fakeClient();
    const cache = new WindowCache(f.host, DEFAULT_QUERY);
    cache.start();
    const q: GridQuery = { ...DEFAULT_QUERY, search: 'x' };
    cache.setQuery(q);
    f.answer(1, ['x1'], 1);
    await flush();
    expect(cache.cardAt(0)!.id).toBe('x1');
    // A change for the old query (seq 1) after the new one was asked for.
    f.push({ type: 'window', seq: 1, query: DEFAULT_QUERY, offset: 0, ids: ['old'], upsert: [card(0, { id: 'old' })], total: 9, library: 9, facets: { kinds: {}, bases: {}, statuses: {} } });
    expect(cache.cardAt(0)!.id).toBe('x1');
    expect(cache.count).toBe(1);
    // And the late answer to the first request.
    f.answer(0, ['late'], 50);
    await flush();
    expect(cache.cardAt(0)!.id).toBe('x1');
    expect(cache.count).toBe(1);
    // A change for the current query is taken.
    f.push({ type: 'window', seq: f.requests[1].payload.seq, query: q, offset: 0, ids: ['x2', 'x1'], upsert: [card(0, { id: 'x2' })], total: 2, library: 9, facets: { kinds: {}, bases: {}, statuses: {} } });
    expect(cache.cardAt(0)!.id).toBe('x2');
    expect(cache.count).toBe(2);
  });
});
