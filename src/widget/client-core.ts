/**
 * The host-neutral half of every adapter: requests and their replies, the
 * preview cache and local errors, fed by the kernel's custom
 * messages. An adapter gives it a way to send and the current kernel errors,
 * and hands it every custom message it receives.
 */
import type { KernelMessage, PanelError, ReplyMessage, RequestType } from '../kernel/protocol';
import type { Buffers, PreviewCard, RequestOptions, RequestPayload } from './client';
import { LocalErrors } from './local-errors';
import { PreviewCache } from './previews';

interface Pending {
  resolve: (reply: ReplyMessage) => void;
  report: boolean;
  type: RequestType;
}

export interface CoreHost {
  /** Sends a custom message with buffers; false when nothing is connected. */
  send(content: object, buffers?: Buffers): boolean;
  kernelErrors(): PanelError[];
}

export class ClientCore {
  readonly previews = new PreviewCache();
  readonly localErrors = new LocalErrors();
  private readonly pending = new Map<string, Pending>();
  private readonly customListeners = new Set<(content: unknown) => void>();
  private serial = 0;
  // Two pages showing the same kernel widget see each other's replies: ids must not collide.
  private readonly prefix = Math.random().toString(36).slice(2, 8);

  constructor(private readonly host: CoreHost) {}

  request<T extends RequestType>(type: T, payload: RequestPayload<T>, buffers?: Buffers, options: RequestOptions = {}): Promise<ReplyMessage> {
    const requestId = `${this.prefix}-${++this.serial}`;
    return new Promise<ReplyMessage>((resolve) => {
      this.pending.set(requestId, { resolve, report: options.report !== false, type });
      options.onRequestId?.(requestId);
      if (!this.host.send({ ...payload, type, requestId }, buffers)) {
        this.pending.delete(requestId);
        resolve(failedReply(requestId, type, 'closed', 'the panel is not connected to a kernel'));
      }
    });
  }

  requestPreviews(cards: readonly PreviewCard[]): void {
    for (const ids of this.previews.take(cards)) {
      void this.request('previews', { ids }, undefined, { report: false }).then(() => this.previews.release(ids));
    }
  }

  onCustom(fn: (content: unknown) => void): () => void {
    this.customListeners.add(fn);
    return () => this.customListeners.delete(fn);
  }

  /** A custom message from the kernel. */
  receive(content: unknown, buffers: unknown[] | undefined): void {
    if (typeof content !== 'object' || content === null) return;
    for (const fn of [...this.customListeners]) fn(content);
    const msg = content as KernelMessage;
    switch (msg.type) {
      case 'preview':
        if (typeof msg.id === 'string') this.previews.accept(msg, buffers);
        return;
      case 'reply':
        this.onReply(msg);
        return;
    }
  }

  report(code: string, message: string, requestId?: string | number): void {
    if (this.host.kernelErrors().some((e) => e.code === code && e.message === message)) return;
    this.localErrors.push(code, message, requestId);
  }

  /** Resolves every waiting request with an error reply (the comm closed). */
  failPending(code: string, message: string): void {
    const all = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, p] of all) p.resolve(failedReply(id, p.type, code, message));
    if (all.length) this.localErrors.push(code, message);
  }

  private onReply(reply: ReplyMessage): void {
    const key = reply.requestId === null ? null : String(reply.requestId);
    const p = key === null ? undefined : this.pending.get(key);
    if (!p) return; // Another page's request, or one already given up.
    this.pending.delete(key!);
    if (!reply.ok && p.report) this.report(reply.error.code, reply.error.message, reply.requestId ?? undefined);
    p.resolve(reply);
  }
}

function failedReply(requestId: string, type: RequestType, code: string, message: string): ReplyMessage {
  return { type: 'reply', requestId, request: type, ok: false, error: { code, message } };
}
