/**
 * Test doubles for the widget: a comm that records what the widget sends, a
 * widget manager over it, a model and view rendered into the jsdom page, and
 * helpers that play the kernel's part (deltas, replies, previews, state).
 */
import * as base from '@jupyter-widgets/base';
import { ManagerBase } from '@jupyter-widgets/base-manager';
import { act } from 'preact/test-utils';
import type { KernelMessage, ModelCard, PanelRequest, PanelState } from '../../src/kernel/protocol';
import type { PanelClient } from '../../src/widget/client';
import panelModule, { clientOf } from '../../src/widget/esm';
import { ModelsPanelModel } from '../../src/widget/model';
import { ModelsPanelView } from '../../src/widget/view';
import { FakeAnyModel } from './anywidget-model';

/**
 * Which adapter the panel runs on: the @jupyter-widgets/base model and view
 * (default), or anywidget's `initialize`/`render` contract (the
 * `widget-anywidget` jest project sets MODELDECK_TEST_ADAPTER). Every
 * component test runs on both.
 */
export const ADAPTER = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.MODELDECK_TEST_ADAPTER === 'anywidget' ? 'anywidget' : 'ipywidgets';

/** Whether the panel asked the kernel for the whole state again (a comm method, or anywidget's custom message). */
export function askedForState(comm: MockComm): boolean {
  return comm.sent.some((s) => s.data?.method === 'request_state' || (s.data?.method === 'custom' && s.data.content?.type === 'request_state'));
}

export interface Sent {
  data: any;
  buffers: (ArrayBuffer | ArrayBufferView)[];
}

export class MockComm implements base.IClassicComm {
  comm_id = `mock-${Math.random().toString(36).slice(2)}`;
  target_name = 'jupyter.widget';
  sent: Sent[] = [];
  private msgHandler: ((msg: any) => void) | null = null;
  private closeHandler: ((msg: any) => void) | null = null;
  open(): string {
    return 'open';
  }
  send(data: any, _callbacks?: unknown, _metadata?: unknown, buffers?: (ArrayBuffer | ArrayBufferView)[]): string {
    this.sent.push({ data, buffers: buffers ?? [] });
    return `msg-${this.sent.length}`;
  }
  close(): string {
    this.closeHandler?.({ content: { comm_id: this.comm_id, data: {} } });
    return 'close';
  }
  on_msg(fn: (msg: any) => void): void {
    this.msgHandler = fn;
  }
  on_close(fn: (msg: any) => void): void {
    this.closeHandler = fn;
  }
  /** A message from the kernel, as the manager delivers it. */
  receive(data: unknown, buffers: (ArrayBuffer | DataView)[] = []): void {
    this.msgHandler?.({ content: { comm_id: this.comm_id, data }, buffers, parent_header: {} });
  }
  /** The custom requests the widget sent. */
  requests(type?: string): (PanelRequest & { buffers: Sent['buffers'] })[] {
    return this.sent
      .filter((s) => s.data?.method === 'custom' && (!type || s.data.content?.type === type))
      .map((s) => ({ ...s.data.content, buffers: s.buffers }));
  }
}

class TestManager extends ManagerBase {
  protected async loadClass(className: string, moduleName: string): Promise<any> {
    if (moduleName === '@jupyter-widgets/base') return (base as any)[className];
    if (className === 'ModelsPanelModel') return ModelsPanelModel;
    if (className === 'ModelsPanelView') return ModelsPanelView;
    throw new Error(`no class ${className} in ${moduleName}`);
  }
  protected async _create_comm(): Promise<base.IClassicComm> {
    return new MockComm();
  }
  protected async _get_comm_info(): Promise<{}> {
    return {};
  }
}

export function card(i: number, over: Partial<ModelCard> = {}): ModelCard {
  const name = `Model ${String(i).padStart(5, '0')}`;
  return {
    id: `0:loras/model-${i}.safetensors`,
    root: 0,
    path: `loras/model-${i}.safetensors`,
    file: `model-${i}.safetensors`,
    name,
    kind: 'lora',
    baseModel: 'sdxl',
    folderKind: 'lora',
    size: 1000 + i,
    addedAt: 1_700_000_000_000 + i * 1000,
    mtimeMs: 1_700_000_000_000,
    status: ['identified'],
    verified: true,
    hashes: { SHA256: 'A'.repeat(64), AutoV2: 'A'.repeat(10) },
    hashSources: { SHA256: 'computed', AutoV2: 'computed' },
    civitai: {
      state: 'found',
      modelId: 100 + i,
      versionId: 1000 + i,
      modelName: null,
      versionName: null,
      type: 'LORA',
      baseModel: 'SDXL 1.0',
      nsfwLevel: 1,
      pageUrl: `https://civitai.com/models/${100 + i}?modelVersionId=${1000 + i}`,
      matchedBy: 'SHA256',
      checkedAt: 1_700_000_000_000,
      lastError: null,
    },
    trainedWords: [],
    manualLink: null,
    preview: `model-${i}.preview.png`,
    warnings: [],
    conflicts: [],
    ...over,
  };
}

