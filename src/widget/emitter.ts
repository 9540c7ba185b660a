/**
 * A minimal change notifier: a version counter and listeners. Components
 * subscribe, read `version` and recompute only when it moved (the preview
 * cache and local errors are built on it).
 */
export type Listener = () => void;

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
