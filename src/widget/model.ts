/**
 * The panel's widget model: the synced state (`PanelState`), the card store fed
 * by `models` deltas, the preview cache fed by `preview` messages, and
 * `request()`, which sends a custom request and resolves with the kernel's reply
 * carrying the same `requestId`.
 */
import { DOMWidgetModel, type ISerializers } from '@jupyter-widgets/base';
import type {
  KernelMessage,
  ModelCard,
  PanelError,
  PanelRequest,
  PanelSettings,
  PanelState,
  ReplyMessage,
  RequestType,
} from '../kernel/protocol';
import { MODEL_NAME, VIEW_NAME } from '../kernel/protocol';
import { PreviewCache } from './previews';
import { CardStore, Emitter } from './store';
import { MODULE_NAME, MODULE_VERSION_RANGE } from './version';

/** A request's fields besides `type` and `requestId`. */
export type RequestPayload<T extends RequestType> = Omit<Extract<PanelRequest, { type: T }>, 'type' | 'requestId'>;

export interface RequestOptions {
  /** Show a failed reply in the error banner (default true; dialogs show their own). */
  report?: boolean;
}

/** Errors the widget itself noticed (failed replies, a closed comm): shown with the kernel's, dismissed locally. */
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

interface Pending {
  resolve: (reply: ReplyMessage) => void;
  report: boolean;
  type: RequestType;
}

export class ModelsPanelModel extends DOMWidgetModel {
  static serializers: ISerializers = { ...DOMWidgetModel.serializers };
  static model_name = MODEL_NAME;
  static model_module = MODULE_NAME;
  static model_module_version = MODULE_VERSION_RANGE;
  static view_name = VIEW_NAME;
  static view_module = MODULE_NAME;
  static view_module_version = MODULE_VERSION_RANGE;

  // Set in initialize(): Backbone calls it from the base constructor, before class fields would be.
  declare store: CardStore;
  declare previews: PreviewCache;
  declare localErrors: LocalErrors;
  declare private pending: Map<string, Pending>;
  declare private requestSerial: number;
  declare private requestPrefix: string;

  defaults(): Backbone.ObjectHash {
    return {
      ...super.defaults(),
      _model_name: ModelsPanelModel.model_name,
      _model_module: ModelsPanelModel.model_module,
      _model_module_version: ModelsPanelModel.model_module_version,
      _view_name: ModelsPanelModel.view_name,
      _view_module: ModelsPanelModel.view_module,
      _view_module_version: ModelsPanelModel.view_module_version,
      protocol: 0,
      roots: [],
      progress: null,
      errors: [],
      summary: { ready: false, models: 0, bytes: 0, byStatus: {}, byKind: {}, civitai: true, tokenSet: false, lastScan: null },
      settings: { nsfwLevel: 2, previews: true, offline: false },
    };
  }

  initialize(attributes: Backbone.ObjectHash, options: Parameters<DOMWidgetModel['initialize']>[1]): void {
    super.initialize(attributes, options);
    this.store = new CardStore();
    this.previews = new PreviewCache();
    this.localErrors = new LocalErrors();
    this.pending = new Map();
    this.requestSerial = 0;
    // Two pages showing the same kernel widget see each other's replies: ids must not collide.
    this.requestPrefix = Math.random().toString(36).slice(2, 8);
    this.on('msg:custom', (content: unknown, buffers?: unknown[]) => this.onCustom(content, buffers));
    this.on('comm:close', () => this.failPending('closed', 'the kernel closed this panel'));
  }

  /** A typed read of a state key. */
  state<K extends keyof PanelState>(key: K): PanelState[K] {
    return this.get(key) as PanelState[K];
  }

  /** Changes settings (the only key the kernel lets the widget write). */
  setSettings(change: Partial<PanelSettings>): void {
    this.set('settings', { ...this.state('settings'), ...change });
    this.save_changes();
  }

  /**
   * Sends a request; resolves with the reply (ok or not). Never rejects: a
   * closed comm resolves with an error reply. Failed replies go to the error
   * banner unless `report` is false.
   */
  request<T extends RequestType>(type: T, payload: RequestPayload<T>, buffers?: (ArrayBuffer | ArrayBufferView)[], options: RequestOptions = {}): Promise<ReplyMessage> {
    const requestId = `${this.requestPrefix}-${++this.requestSerial}`;
    return new Promise<ReplyMessage>((resolve) => {
      if (this.comm_live === false) {
        resolve(this.failedReply(requestId, type, 'closed', 'the panel is not connected to a kernel'));
        return;
      }
      this.pending.set(requestId, { resolve, report: options.report !== false, type });
      this.send({ ...payload, type, requestId }, undefined, buffers as ArrayBuffer[] | undefined);
    });
  }

  /** Asks for the previews of these cards that are neither cached nor already asked for. */
  requestPreviews(cards: readonly Pick<ModelCard, 'id' | 'preview'>[]): void {
    for (const ids of this.previews.take(cards)) {
      void this.request('previews', { ids }, undefined, { report: false }).then(() => this.previews.release(ids));
    }
  }

  /** Asks the kernel for the full state and every card again (after a missed start). */
  resync(): void {
    if (this.comm) this.comm.send({ method: 'request_state' }, undefined);
  }

  private onCustom(content: unknown, buffers: unknown[] | undefined): void {
    if (typeof content !== 'object' || content === null) return;
    const msg = content as KernelMessage;
    switch (msg.type) {
      case 'models':
        this.store.apply(msg);
        return;
      case 'preview':
        if (typeof msg.id === 'string') this.previews.accept(msg, buffers);
        return;
      case 'reply':
        this.onReply(msg);
        return;
    }
  }

  private onReply(reply: ReplyMessage): void {
    const key = reply.requestId === null ? null : String(reply.requestId);
    const p = key === null ? undefined : this.pending.get(key);
    if (!p) return; // Another page's request, or one already given up.
    this.pending.delete(key!);
    if (!reply.ok && p.report) this.report(reply.error.code, reply.error.message, reply.requestId ?? undefined);
    p.resolve(reply);
  }

  /** Adds an error to the banner unless the kernel already lists the same one. */
  report(code: string, message: string, requestId?: string | number): void {
    const kernel = this.state('errors') ?? [];
    if (kernel.some((e) => e.code === code && e.message === message)) return;
    this.localErrors.push(code, message, requestId);
  }

  private failedReply(requestId: string, type: RequestType, code: string, message: string): ReplyMessage {
    return { type: 'reply', requestId, request: type, ok: false, error: { code, message } };
  }

  private failPending(code: string, message: string): void {
    const all = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, p] of all) p.resolve(this.failedReply(id, p.type, code, message));
    if (all.length) this.localErrors.push(code, message);
  }

  /** Called by the manager when the widget is closed. */
  close(comm_closed?: boolean): Promise<void> {
    this.failPending('closed', 'the panel was closed');
    this.previews?.clear();
    return super.close(comm_closed);
  }
}
