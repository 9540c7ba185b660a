/**
 * The `PanelClient` adapter for `modeldeck serve`'s page: requests as POSTs
 * with JSON bodies (answered 202; the reply arrives as an event, like every
 * other message from the session), the session's messages as Server-Sent
 * Events, previews as plain GETs the browser caches. Every URL is relative
 * to the page, so the page works under any path prefix.
 *
 * On start, and whenever the server says the tab fell too far behind
 * (`resync`), the tab loads the snapshot (state and every card, with the
 * event id it was taken at) and follows the stream from that id; a dropped
 * stream reconnects with `Last-Event-ID` and misses nothing.
 */
import type { PanelError, PanelSettings, PanelState, ReplyMessage, RequestType } from '../kernel/protocol';
import type { Buffers, PanelClient, PreviewCard, RequestOptions, RequestPayload } from './client';
import { ClientCore } from './client-core';
import type { LocalErrors } from './local-errors';
import type { PreviewCache } from './previews';

interface Snapshot {
  state: PanelState;
  lastEventId: string;
  readOnly: boolean;
}

/** What the page can observe of the connection (tests and the status line read it). */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

const RETRY_MAX_MS = 10_000;

export class HttpClient implements PanelClient {
  private readonly core: ClientCore;
  private current: Partial<PanelState> = {};
  private readonly listeners = new Map<string, Set<() => void>>();
  private source: EventSource | null = null;
  private lastEventId = '';
  private retryMs = 500;
  private stopped = false;
  readOnly = false;
  connection: ConnectionState = 'connecting';
  /** Snapshots loaded so far (the first, plus one per resync). */
  snapshots = 0;

  /** `token`: the access token the page was opened with, sent as a header (a page in a cross-site frame gets no SameSite cookie). */
  constructor(private readonly token: string | null = null) {
    this.core = new ClientCore({
      send: (content, buffers) => {
        if (buffers && buffers.length) return false; // No request of the served panel carries bytes.
        void this.post('api/request', content, (content as { requestId?: string }).requestId, (content as { type?: RequestType }).type);
        return true;
      },
      kernelErrors: () => (this.current.errors as PanelError[] | undefined) ?? [],
    });
  }

  get previews(): PreviewCache {
    return this.core.previews;
  }

  get localErrors(): LocalErrors {
    return this.core.localErrors;
  }

  /** Loads the snapshot and opens the event stream. */
  async start(): Promise<void> {
    await this.load();
  }

  state<K extends keyof PanelState>(key: K): PanelState[K] {
    return this.current[key] as PanelState[K];
  }

