/**
 * The panel's widget model for @jupyter-widgets/base managers (JupyterLab,
 * classic pages, html-manager): the `PanelClient` adapter over a
 * DOMWidgetModel. The synced state is the Backbone state; requests, previews and local errors live in the shared `ClientCore`.
 */
import { DOMWidgetModel, type ISerializers } from '@jupyter-widgets/base';
import type { PanelSettings, PanelState, ReplyMessage, RequestType } from '../kernel/protocol';
import { MODEL_NAME, VIEW_NAME } from '../kernel/protocol';
import type { Buffers, PanelClient, PreviewCard, RequestOptions, RequestPayload } from './client';
import { ClientCore } from './client-core';
import type { LocalErrors } from './local-errors';
import type { PreviewCache } from './previews';
import { MODULE_NAME, MODULE_VERSION_RANGE } from './version';

export type { RequestOptions, RequestPayload } from './client';
export { LocalErrors } from './local-errors';

export class ModelsPanelModel extends DOMWidgetModel implements PanelClient {
  static serializers: ISerializers = { ...DOMWidgetModel.serializers };
  static model_name = MODEL_NAME;
  static model_module = MODULE_NAME;
  static model_module_version = MODULE_VERSION_RANGE;
  static view_name = VIEW_NAME;
  static view_module = MODULE_NAME;
  static view_module_version = MODULE_VERSION_RANGE;

  // Set in initialize(): Backbone calls it from the base constructor, before class fields would be.
  declare private core: ClientCore;

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
    this.core = new ClientCore({
      send: (content, buffers) => {
        if (this.comm_live === false) return false;
        this.send(content as never, undefined, buffers as ArrayBuffer[] | undefined);
        return true;
      },
      kernelErrors: () => this.state('errors') ?? [],
    });
    this.on('msg:custom', (content: unknown, buffers?: unknown[]) => this.core.receive(content, buffers));
    this.on('comm:close', () => this.core.failPending('closed', 'the kernel closed this panel'));
  }

  get previews(): PreviewCache {
    return this.core.previews;
  }

  get localErrors(): LocalErrors {
    return this.core.localErrors;
  }

  state<K extends keyof PanelState>(key: K): PanelState[K] {
    return this.get(key) as PanelState[K];
  }

  setSettings(change: Partial<PanelSettings>): void {
    this.set('settings', { ...this.state('settings'), ...change });
    this.save_changes();
  }

  /**
   * Sends a request; resolves with the reply (ok or not). Never rejects: a
   * closed comm resolves with an error reply. Failed replies go to the error
   * banner unless `report` is false.
   */
  request<T extends RequestType>(type: T, payload: RequestPayload<T>, buffers?: Buffers, options: RequestOptions = {}): Promise<ReplyMessage> {
    return this.core.request(type, payload, buffers, options);
  }

  requestPreviews(cards: readonly PreviewCard[]): void {
    this.core.requestPreviews(cards);
  }

  onCustom(fn: (content: unknown) => void): () => void {
    return this.core.onCustom(fn);
  }

  resync(): void {
    if (this.comm) this.comm.send({ method: 'request_state' }, undefined);
  }

  report(code: string, message: string, requestId?: string | number): void {
    this.core.report(code, message, requestId);
  }

  /** Called by the manager when the widget is closed. */
  close(comm_closed?: boolean): Promise<void> {
    this.core?.failPending('closed', 'the panel was closed');
    this.core?.previews.clear();
    return super.close(comm_closed);
  }
}
