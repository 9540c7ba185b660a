/**
 * One models panel: the widget state and the model list of one comm, kept in
 * step with a Library.
 *
 * Transport-agnostic: the session needs only something that opens a comm
 * (`openComm`) and a comm with send / onMessage / onClose. A Jupyter comm, an
 * in-memory pair in tests or a WebSocket adapter all serve.
 *
 * What goes out:
 * - `comm_open` on `jupyter.widget` with metadata `{version: '2.1.0'}` and the
 *   full state;
 * - `update` with changed state keys (progress at most every 100 ms);
 * - `echo_update` for every front-end update, at once, with the kernel's value;
 * - `custom` messages: window answers and changes to the page's window (see
 *   query.ts; the page holds one screen of cards, not the library), previews
 *   (bytes in buffers), replies.
 * Nothing that goes out carries the Civitai token: no state key holds it, and
 * error texts are scrubbed of it.
 */
import { ModeldeckError } from '../../core/errors';
import { ReadSnapshots, type Library, type LibraryModel, type ScanOptions, type ScanReport } from '../../core/library';
import {
  WIDGET_COMM_TARGET,
  WIDGET_PROTOCOL_VERSION,
  type KernelMessage,
  type ModelCard,
  type PanelError,
  type PanelSettings,
  type PanelState,
  type ReplyError,
  type ScanResult,
  type UpdateInfo,
  type UpdatesResult,
  type WindowRequest,
  type WindowResult,
} from '../protocol';
import { CardTracker } from './cards';
import type { SessionComm, SessionCommHost } from './comm-types';
import { handleRequest } from './handle-request';
import { PREVIEW_SEND_MAX_BYTES, type PreviewSource } from './previews';
import { QueryIndex } from './query';
import { Throttle } from './throttle';
import { PageView } from './view';
import { applyUpdate } from './update';
import { DEFAULT_SETTINGS, initialState, relativeToRoots, summarise, toProgress, toScanSummary } from './state';
import { parseMessage } from './validate';
import { DownloadQueue } from './downloads';
import { defineHidden } from '../../core/hidden-field';
import { handleMaintenance } from './maintenance-requests';
import { cacheable, firstWindowOf, loadFirstWindow, saveFirstWindow, type KeptWindow } from './first-window';
import { quickFirstWindow } from './quick-window';
import { queryKey } from './query';

/** Opens the session's library; `snapshots` holds what the session's first look read of the indexes (pass it to Library.open). */
export type LibraryOpener = (snapshots: ReadSnapshots) => Promise<Library>;

export interface ModelSessionOptions {
  /** Starting settings (the widget may change them). */
  settings?: Partial<PanelSettings>;
  /** Whether the library can reach Civitai, and whether a token is set (shown as flags, never the token). */
  civitai?: boolean;
  tokenSet?: boolean;
  /** Strings that must never leave the kernel (the Civitai token): scrubbed from error texts. */
  secrets?: string[];
  /** Largest preview sent to the widget. Default 2 MiB. */
  previewMaxBytes?: number;
  /** Least time between two progress updates. Default 100 ms (at most ~10 a second). */
  progressIntervalMs?: number;
  /** Least time between two model deltas while a scan runs. Default 1000 ms. */
  modelsIntervalMs?: number;
  /** How often to look for changes other processes made to the index (a CLI link). Default 5 s; 0 never. */
  indexPollMs?: number;
  /** Least time between two `downloads` updates while bytes arrive. Default 250 ms (at most 4 a second: the page may be on a slow link). */
  downloadsIntervalMs?: number;
  /**
   * Keep the page's first window beside the index, and answer it from there
   * while the library loads (first-window.ts). Default true; off for a host
   * that must write nothing (`serve --read-only`).
   */
  firstWindowCache?: boolean;
  /** How long after the first change the first window is kept (then at most once per that time). Default 2 s. */
  firstWindowSaveMs?: number;
}