  on(event: string, fn: () => void): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
  }

  off(event: string, fn: () => void): void {
    this.listeners.get(event)?.delete(fn);
  }

  setSettings(change: Partial<PanelSettings>): void {
    const settings = { ...this.state('settings'), ...change };
    // Shown at once; the server's echo (the value it kept) follows as an event.
    this.applyState({ settings });
    void this.post('api/settings', { settings });
  }

  request<T extends RequestType>(type: T, payload: RequestPayload<T>, buffers?: Buffers, options: RequestOptions = {}): Promise<ReplyMessage> {
    return this.core.request(type, payload, buffers, options);
  }

  onCustom(fn: (content: unknown) => void): () => void {
    return this.core.onCustom(fn);
  }

  requestPreviews(cards: readonly PreviewCard[]): void {
    const byId = new Map(cards.map((c) => [c.id, c]));
    for (const batch of this.core.previews.take(cards)) for (const id of batch) void this.fetchPreview(byId.get(id)!);
  }

  resync(): void {
    void this.load();
  }

  report(code: string, message: string, requestId?: string | number): void {
    this.core.report(code, message, requestId);
  }

  /** Stops listening (the page is going away). */
  dispose(): void {
    this.stopped = true;
    this.source?.close();
    this.core.failPending('closed', 'the page was closed');
    this.core.previews.clear();
  }

  // ---------------------------------------------------------------------------

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, 'X-Modeldeck-Token': this.token } : extra;
  }

  private async load(): Promise<void> {
    this.source?.close();
    this.source = null;
    let snap: Snapshot;
    try {
      const res = await fetch('api/snapshot', { headers: this.headers(), cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok) throw new Error(await errorText(res));
      snap = (await res.json()) as Snapshot;
    } catch (err) {
      this.connection = 'reconnecting';
      this.emit('change:connection');
      this.retryLater(() => this.load(), err);
      return;
    }
    this.snapshots++;
    this.readOnly = snap.readOnly;
    this.applyState(snap.state);
    this.lastEventId = snap.lastEventId;
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const params = new URLSearchParams({ since: this.lastEventId });
    if (this.token) params.set('token', this.token);
    const source = new EventSource(`api/events?${params}`);
    this.source = source;
    source.onopen = () => {
      this.retryMs = 500;
      this.connection = 'open';
      this.emit('change:connection');
    };
    source.onmessage = (e: MessageEvent<string>) => {
      if (e.lastEventId) this.lastEventId = e.lastEventId;
      this.receive(e.data);
    };
    source.addEventListener('resync', () => {
      source.close();
      void this.load();
    });
    source.onerror = () => {
      this.connection = 'reconnecting';
      this.emit('change:connection');
      // EventSource retries by itself (with Last-Event-ID) after a dropped stream; after a refusal (503, 403) it gives up.
      if (source.readyState === EventSource.CLOSED && this.source === source) this.retryLater(() => this.connectAgain(), null);
    };
  }

  /** A new stream from the last event seen (EventSource gave up: its own retry would not send the id in the URL). */
  private connectAgain(): void {
    this.source?.close();
    this.connect();
  }

  private retryLater(fn: () => void | Promise<void>, _err: unknown): void {
    if (this.stopped) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    setTimeout(() => void fn(), wait);
  }

  private receive(raw: string): void {
    let payload: { m?: { method?: string; state?: Record<string, unknown>; content?: unknown }; b?: string[] };
    try {
      payload = JSON.parse(raw);
    } catch {
      return;
    }
    const m = payload.m;
    if (!m || typeof m !== 'object') return;
    if ((m.method === 'update' || m.method === 'echo_update') && m.state && typeof m.state === 'object') {
      this.applyState(m.state as Partial<PanelState>);
    } else if (m.method === 'custom') {
      this.core.receive(m.content, (payload.b ?? []).map(fromBase64));
    }
  }

  private applyState(state: Partial<PanelState>): void {
    const changed: string[] = [];
    for (const [k, v] of Object.entries(state)) {
      if (JSON.stringify((this.current as Record<string, unknown>)[k]) === JSON.stringify(v)) continue;
      (this.current as Record<string, unknown>)[k] = v;
      changed.push(k);
    }
    for (const k of changed) this.emit(`change:${k}`);
  }

  private emit(event: string): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) fn();
  }

  private async post(url: string, body: unknown, requestId?: string, type?: RequestType): Promise<void> {
    let failure: { code: string; message: string } | null = null;
    try {
      const res = await fetch(url, { method: 'POST', headers: this.headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body), credentials: 'same-origin' });
      if (!res.ok) failure = await errorOf(res);
    } catch (err) {
      failure = { code: 'network', message: `the server did not answer (${(err as Error).message})` };
    }
    if (!failure) return;
    if (requestId !== undefined && type !== undefined) this.core.receive({ type: 'reply', requestId, request: type, ok: false, error: failure }, undefined);
    else this.report(failure.code, failure.message);
  }

  private async fetchPreview(card: PreviewCard): Promise<void> {
    const base = { type: 'preview' as const, id: card.id, preview: card.preview, size: 0 };
    try {
      // The browser's HTTP cache keeps the bytes (ETag); the object URL is made here as for the notebook panel.
      const res = await fetch(`api/previews/${encodeURIComponent(card.id)}`, { headers: this.headers(), credentials: 'same-origin' });
      if (!res.ok) {
        const e = await errorOf(res);
        this.core.previews.accept({ ...base, mime: null, error: e.message }, undefined);
        return;
      }
      const bytes = await res.arrayBuffer();
      this.core.previews.accept({ ...base, mime: res.headers.get('Content-Type'), size: bytes.byteLength }, [bytes]);
    } catch {
      this.core.previews.release([card.id]);
    }
  }
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error && typeof body.error.message === 'string') return { code: String(body.error.code ?? res.status), message: body.error.message };
  } catch {
    // Not our JSON (a proxy's error page).
  }
  return { code: `http_${res.status}`, message: `the server answered ${res.status} ${res.statusText}` };
}

async function errorText(res: Response): Promise<string> {
  return (await errorOf(res)).message;
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
