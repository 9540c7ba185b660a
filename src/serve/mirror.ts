/**
 * What every tab needs on arrival: the panel's state and every card, kept by
 * applying the session's own outgoing messages (so the session needs no
 * second way to say what it holds). A tab loads this snapshot, then follows
 * the event stream from the snapshot's event id.
 */
import type { ModelCard, ModelsMessage, PanelState } from '../kernel/protocol';

export class SessionMirror {
  private state: Record<string, unknown> = {};
  private readonly cards = new Map<string, ModelCard>();
  private cardsReceived = false;

  /** A message the session sent on its comm (`comm_open` data, `update`, `echo_update`, `custom`). */
  apply(data: unknown): void {
    const d = data as { method?: unknown; state?: unknown; content?: unknown } | null;
    if (!d || typeof d !== 'object') return;
    if ((d.method === 'update' || d.method === 'echo_update' || d.method === undefined) && isObject(d.state)) {
      this.state = { ...this.state, ...(d.state as Record<string, unknown>) };
      return;
    }
    if (d.method === 'custom' && isObject(d.content) && (d.content as { type?: unknown }).type === 'models') this.applyModels(d.content as ModelsMessage);
  }

  snapshot(): { state: PanelState; cards: ModelCard[]; cardsReceived: boolean } {
    return { state: this.state as unknown as PanelState, cards: [...this.cards.values()], cardsReceived: this.cardsReceived };
  }

  get cardCount(): number {
    return this.cards.size;
  }

  private applyModels(msg: ModelsMessage): void {
    if (msg.reset) this.cards.clear();
    this.cardsReceived = true;
    for (const id of msg.remove ?? []) this.cards.delete(id);
    for (const card of msg.upsert ?? []) this.cards.set(card.id, card);
  }
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
