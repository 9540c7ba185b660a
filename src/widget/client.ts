/**
 * What the panel's components talk to, whatever carries the messages: the
 * synced state and its change events, requests that resolve with their
 * replies, and the preview cache fed by preview bytes (cards come in
 * windows, see window-cache.ts). Each host has a thin adapter that implements it:
 * `model.ts` (a @jupyter-widgets/base DOMWidgetModel: JupyterLab, classic
 * pages) and `anywidget.ts` (anywidget's model proxy: Colab, VS Code).
 */
import type { ModelCard, PanelRequest, PanelSettings, PanelState, ReplyMessage, RequestType } from '../kernel/protocol';
import type { LocalErrors } from './local-errors';
import type { PreviewCache } from './previews';

/** A request's fields besides `type` and `requestId`. */
export type RequestPayload<T extends RequestType> = Omit<Extract<PanelRequest, { type: T }>, 'type' | 'requestId'>;

export interface RequestOptions {
  /** Show a failed reply in the error banner (default true; dialogs show their own). */
  report?: boolean;
  /** Called with the request's id as it goes out (to match messages the kernel sends while it runs). */
  onRequestId?: (requestId: string) => void;
}

export type Buffers = (ArrayBuffer | ArrayBufferView)[];

/** What asking for a preview needs of a card: a grid card or a full one. */
export type PreviewCard = Pick<ModelCard, 'id' | 'preview'>;

export interface PanelClient {
  /** True when the host refuses every change (`modeldeck serve --read-only`): the panel shows no control that would make one. */
  readonly readOnly?: boolean;
  readonly previews: PreviewCache;
  readonly localErrors: LocalErrors;
  /** A typed read of a state key. */
  state<K extends keyof PanelState>(key: K): PanelState[K];
  /** `change:<key>` events of the synced state. */
  on(event: string, fn: () => void): void;
  off(event: string, fn: () => void): void;
  /** Changes settings (the only key the kernel lets the widget write). */
  setSettings(change: Partial<PanelSettings>): void;
  /** Sends a request; resolves with the reply, never rejects. */
  request<T extends RequestType>(type: T, payload: RequestPayload<T>, buffers?: Buffers, options?: RequestOptions): Promise<ReplyMessage>;
  /** Asks for the previews of these cards that are neither cached nor already asked for. */
  requestPreviews(cards: readonly PreviewCard[]): void;
  /** Calls `fn` with every custom message's content from the kernel (window pushes); returns the unsubscribe. */
  onCustom(fn: (content: unknown) => void): () => void;
  /** Asks the kernel for the full state and every card again (after a missed start). */
  resync(): void;
  /** Adds an error to the banner unless the kernel already lists the same one. */
  report(code: string, message: string, requestId?: string | number): void;
}
