/**
 * The `PanelClient` adapter over anywidget's model proxy (Colab, VS Code,
 * JupyterLab with anywidget): `get`/`set`/`save_changes`, `on('change:x')`,
 * `on('msg:custom', (content, buffers))` and `send(content, callbacks, buffers)`.
 * The proxy gives the module no raw comm, so a full resync is asked for with
 * the custom message `{type: 'request_state'}` (the Python relay's Node host
 * turns it into the `request_state` method).
 */
import type { PanelSettings, PanelState, ReplyMessage, RequestType } from '../kernel/protocol';
import type { Buffers, PanelClient, PreviewCard, RequestOptions, RequestPayload } from './client';
import { ClientCore } from './client-core';
import type { LocalErrors } from './local-errors';
import type { PreviewCache } from './previews';

/** The part of anywidget's model this adapter uses. */
export interface AnyModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  save_changes(): void;
  on(event: string, fn: (...args: any[]) => void): void;
  off(event?: string | null, fn?: ((...args: any[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: (ArrayBuffer | ArrayBufferView)[]): void;
}

export class AnywidgetClient implements PanelClient {
  private readonly core: ClientCore;
  private readonly onMessage = (content: unknown, buffers?: unknown[]) => this.core.receive(content, buffers);

  constructor(private readonly model: AnyModel) {
    this.core = new ClientCore({
      send: (content, buffers) => {
        this.model.send(content, undefined, buffers);
        return true;
      },
      kernelErrors: () => this.state('errors') ?? [],
    });
    model.on('msg:custom', this.onMessage);
    // anywidget's proxy passes other events to the Backbone model: a closed comm ends waiting requests.
    model.on('comm:close', this.onClose);
  }

  private readonly onClose = () => this.core.failPending('closed', 'the kernel closed this panel');

  get previews(): PreviewCache {
    return this.core.previews;
  }

  get localErrors(): LocalErrors {
    return this.core.localErrors;
  }

  state<K extends keyof PanelState>(key: K): PanelState[K] {
    return this.model.get(key) as PanelState[K];
  }

  on(event: string, fn: () => void): void {
    this.model.on(event, fn);
  }

  off(event: string, fn: () => void): void {
    this.model.off(event, fn);
  }

  setSettings(change: Partial<PanelSettings>): void {
    this.model.set('settings', { ...this.state('settings'), ...change });
    this.model.save_changes();
  }

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
    this.model.send({ type: 'request_state' });
  }

  report(code: string, message: string, requestId?: string | number): void {
    this.core.report(code, message, requestId);
  }

  /** The model is going away: stop listening, revoke preview URLs. */
  dispose(): void {
    this.model.off('msg:custom', this.onMessage);
    this.model.off('comm:close', this.onClose);
    this.core.failPending('closed', 'the panel was closed');
    this.core.previews.clear();
  }
}
