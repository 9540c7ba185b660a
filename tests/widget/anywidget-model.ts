/**
 * A stand-in for anywidget's model proxy (what anywidget hands `initialize`
 * and `render`), wired to the same MockComm as the ipywidgets route: `send`
 * becomes a `custom` comm message with buffers, `save_changes` an `update` of
 * the keys set since, and the kernel's `update` / `custom` messages become
 * `change:<key>` / `msg:custom` events. So the component tests drive the
 * panel through the anywidget adapter with the same kernel-side doubles.
 */
import type { MockComm } from './helpers';

type Fn = (...args: any[]) => void;

export class FakeAnyModel {
  /** Listeners by event, in the shape Backbone keeps them (the lifecycle test reads it). */
  _events: Record<string, { callback: Fn }[]> = {};
  private attrs: Record<string, unknown>;
  private changed: Record<string, unknown> = {};

  constructor(private readonly comm: MockComm, state: Record<string, unknown>) {
    this.attrs = { ...state };
    comm.on_msg((msg) => this.fromKernel(msg.content.data, msg.buffers ?? []));
    comm.on_close(() => this.emit('comm:close'));
  }

  get(key: string): unknown {
    return this.attrs[key];
  }

  set(key: string, value: unknown): void {
    this.attrs[key] = value;
    this.changed[key] = value;
    this.emit(`change:${key}`);
  }

  save_changes(): void {
    const state = this.changed;
    this.changed = {};
    this.comm.send({ method: 'update', state, buffer_paths: [] });
  }

  send(content: unknown, _callbacks?: unknown, buffers?: (ArrayBuffer | ArrayBufferView)[]): void {
    this.comm.send({ method: 'custom', content }, undefined, undefined, buffers ?? []);
  }

  on(event: string, fn: Fn): void {
    (this._events[event] ??= []).push({ callback: fn });
  }

  off(event?: string | null, fn?: Fn | null): void {
    if (!event) return;
    this._events[event] = (this._events[event] ?? []).filter((l) => fn && l.callback !== fn);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const l of [...(this._events[event] ?? [])]) l.callback(...args);
  }

  private fromKernel(data: any, buffers: unknown[]): void {
    if (data?.method === 'update' || data?.method === 'echo_update') {
      for (const [k, v] of Object.entries(data.state ?? {})) {
        this.attrs[k] = v;
        this.emit(`change:${k}`);
      }
    } else if (data?.method === 'custom') {
      // anywidget hands the module DataViews.
      this.emit('msg:custom', data.content, buffers.map((b) => (b instanceof DataView ? b : new DataView(b as ArrayBuffer))));
    }
  }
}