export interface Panel {
  model: PanelClient;
  /** The synced model's listeners by event. */
  listeners(): Record<string, unknown[]>;
  comm: MockComm;
  el: HTMLElement;
  /** Plays a kernel message. */
  kernel(msg: KernelMessage, buffers?: (ArrayBuffer | DataView)[]): void;
  /** Plays a kernel `update` of state keys. */
  update(state: Partial<PanelState>): void;
  /** Answers the latest request of a type. */
  reply(type: string, result?: unknown, error?: { code: string; message: string }): Promise<void>;
  models(cards: ModelCard[], extra?: { reset?: true; remove?: string[] }): void;
  cards(): HTMLElement[];
  titles(): string[];
  close(): void;
}

interface Mounted {
  model: PanelClient;
  el: HTMLElement;
  unmount(): void;
  /** The synced model's listeners by event (Backbone's `_events` shape). */
  listeners(): Record<string, unknown[]>;
}

const INITIAL_SUMMARY = { ready: true, models: 0, bytes: 0, byStatus: {}, byKind: {}, civitai: true, tokenSet: false, lastScan: null };

async function mountIpywidgets(comm: MockComm, state: Partial<PanelState>): Promise<Mounted> {
  const model = new ModelsPanelModel({ summary: INITIAL_SUMMARY, roots: ['/content/models'], ...state } as any, { widget_manager: new TestManager(), model_id: comm.comm_id, comm } as any);
  const view = new ModelsPanelView({ model } as any);
  document.body.appendChild(view.el);
  await act(async () => {
    view.render();
  });
  return { model, el: view.el, unmount: () => view.remove(), listeners: () => (model as any)._events };
}

async function mountAnywidget(comm: MockComm, state: Partial<PanelState>): Promise<Mounted> {
  const defaults = new ModelsPanelModel({}, { widget_manager: new TestManager(), model_id: 'defaults', comm: new MockComm() } as any).defaults();
  const model = new FakeAnyModel(comm, { ...defaults, summary: INITIAL_SUMMARY, roots: ['/content/models'], ...state });
  const el = document.createElement('div');
  document.body.appendChild(el);
  const dispose = panelModule.initialize({ model });
  let cleanup: (() => void) | undefined;
  await act(async () => {
    cleanup = panelModule.render({ model, el });
  });
  return {
    model: clientOf(model),
    el,
    listeners: () => model._events,
    unmount: () => {
      cleanup?.();
      dispose();
    },
  };
}

export async function openPanel(state: Partial<PanelState> = {}): Promise<Panel> {
  const comm = new MockComm();
  const mounted = ADAPTER === 'anywidget' ? await mountAnywidget(comm, state) : await mountIpywidgets(comm, state);
  const { model, el } = mounted;
  const panel: Panel = {
    model,
    listeners: () => mounted.listeners(),
    comm,
    el,
    kernel(msg, buffers = []) {
      act(() => comm.receive({ method: 'custom', content: msg }, buffers));
    },
    update(s) {
      act(() => comm.receive({ method: 'update', state: s, buffer_paths: [] }));
    },
    async reply(type, result, error) {
      const req = comm.requests(type).pop();
      if (!req) throw new Error(`no ${type} request was sent`);
      const msg: KernelMessage = error
        ? { type: 'reply', requestId: req.requestId, request: type, ok: false, error }
        : { type: 'reply', requestId: req.requestId, request: type, ok: true, ...(result === undefined ? {} : { result }) };
      await act(async () => {
        comm.receive({ method: 'custom', content: msg });
        await flush();
      });
    },
    models(cards, extra = {}) {
      panel.kernel({ type: 'models', upsert: cards, remove: extra.remove ?? [], total: cards.length, ...(extra.reset ? { reset: true } : {}) });
    },
    cards: () => [...el.querySelectorAll<HTMLElement>('.md-card')],
    titles: () => panel.cards().map((c) => c.querySelector('.md-card-title')!.textContent ?? ''),
    close() {
      act(() => mounted.unmount());
      el.remove();
    },
  };
  return panel;
}

/** Lets promises and Preact's deferred renders run. */
export async function flush(ms = 0): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Lets renders, effects and the grid's preview delay run. Two rounds: act()
 * flushes effects at its end, and an effect may start the preview timer.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await act(async () => {
      await flush(60);
    });
  }
}

export function input(el: HTMLInputElement | HTMLSelectElement, value: string): void {
  act(() => {
    el.value = value;
    el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
  });
}

export function click(el: Element | null | undefined): void {
  if (!el) throw new Error('nothing to click');
  act(() => (el as HTMLElement).click());
}

export function byText<T extends HTMLElement = HTMLElement>(root: ParentNode, selector: string, text: string | RegExp): T {
  const found = [...root.querySelectorAll<T>(selector)].find((e) => (typeof text === 'string' ? e.textContent?.trim() === text : text.test(e.textContent ?? '')));
  if (!found) throw new Error(`no ${selector} with text ${text}`);
  return found;
}

export function field<T extends HTMLInputElement | HTMLSelectElement>(root: ParentNode, label: string): T {
  const l = [...root.querySelectorAll('label')].find((x) => x.querySelector('span')?.textContent === label);
  const el = l?.querySelector<T>('input, select');
  if (!el) throw new Error(`no field labelled ${label}`);
  return el;
}

/** Waits (inside act) until `check` returns a value; `ms` only turns a hang into a failure. */
export async function waitFor<T>(check: () => T | undefined | null | false, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > until) throw new Error('waitFor: timed out');
    await act(async () => {
      await flush(10);
    });
  }
}
