/**
 * The card grid, windowed: rows have a fixed height, so the rows on screen
 * follow from scrollTop and the viewport; only those rows (plus a little
 * overscan) are in the DOM, and only their cards' previews are asked for.
 * Arrow keys, Home/End and PageUp/PageDown move between cards; Enter opens
 * the details.
 *
 * The cards come from a source that may not have every position yet (the
 * kernel sends windows): the grid tells it which positions are on screen
 * (`onRange`) and shows a placeholder where a card is still on its way.
 */
import type { GridCard as Card } from '../../kernel/protocol';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useEmitter } from '../hooks';
import type { PanelClient } from '../client';
import { ModelCard, type CardAction } from './ModelCard';
import type { UpdatesById } from '../filter';

export const CARD_MIN_WIDTH = 220;
export const GAP = 12;
export const ROW_HEIGHT = 356;
export const OVERSCAN_ROWS = 1;
/** Used when the element has no layout yet (hidden output, jsdom). */
export const FALLBACK_VIEWPORT = { width: 960, height: 640 };
/** Wait this long after the visible set settles before asking for its previews. */
export const PREVIEW_DELAY_MS = 40;

/** The positions the grid shows: how many, and the card at one (undefined: not here yet). */
export interface CardSource {
  count: number;
  cardAt(index: number): Card | undefined;
}

/** A plain list as a source. */
export function listSource(cards: readonly Card[]): CardSource {
  return { count: cards.length, cardAt: (i) => cards[i] };
}

export interface GridProps {
  model: PanelClient;
  cards: CardSource;
  /** Called with the positions on screen [start, end) when they change. */
  onRange?: (start: number, end: number) => void;
  /** A new value (a new query) scrolls back to the top. */
  resetKey?: string;
  nsfwLevel: number;
  revealed: ReadonlySet<string>;
  busyIds: ReadonlySet<string>;
  /** Updates by card id (the badge). */
  updates?: UpdatesById;
  onAction: (action: CardAction, card: Card) => void;
  onCopy: (word: string) => void;
}

export function columnsFor(width: number): number {
  return Math.max(1, Math.floor((width + GAP) / (CARD_MIN_WIDTH + GAP)));
}

/**
 * Columns and their width in whole pixels for the width the rows really
 * have. Sizing them as fractions of a rounded-up width put the last column's
 * right border past the scroll area's edge, where it was clipped; whole
 * pixels from the width rounded down never overflow it.
 */
export function gridLayout(width: number): { cols: number; colWidth: number } {
  const available = Math.max(0, Math.floor(width));
  const cols = columnsFor(available);
  return { cols, colWidth: Math.max(0, Math.floor((available - (cols - 1) * GAP) / cols)) };
}

/**
 * The width the rows get: the canvas's content box inside the scroller (no
 * padding, no scrollbar), unrounded. `clientWidth` rounds to the nearest
 * pixel, up as often as down.
 */
function rowsWidth(canvas: HTMLElement, scroller: HTMLElement): number {
  const box = canvas.getBoundingClientRect().width;
  return box > 0 ? box : scroller.clientWidth || FALLBACK_VIEWPORT.width;
}

/** The card index range [start, end) on screen for a scroll position. */
export function visibleRange(count: number, cols: number, top: number, height: number): [number, number] {
  const rows = Math.ceil(count / cols);
  const firstRow = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN_ROWS);
  const lastRow = Math.min(rows, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN_ROWS);
  return [firstRow * cols, Math.min(count, lastRow * cols)];
}