/** Options of a scan started from code (`panel.scan()`). */
export type SessionScanOptions = Pick<ScanOptions, 'offline' | 'refresh' | 'verify' | 'previews' | 'nsfwLevel' | 'signal' | 'onProgress'>;

const MAX_ERRORS = 50;

/** Sessions per library, so that a change made through one panel shows in the others. */
const sessionsByLibrary = new Map<Library, Set<ModelSession>>();

export class ModelSession {
  readonly comm: SessionComm;
  readonly ready: Promise<Library>;
  private lib: Library | null = null;
  private readonly state: PanelState;
  private readonly tracker = new CardTracker();
  /** Search, filters, sort and facets over the cards. */
  private readonly index = new QueryIndex();
  /** The page's window, and what it has been sent of it. */
  private readonly view = new PageView(this.index);
  /** Hidden (hidden-field.ts): a notebook printing the panel must not show the tokens. */
  private declare readonly secrets: string[];
  private readonly previewMaxBytes: number;
  private readonly progressThrottle: Throttle;
  private readonly modelsThrottle: Throttle;
  private scanning: { controller: AbortController; promise: Promise<ScanReport> } | null = null;
  private errorSerial = 0;
  private closedByUs = false;
  private refreshedAt = 0;
  private indexPoll: NodeJS.Timeout | null = null;
  private preparing: NodeJS.Immediate | null = null;
  private readonly indexPollMs: number;
  private readonly downloadsThrottle: Throttle;
  private unsubscribeDownloads: (() => void) | null = null;
  private lastUpdates: UpdatesResult | null = null;
  /** The first window the last panel on this library kept, until the library has loaded. */
  private firstWindow: KeptWindow | null = null;
  /** Settles once the kept first window was read, or the quick one taken, or neither was found. */
  private readonly firstWindowRead: Promise<void>;
  private readonly firstWindowCache: boolean;
  private readonly firstWindowSaveMs: number;
  private firstWindowTimer: NodeJS.Timeout | null = null;
  /** What was kept last (query and index versions), so that an unchanged window is not written again. */
  private firstWindowKept = '';
  /** The query of the page's first request: the one a panel opens with, so the one worth keeping. */
  private openingQuery: WindowRequest['query'] | null = null;

  /**
   * Opens the widget's comm and starts loading the library; the comm opens
   * before this returns. `library` is the library, its opening, or a function
   * that opens it. Given
   * the function, the session opens it only after its first look: the first
   * window kept beside the index, or else a quick look at the index itself
   * (quick-window.ts), which would otherwise share the CPU with the load.
   */
  static open(host: Pick<SessionCommHost, 'openComm'>, roots: string[], library: Library | Promise<Library> | LibraryOpener, options: ModelSessionOptions = {}): ModelSession {
    return new ModelSession(host, roots, library, options);
  }

  private constructor(host: Pick<SessionCommHost, 'openComm'>, roots: string[], open: Library | Promise<Library> | LibraryOpener, options: ModelSessionOptions) {
    defineHidden(this, 'secrets', (options.secrets ?? []).filter((s) => s.length >= 4));
    this.previewMaxBytes = options.previewMaxBytes ?? PREVIEW_SEND_MAX_BYTES;
    this.indexPollMs = options.indexPollMs ?? 5000;
    this.firstWindowCache = options.firstWindowCache ?? true;
    this.firstWindowSaveMs = options.firstWindowSaveMs ?? 2000;
    this.state = initialState(roots, { ...DEFAULT_SETTINGS, ...options.settings }, { civitai: options.civitai ?? true, tokenSet: options.tokenSet ?? false });
    this.progressThrottle = new Throttle(options.progressIntervalMs ?? 100, () => this.sendState(['progress']));
    this.modelsThrottle = new Throttle(options.modelsIntervalMs ?? 1000, () => this.sync());
    this.downloadsThrottle = new Throttle(options.downloadsIntervalMs ?? 250, () => this.sendDownloads());
    this.comm = host.openComm(WIDGET_COMM_TARGET, { state: this.state, buffer_paths: [] }, { metadata: { version: WIDGET_PROTOCOL_VERSION } });
    this.comm.onMessage((data, buffers) => this.onMessage(data, buffers));
    this.comm.onClose(() => this.detach());
    // What the quick look reads of the snapshots, the load parses instead of reading them again (forgotten once open).
    const snapshots = typeof open === 'function' ? new ReadSnapshots() : null;
    this.firstWindowRead = this.readFirstWindow(roots, snapshots).catch(() => undefined);
    const library = typeof open === 'function' ? this.openAfterLook(open, snapshots!) : Promise.resolve(open);
    this.ready = library.then(
      (lib) => {
        try {
          this.attach(lib);
        } catch (err) {
          // Whatever broke, the user sees it in the panel's banner, not only as a rejected promise.
          this.pushError(errorOf(err));
          throw err;
        }
        return lib;
      },
      (err: Error) => {
        this.pushError(errorOf(err));
        throw err;
      },
    );
    // A failed open is reported in `errors` and to whoever awaits `ready`; no unhandled rejection.
    this.ready.catch(() => undefined);
  }

