/** Errors the widget itself noticed (failed replies, a closed comm): shown with the kernel's, dismissed locally. */
import type { PanelError } from '../kernel/protocol';
import { Emitter } from './emitter';

export class LocalErrors extends Emitter {
  private serial = 0;
  items: PanelError[] = [];
  push(code: string, message: string, requestId?: string | number): void {
    // Negative ids never collide with the kernel's.
    const e: PanelError = { id: -++this.serial, code, message, at: Date.now(), ...(requestId !== undefined ? { requestId } : {}) };
    this.items = [...this.items, e].slice(-20);
    this.emit();
  }
  dismiss(ids?: number[]): void {
    this.items = ids ? this.items.filter((e) => !ids.includes(e.id)) : [];
    this.emit();
  }
}