export function CardGrid({ model, cards: source, onRange, resetKey, nsfwLevel, revealed, busyIds, updates, onAction, onCopy }: GridProps) {
  const count = source.count;
  const scroller = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, width: FALLBACK_VIEWPORT.width, height: FALLBACK_VIEWPORT.height });
  const [focusIndex, setFocusIndex] = useState(0);
  const wantFocus = useRef(false);
  useEmitter(model.previews);

  useLayoutEffect(() => {
    const el = scroller.current;
    const inner = canvas.current;
    if (!el || !inner) return;
    const measure = () =>
      setView((v) => {
        const width = rowsWidth(inner, el);
        const height = el.clientHeight || FALLBACK_VIEWPORT.height;
        return v.width === width && v.height === height && v.top === el.scrollTop ? v : { top: el.scrollTop, width, height };
      });
    measure();
    const onScroll = () => setView((v) => (v.top === el.scrollTop ? v : { ...v, top: el.scrollTop }));
    el.addEventListener('scroll', onScroll, { passive: true });
    let ro: ResizeObserver | null = null;
    if (typeof ResizeObserver !== 'undefined') {
      ro = new ResizeObserver(measure);
      ro.observe(el);
      // The canvas narrows when the scroller's scrollbar appears, with no change to the scroller's own box.
      ro.observe(inner);
    } else {
      window.addEventListener('resize', measure);
    }
    return () => {
      el.removeEventListener('scroll', onScroll);
      if (ro) ro.disconnect();
      else window.removeEventListener('resize', measure);
    };
  }, []);

  const { cols, colWidth } = gridLayout(view.width);
  const rows = Math.ceil(count / cols);
  const [start, end] = visibleRange(count, cols, view.top, view.height);
  const slots: (Card | undefined)[] = [];
  for (let i = start; i < end; i++) slots.push(source.cardAt(i));
  const visible = slots.filter((c): c is Card => c !== undefined);
  const visibleKey = slots.map((c) => (c ? `${c.id}\u0000${c.preview ?? ''}` : '')).join('\u0001');

  // The source learns what is on screen (a windowed source asks for it).
  useEffect(() => {
    onRange?.(start, end);
  }, [onRange, start, end]);

  // A new query starts at the top.
  const lastReset = useRef(resetKey);
  useEffect(() => {
    if (lastReset.current === resetKey) return;
    lastReset.current = resetKey;
    const el = scroller.current;
    if (el && el.scrollTop !== 0) {
      el.scrollTop = 0;
      setView((v) => ({ ...v, top: 0 }));
    }
  }, [resetKey]);

  // Previews for what is on screen, once scrolling pauses.
  const visibleRef = useRef(visible);
  visibleRef.current = visible;
  useEffect(() => {
    const t = setTimeout(() => model.requestPreviews(visibleRef.current), PREVIEW_DELAY_MS);
    return () => clearTimeout(t);
  }, [model, visibleKey]);

  // A filter change leaves the focus index past the end: bring it back.
  useEffect(() => {
    if (focusIndex >= count) setFocusIndex(Math.max(0, count - 1));
  }, [count, focusIndex]);

  useEffect(() => {
    if (!wantFocus.current) return;
    const el = scroller.current?.querySelector<HTMLElement>(`[data-index="${focusIndex}"]`);
    if (el) {
      wantFocus.current = false;
      el.focus({ preventScroll: true });
    }
  });

  const moveTo = (index: number) => {
    const i = Math.max(0, Math.min(count - 1, index));
    const el = scroller.current;
    if (el) {
      const rowTop = Math.floor(i / cols) * ROW_HEIGHT;
      if (rowTop < el.scrollTop) el.scrollTop = rowTop;
      else if (rowTop + ROW_HEIGHT > el.scrollTop + view.height) el.scrollTop = rowTop + ROW_HEIGHT - view.height;
      setView((v) => ({ ...v, top: el.scrollTop }));
    }
    wantFocus.current = true;
    setFocusIndex(i);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement;
    if (!target.classList.contains('md-card')) return;
    const index = Number(target.dataset.index);
    const perPage = Math.max(1, Math.floor(view.height / ROW_HEIGHT)) * cols;
    const moves: Record<string, number> = {
      ArrowRight: index + 1,
      ArrowLeft: index - 1,
      ArrowDown: index + cols,
      ArrowUp: index - cols,
      PageDown: index + perPage,
      PageUp: index - perPage,
      Home: 0,
      End: count - 1,
    };
    if (e.key in moves) {
      e.preventDefault();
      moveTo(moves[e.key]);
    } else if (e.key === 'Enter') {
      const card = source.cardAt(index);
      if (card) {
        e.preventDefault();
        onAction('details', card);
      }
    }
  };

  const onFocusIn = (e: FocusEvent) => {
    const target = e.target as HTMLElement;
    if (target.classList.contains('md-card')) setFocusIndex(Number(target.dataset.index));
  };

  const rowsShown = useMemo(() => {
    const out: (Card | undefined)[][] = [];
    for (let i = 0; i < slots.length; i += cols) out.push(slots.slice(i, i + cols));
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [visibleKey, cols, source]);

  if (count === 0) return null;
  return (
    <div ref={scroller} class="md-scroller" onKeyDown={onKeyDown} onFocusIn={onFocusIn} role="region" aria-label="Models" data-width={view.width}>
      <div ref={canvas} class="md-canvas" style={{ height: `${rows * ROW_HEIGHT}px` }}>
        <div class="md-rows" style={{ transform: `translateY(${Math.floor(start / cols) * ROW_HEIGHT}px)` }} role="list">
          {rowsShown.map((row, r) => (
            <div class="md-row" key={start + r * cols} style={{ gridTemplateColumns: `repeat(${cols}, ${colWidth}px)`, height: `${ROW_HEIGHT - GAP}px` }}>
              {row.map((card, i) => {
                const index = start + r * cols + i;
                if (!card) {
                  return (
                    <div role="listitem" key={`slot-${index}`}>
                      <div class="md-card-loading" data-index={index} aria-busy="true" aria-label="Loading" />
                    </div>
                  );
                }
                const media = model.previews.media(card);
                const overLimit = (card.civitai.nsfwLevel ?? 0) > nsfwLevel;
                return (
                  <div role="listitem" key={card.id}>
                    <ModelCard
                      card={card}
                      index={index}
                      media={media}
                      previewFailed={model.previews.failed(card)}
                      blurred={overLimit && !revealed.has(card.id)}
                      busy={busyIds.has(card.id)}
                      update={updates?.get(card.id)}
                      readOnly={model.readOnly === true}
                      onAction={onAction}
                      onCopy={onCopy}
                    />
                  </div>
                );
              })}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