  get id(): string {
    return this.comm.id;
  }

  /** A copy of the current widget state. */
  getState(): PanelState {
    return JSON.parse(JSON.stringify(this.state)) as PanelState;
  }

  get settings(): PanelSettings {
    return { ...this.state.settings };
  }

  get library(): Library | null {
    return this.lib;
  }

  get isScanning(): boolean {
    return this.scanning !== null;
  }

  get closed(): boolean {
    return this.comm.closed || this.closedByUs;
  }

  /**
   * Scans the library; progress goes to the widget as it runs. One scan at a
   * time per panel: a second call while one runs fails with code `busy`.
   */
  async scan(options: SessionScanOptions = {}): Promise<ScanReport> {
    const lib = await this.ready;
    if (this.scanning) throw new ModeldeckError('busy', 'a scan is already running in this panel; wait for it or cancel it');
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
    const startedAt = Date.now();
    const roots = lib.roots;
    this.state.progress = toProgress(
      { phase: 'walk', filesFound: 0, filesToHash: 0, filesHashed: 0, bytesToHash: 0, bytesHashed: 0, bytesPerSecond: 0, etaSeconds: null, lookups: 0, previews: 0 },
      startedAt,
      roots,
      true,
    );
    this.sendState(['progress']);
    const settings = this.state.settings;
    const promise = lib.scan({
      offline: options.offline ?? settings.offline,
      refresh: options.refresh,
      verify: options.verify,
      previews: options.previews ?? settings.previews,
      nsfwLevel: options.nsfwLevel ?? settings.nsfwLevel,
      signal,
      onProgress: (p) => {
        this.state.progress = toProgress(p, startedAt, roots, true);
        this.progressThrottle.schedule();
        this.modelsThrottle.schedule();
        try {
          options.onProgress?.(p);
        } catch {
          // A caller's progress callback cannot stop the scan.
        }
      },
    });
    this.scanning = { controller, promise };
    try {
      const report = await promise;
      this.finishScan(report.cancelled);
      this.state.summary = { ...this.state.summary, lastScan: toScanSummary(report, Date.now()) };
      this.sync();
      return report;
    } catch (err) {
      this.finishScan(false);
      this.pushError(errorOf(err as Error));
      this.sync();
      throw err;
    } finally {
      this.scanning = null;
    }
  }

  /** Cancels the running scan; false when none runs. */
  cancel(): boolean {
    if (!this.scanning) return false;
    this.scanning.controller.abort();
    return true;
  }

  /**
   * Takes in the library's changes (after changes made to the library from
   * code, and during a scan): new counts and facets, and the changed cards of
   * the page's window.
   */
  sync(): void {
    if (!this.lib) return;
    this.modelsThrottle.cancel();
    this.syncQuietly();
    this.notifySiblings();
  }

