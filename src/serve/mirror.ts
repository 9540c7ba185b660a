/**
 * What every tab needs on arrival: the panel's synced state, kept by applying
 * the session's own outgoing messages (so the session needs no second way to
 * say what it holds). A tab loads this snapshot, then follows the event stream
 * from the snapshot's event id; its cards it asks for as windows, like every
 * other host's page (the kernel answers queries).
 */
import type { PanelState } from '../kernel/protocol';

export class SessionMirror {
  private state: Record<string, unknown> = {};

  /** A message the session sent on its comm (`comm_open` data, `update`, `echo_update`, `custom`). */
  apply(data: unknown): void {
    const d = data as { method?: unknown; state?: unknown; content?: unknown } | null;
    if (!d || typeof d !== 'object') return;
    if ((d.method === 'update' || d.method === 'echo_update' || d.method === undefined) && isObject(d.state)) {
      this.state = { ...this.state, ...(d.state as Record<string, unknown>) };
    }
  }

  snapshot(): { state: PanelState } {
    return { state: this.state as unknown as PanelState };
  }
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
