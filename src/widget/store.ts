/**
 * The widget's copy of the model list, fed by the kernel's `models` deltas.
 *
 * Plain data and a change counter: components subscribe, read `version` and
 * recompute what they show only when it moved. `list()` is cached per version,
 * so 10,000 cards are copied into an array once per delta, not per render.
 */
import type { ModelCard, ModelsMessage } from '../kernel/protocol';

export type Listener = () => void;

/** A minimal change notifier shared by the store and the preview cache. */
export class Emitter {
  private listeners = new Set<Listener>();
  /** Increases with every change. */
  version = 0;
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  protected emit(): void {
    this.version++;
    for (const fn of [...this.listeners]) fn();
  }
}

export class CardStore extends Emitter {
  private cards = new Map<string, ModelCard>();
  private cachedList: ModelCard[] | null = null;
  /** Whether any `models` message arrived (false: the kernel has not sent the list yet). */
  received = false;
  /** The kernel's count once the current batch is complete. */
  total = 0;
  /** True while a batch split over several messages is still arriving. */
  loading = false;

  get size(): number {
    return this.cards.size;
  }

  get(id: string): ModelCard | undefined {
    return this.cards.get(id);
  }

  /** Every card, in arrival order (cached until the next change). */
  list(): ModelCard[] {
    if (!this.cachedList) this.cachedList = [...this.cards.values()];
    return this.cachedList;
  }

  apply(msg: ModelsMessage): void {
    if (msg.reset) this.cards.clear();
    for (const id of msg.remove ?? []) this.cards.delete(id);
    for (const card of msg.upsert ?? []) {
      if (card && typeof card.id === 'string') this.cards.set(card.id, card);
    }
    this.received = true;
    this.total = typeof msg.total === 'number' ? msg.total : this.cards.size;
    this.loading = msg.more === true;
    this.cachedList = null;
    this.emit();
  }

  /** Replaces one card (a request's result carries the new card before the delta does). */
  put(card: ModelCard): void {
    this.cards.set(card.id, card);
    this.cachedList = null;
    this.emit();
  }
}