  /** Answers a `window` request; the window becomes the page's view. */
  window(request: WindowRequest): WindowResult {
    this.openingQuery ??= request.query;
    const result = this.view.answer(request);
    this.scheduleFirstWindowSave();
    return result;
  }

  /**
   * Before the library has loaded: the answer from the kept first window, when
   * it holds what the request asks. The page asks for its first window as soon
   * as it shows (not after the summary says the window was found: that cost a
   * round trip), so a request may come while the kept window is still being
   * read: it waits for that read, or for the library if it comes first.
   */
  async windowBeforeReady(request: WindowRequest): Promise<WindowResult | null> {
    if (!this.lib) await Promise.race([this.firstWindowRead, this.ready.catch(() => undefined)]);
    if (this.lib || !this.firstWindow) return null;
    this.openingQuery ??= request.query;
    const result = this.firstWindow.answer(request);
    if (result) this.view.seed(request, result);
    return result;
  }

  /** The last `updates` result: the `update` filter and sort. */
  noteUpdates(result: UpdatesResult): void {
    this.lastUpdates = result;
    this.index.setUpdates(result.updates.flatMap((u) => u.ids.map((id) => [id, u.latest.publishedAt] as [string, string | null])));
    this.pushView();
  }

  /** The update the last check offered for a card (a check runs first, from the day's cache, when this panel made none). */
  async updateFor(id: string): Promise<UpdateInfo | undefined> {
    const lib = await this.ready;
    if (!this.lastUpdates) this.noteUpdates((await handleMaintenance(this, lib, { type: 'updates', requestId: 'download-update' })) as UpdatesResult);
    return this.lastUpdates?.updates.find((u) => u.ids.includes(id));
  }

  /** Every model, as the library has it now. */
  models(): LibraryModel[] {
    return this.lib ? this.lib.models() : [];
  }

  /** Closes the comm (the widget disappears) and cancels a scan this panel runs. The library stays open. */
  close(): void {
    this.cancel();
    if (!this.comm.closed) this.comm.close();
    this.detach();
  }

  // -------------------------------------------------------------------------
  // Used by the request handlers

  /** The entry an id names (ids are looked up, never turned into paths). */
  lookup(id: string): { model: LibraryModel; card: ModelCard } {
    let model = this.tracker.lookup(id);
    // An unknown id may be a file the library gained since the last look; look again, but at most once a second
    // (a request full of made-up ids must not re-list a 10,000-model library per id).
    if (!model && this.lib && Date.now() - this.refreshedAt > 1000) {
      this.refreshCards();
      model = this.tracker.lookup(id);
    }
    const card = this.tracker.card(id);
    if (!model || !card) throw new ModeldeckError('not_found', `no model with id ${JSON.stringify(id.length > 80 ? id.slice(0, 77) + '...' : id)}`);
    return { model, card };
  }

  /**
   * Where a card's preview is, once the library has loaded: the page may ask
   * for the previews of the kept first window's cards before (it paints them
   * first). Throws not_found for an unknown id. Answering those from the kept
   * window was measured and not kept: reading and sending previews during the
   * load left the tslab kernel 12-48 MB larger at 100,000 models, over the
   * 400 MB target in 3 of 5 runs (docs/benchmarks.md).
   */
  async previewOf(id: string): Promise<PreviewSource> {
    await this.ready;
    const { model, card } = this.lookup(id);
    return { root: model.root, preview: model.preview, name: card.preview };
  }

  /** The card of an id after a change. */
  cardOf(id: string): ModelCard | null {
    return this.tracker.card(id) ?? null;
  }

  /** The root path of a root index; with one root the index may be left out. */
  rootAt(index: number | undefined): string | undefined {
    const roots = this.lib?.roots ?? [];
    if (index === undefined) return roots.length === 1 ? roots[0] : undefined;
    const root = roots[index];
    if (root === undefined) throw new ModeldeckError('bad_request', `no root ${index} (this panel has ${roots.length})`);
    return root;
  }

  get previewLimit(): number {
    return this.previewMaxBytes;
  }

  async scanForWidget(options: { offline?: boolean; refresh?: boolean; verify?: boolean }): Promise<ScanResult> {
    const report = await this.scan(options);
    const roots = this.lib?.roots ?? [];
    return {
      summary: toScanSummary(report, Date.now()),
      warnings: report.warnings.slice(0, 100).map((w) => ({ path: relativeToRoots(w.path, roots), message: this.scrub(w.message) })),
      verifyMismatches: report.verifyMismatches.length,
    };
  }

  dismiss(ids: number[] | undefined): number {
    const before = this.state.errors.length;
    this.state.errors = ids ? this.state.errors.filter((e) => !ids.includes(e.id)) : [];
    const removed = before - this.state.errors.length;
    if (removed) this.sendState(['errors']);
    return removed;
  }

  send(message: KernelMessage, buffers?: Uint8Array[]): void {
    if (this.closed) return;
    this.comm.send({ method: 'custom', content: message }, buffers && buffers.length ? { buffers } : undefined);
  }

  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }

  // -------------------------------------------------------------------------

  private attach(lib: Library): void {
    this.lib = lib;
    let set = sessionsByLibrary.get(lib);
    if (!set) sessionsByLibrary.set(lib, (set = new Set()));
    set.add(this);
    this.state.roots = [...lib.roots];
    this.refreshCards();
    this.index.reset(this.tracker.takeAll());
    this.prepareIndex();
    this.state.summary = summarise(this.tracker.all(), this.state.summary);
    this.firstWindow = null;
    // No cards: the page asks for the window it shows once the summary says the library is ready.
    this.sendState(['roots', 'summary']);
    // A window answered from the kept first one: what the library says differently replaces it.
    this.pushView();
    for (const w of lib.loadWarnings) this.pushError({ code: 'index', message: w });
    this.watchDownloads(lib);
    if (this.indexPollMs > 0) {
      this.indexPoll = setInterval(() => void this.pickUpOthersChanges(), this.indexPollMs);
      this.indexPoll.unref();
    }
  }

  /** Another process (a CLI link, a second notebook's scan) changed the index: show it. */
  private async pickUpOthersChanges(): Promise<void> {
    if (!this.lib || this.closed) return;
    try {
      if (await this.lib.refreshIndex()) this.sync();
    } catch (err) {
      this.pushError(errorOf(err));
    }
  }

  private detach(): void {
    this.closedByUs = true;
    if (this.indexPoll) clearInterval(this.indexPoll);
    this.indexPoll = null;
    this.progressThrottle.cancel();
    this.modelsThrottle.cancel();
    this.downloadsThrottle.cancel();
    // The downloads go on (they belong to the library); this panel stops showing them.
    this.unsubscribeDownloads?.();
    this.unsubscribeDownloads = null;
    if (this.preparing) clearImmediate(this.preparing);
    this.preparing = null;
    if (this.firstWindowTimer) clearTimeout(this.firstWindowTimer);
    this.firstWindowTimer = null;
    if (this.lib) sessionsByLibrary.get(this.lib)?.delete(this);
  }

  private notifySiblings(): void {
    if (!this.lib) return;
    for (const s of sessionsByLibrary.get(this.lib) ?? []) if (s !== this) s.syncQuietly();
  }

  /** A sync that does not notify back (siblings notify each other once). */
  private syncQuietly(): void {
    if (!this.lib || this.closed) return;
    this.refreshCards();
    const delta = this.tracker.takeDelta();
    if (delta.upsert.length || delta.remove.length) {
      this.index.apply(delta.upsert, delta.remove);
      this.prepareIndex();
    }
    this.sendSummary();
    this.pushView();
    // A scan compacts the index (a new version) even when the window stays the same: keep it for that version.
    this.scheduleFirstWindowSave();
  }

  /**
   * Search haystacks in small idle slices, so that a window request arriving
   * meanwhile is answered between two slices (it needs none of them), and the
   * first search finds them ready.
   */
  private prepareIndex(): void {
    if (this.preparing || this.closed) return;
    this.preparing = setImmediate(() => {
      this.preparing = null;
      if (!this.closed && this.index.prepare(2000)) this.prepareIndex();
    });
  }

  /** The page's window again, when a change touched it or its counts. */
  private pushView(): void {
    const msg = this.view.changes();
    if (msg) {
      this.send(msg);
      this.scheduleFirstWindowSave();
    }
  }

  /** Opens the library once the first look is over, handing it what the look read; then forgets what the load did not take. */
  private async openAfterLook(open: LibraryOpener, snapshots: ReadSnapshots): Promise<Library> {
    await this.firstWindowRead;
    try {
      return await open(snapshots);
    } finally {
      snapshots.clear();
    }
  }

  /**
   * Reads the kept first window, or, when there is none and `quick`, takes a
   * quick look at the index for the opening window (keeping what it read in
   * `quick` for the load); if it comes before the
   * library, the page's first request is answered from it.
   */
  private async readFirstWindow(roots: string[], quick: ReadSnapshots | null): Promise<void> {
    let kept = this.firstWindowCache ? await loadFirstWindow(roots) : null;
    if (!kept && quick && !this.lib && !this.closed) kept = await quickFirstWindow(roots, quick);
    if (!kept || this.lib || this.closed) return;
    this.firstWindow = kept;
    this.state.summary = { ...this.state.summary, ...kept.counts, preview: true };
    this.sendState(['summary']);
  }

  /** Keeps the first window of the page's opening query 2 s after a change, at most once per 2 s (a scan changes it often). */
  private scheduleFirstWindowSave(): void {
    if (!this.firstWindowCache || this.firstWindowTimer || this.closed) return;
    this.firstWindowTimer = setTimeout(() => {
      this.firstWindowTimer = null;
      void this.saveFirstWindow();
    }, this.firstWindowSaveMs);
    this.firstWindowTimer.unref();
  }

  private async saveFirstWindow(): Promise<void> {
    const lib = this.lib;
    const query = this.openingQuery;
    if (!lib || this.closed || !query || !cacheable(query)) return;
    const key = queryKey(query) + JSON.stringify(lib.indexVersions());
    if (key === this.firstWindowKept) return;
    const { models, bytes, byStatus, byKind } = this.state.summary;
    const window = firstWindowOf(query, this.index, this.tracker, { models, bytes, byStatus, byKind });
    if (!window) return;
    if (await saveFirstWindow(lib, window)) this.firstWindowKept = key;
  }

  private refreshCards(): void {
    if (!this.lib) return;
    this.refreshedAt = Date.now();
    this.tracker.update(this.lib.entries(), this.lib.roots);
  }

  /** The library's downloads into this panel's state: progress throttled, a finished model shown in the grid at once. */
  private watchDownloads(lib: Library): void {
    const queue = DownloadQueue.of(lib);
    this.state.downloads = this.scrubbedDownloads(queue);
    if (this.state.downloads.length) this.sendState(['downloads']);
    this.unsubscribeDownloads = queue.subscribe((event) => {
      if (event === 'finished') this.syncQuietly();
      this.downloadsThrottle.schedule();
    });
  }

  private sendDownloads(): void {
    if (!this.lib) return;
    this.state.downloads = this.scrubbedDownloads(DownloadQueue.of(this.lib));
    this.sendState(['downloads']);
  }

  /** Texts of downloads scrubbed of the Civitai token and of a HuggingFace token get may have used. */
  private scrubbedDownloads(queue: DownloadQueue) {
    const hf = [process.env.HF_TOKEN, process.env.HUGGING_FACE_HUB_TOKEN].filter((t): t is string => !!t && t.trim().length >= 4).map((t) => t.trim());
    const clean = (text: string) => hf.reduce((t, s) => t.split(s).join('***'), this.scrub(text));
    return queue.items().map((d) => ({ ...d, input: clean(d.input), message: d.message === null ? null : clean(d.message) }));
  }

  private sendSummary(): void {
    const next = summarise(this.tracker.all(), this.state.summary);
    if (JSON.stringify(next) !== JSON.stringify(this.state.summary)) {
      this.state.summary = next;
      this.sendState(['summary']);
    }
  }

  private finishScan(cancelled: boolean): void {
    this.progressThrottle.cancel();
    if (this.state.progress) this.state.progress = { ...this.state.progress, running: false, cancelled, currentFile: null, ...(cancelled ? {} : { phase: 'done' as const }) };
    this.sendState(['progress', 'summary']);
  }

  private sendState(keys: (keyof PanelState)[], method: 'update' | 'echo_update' = 'update'): void {
    if (this.closed) return;
    const state: Record<string, unknown> = {};
    for (const k of keys) state[k] = this.state[k];
    this.comm.send({ method, state, buffer_paths: [] });
  }

  private pushError(e: { code: string; message: string; requestId?: string | number | null }): void {
    const entry: PanelError = { id: ++this.errorSerial, code: e.code, message: this.scrub(e.message).slice(0, 2000), at: Date.now() };
    if (e.requestId !== undefined && e.requestId !== null) entry.requestId = e.requestId;
    this.state.errors = [...this.state.errors, entry].slice(-MAX_ERRORS);
    this.sendState(['errors']);
  }

  private onMessage(data: unknown, buffers: Uint8Array[]): void {
    try {
      this.dispatch(data, Array.isArray(buffers) ? buffers : []);
    } catch (err) {
      // Nothing a message does may reach the kernel's own loop.
      this.pushError(errorOf(err as Error));
    }
  }

  private dispatch(data: unknown, buffers: Uint8Array[]): void {
    const msg = parseMessage(data);
    switch (msg.kind) {
      case 'request_state':
        // The full state at once, then the view's window whole (the front end may have lost what it had).
        if (this.lib) {
          this.refreshCards();
          const delta = this.tracker.takeDelta();
          if (delta.upsert.length || delta.remove.length) this.index.apply(delta.upsert, delta.remove);
          this.state.summary = summarise(this.tracker.all(), this.state.summary);
          this.state.downloads = this.scrubbedDownloads(DownloadQueue.of(this.lib));
        }
        this.sendState(Object.keys(this.state) as (keyof PanelState)[]);
        this.view.forgetSent();
        if (this.lib) this.pushView();
        return;
      case 'update':
        return this.onUpdate(msg.state);
      case 'invalid':
        if (msg.reply) this.send({ type: 'reply', requestId: msg.requestId, request: msg.request, ok: false, error: msg.error });
        if (!msg.reply || msg.requestId === null) this.pushError({ ...msg.error, requestId: msg.requestId });
        return;
      case 'custom': {
        const { request } = msg;
        handleRequest(this, request, buffers).then(
          (result) => this.send({ type: 'reply', requestId: request.requestId, request: request.type, ok: true, ...(result === undefined ? {} : { result }) }),
          (err: Error) => {
            const error = errorOf(err);
            this.send({ type: 'reply', requestId: request.requestId, request: request.type, ok: false, error: { code: error.code, message: this.scrub(error.message) } });
            // A scan's failure is already in `errors` (it may outlive the view that asked).
          },
        );
        return;
      }
    }
  }

  private onUpdate(incoming: Record<string, unknown>): void {
    const outcome = applyUpdate(this.state, incoming);
    if (outcome.settings) this.state.settings = outcome.settings;
    if (outcome.echo.length) this.sendState(outcome.echo, 'echo_update');
    if (outcome.correct.length) this.sendState(outcome.correct);
    for (const e of outcome.errors) this.pushError(e);
  }
}

function errorOf(err: unknown): ReplyError {
  if (err instanceof ModeldeckError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' && /^[\w-]{1,40}$/.test(e.code) ? e.code : 'internal';
  return { code, message: typeof e?.message === 'string' ? e.message : String(err) };
}
