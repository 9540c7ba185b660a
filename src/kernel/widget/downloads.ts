/**
 * The panel's downloads: one queue per Library (every panel on it shows the
 * same list, and a download outlives the page and the comm that asked for
 * it), running core `get` (`getOne`) through its public API, one at a time.
 *
 * One at a time: each download already uses several connections; a second
 * one would only share the link and make both finish later.
 *
 * The queue knows nothing of comms: sessions subscribe and turn its items
 * into their `downloads` state key (throttled there).
 *
 * Closing the library cancels what is queued and running, and `close()` waits
 * for the running download to let go of its `.part` (kept, as a cancel keeps
 * it): no download writes into a root after the library closed.
 */
import { dirname } from 'node:path';
import { getOne, parseSource } from '../../core/download';
import { ModeldeckError } from '../../core/errors';
import type { Library } from '../../core/library';
import { MAX_DOWNLOADS, type DownloadItem } from '../protocol';
import { cardId } from './cards';

export interface DownloadJob {
  input: string;
  origin: DownloadItem['origin'];
  root: string;
  /** An update goes beside the version it updates. */
  folder?: string;
  previews: boolean;
  nsfwLevel: number;
}

interface Entry {
  item: DownloadItem;
  job: DownloadJob;
  controller: AbortController | null;
}

/** What a subscriber hears: `list` after any change, `finished` once a model joined the library. */
export type DownloadEvent = 'list' | 'finished';

const FINISHED: readonly DownloadItem['status'][] = ['done', 'exists', 'skipped', 'error', 'cancelled'];

const queues = new WeakMap<Library, DownloadQueue>();

export class DownloadQueue {
  private readonly entries: Entry[] = [];
  private readonly listeners = new Set<(e: DownloadEvent) => void>();
  private serial = 0;
  private running = false;
  /** The loop running the queue (resolved when idle): what closing waits for. */
  private pumping: Promise<void> = Promise.resolve();
  private closed = false;

  /** The queue of a library (created on first use). */
  static of(lib: Library): DownloadQueue {
    let q = queues.get(lib);
    if (!q) queues.set(lib, (q = new DownloadQueue(lib)));
    return q;
  }

  private constructor(private readonly lib: Library) {
    lib.onClose(() => this.shutdown());
  }

  subscribe(fn: (e: DownloadEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Copies of the items, oldest first. */
  items(): DownloadItem[] {
    return this.entries.map((e) => ({ ...e.item }));
  }

  /**
   * Queues a download. A reference `get` cannot read is refused here, at once,
   * with get's own one-line message; so is a plain URL the outbound policy
   * refuses by its address (a name that resolves to a private address is
   * refused when it is fetched, and the item ends with that error).
   */
  add(job: DownloadJob): DownloadItem {
    this.refuseIfClosed();
    const source = parseSource(job.input);
    if (source.kind === 'url') this.lib.outboundPolicy.check(source.url, 'download');
    const item: DownloadItem = {
      downloadId: `d${++this.serial}`,
      input: job.input,
      origin: job.origin,
      status: 'queued',
      name: null,
      root: this.lib.roots.indexOf(job.root),
      path: null,
      received: 0,
      total: null,
      bytesPerSecond: 0,
      etaSeconds: null,
      message: null,
      code: null,
      cardId: null,
      queuedAt: Date.now(),
      finishedAt: null,
    };
    this.entries.push({ item, job, controller: null });
    this.trim();
    this.emit('list');
    void this.pump();
    return { ...item };
  }

  /** Stops a queued or running download; false when it had already finished. */
  cancel(downloadId: string): boolean {
    const e = this.find(downloadId);
    if (FINISHED.includes(e.item.status)) return false;
    if (e.controller) e.controller.abort();
    else this.finish(e, { status: 'cancelled', code: 'cancelled', message: `${e.item.input}: cancelled` });
    return true;
  }

  /** Queues a failed or cancelled download again, under the same id. */
  retry(downloadId: string): DownloadItem {
    const e = this.find(downloadId);
    if (e.item.status !== 'error' && e.item.status !== 'cancelled') throw new ModeldeckError('bad_request', `download ${downloadId} is ${e.item.status}: only a failed or cancelled download can be retried`);
    this.refuseIfClosed();
    Object.assign(e.item, { status: 'queued', received: 0, bytesPerSecond: 0, etaSeconds: null, message: null, code: null, finishedAt: null, queuedAt: Date.now() });
    // Back to the end of the queue, in the order it will run.
    this.entries.splice(this.entries.indexOf(e), 1);
    this.entries.push(e);
    this.emit('list');
    void this.pump();
    return { ...e.item };
  }

  /** Drops finished downloads from the list (one, or all of them). */
  clear(downloadId?: string): number {
    const before = this.entries.length;
    if (downloadId !== undefined) {
      const e = this.find(downloadId);
      if (!FINISHED.includes(e.item.status)) throw new ModeldeckError('busy', `download ${downloadId} is still ${e.item.status}: cancel it first`);
      this.entries.splice(this.entries.indexOf(e), 1);
    } else {
      for (let i = this.entries.length - 1; i >= 0; i--) if (FINISHED.includes(this.entries[i].item.status)) this.entries.splice(i, 1);
    }
    const removed = before - this.entries.length;
    if (removed) this.emit('list');
    return removed;
  }

  /** Cancels everything (the library is closing). */
  cancelAll(): void {
    for (const e of this.entries) if (!FINISHED.includes(e.item.status)) this.cancel(e.item.downloadId);
  }

  /** The library is closing: nothing new starts, everything queued or running is cancelled, and this resolves once the running one has stopped. */
  private async shutdown(): Promise<void> {
    this.closed = true;
    this.cancelAll();
    await this.pumping;
  }

  private refuseIfClosed(): void {
    if (this.closed) throw new ModeldeckError('closed', 'the library is closed: open it again to download');
  }

  private find(downloadId: string): Entry {
    const e = this.entries.find((x) => x.item.downloadId === downloadId);
    if (!e) throw new ModeldeckError('not_found', `no download ${JSON.stringify(downloadId.slice(0, 40))}`);
    return e;
  }

  private pump(): Promise<void> {
    if (this.running) return this.pumping;
    this.running = true;
    this.pumping = (async () => {
      try {
        for (let next = this.nextQueued(); next; next = this.nextQueued()) await this.run(next);
      } finally {
        this.running = false;
      }
    })();
    return this.pumping;
  }

  private nextQueued(): Entry | undefined {
    return this.entries.find((e) => e.item.status === 'queued');
  }

  private async run(e: Entry): Promise<void> {
    const controller = new AbortController();
    e.controller = controller;
    e.item.status = 'resolving';
    this.emit('list');
    const started = Date.now();
    try {
      const r = await getOne(this.lib, e.job.input, {
        root: e.job.root,
        folder: e.job.folder,
        previews: e.job.previews,
        nsfwLevel: e.job.nsfwLevel,
        signal: controller.signal,
        onStart: (info) => {
          Object.assign(e.item, { status: 'downloading', name: info.name, path: this.relative(info.path), total: info.size ?? null });
          this.emit('list');
        },
        onProgress: (p) => {
          const it = e.item;
          it.received = p.received;
          it.total = p.total || it.total;
          it.bytesPerSecond = Math.round(p.bytesPerSecond);
          it.etaSeconds = p.bytesPerSecond > 0 && it.total ? Math.max(0, Math.round((it.total - p.received) / p.bytesPerSecond)) : null;
          this.emit('list');
        },
      });
      if (r.status === 'downloaded') {
        this.finish(e, { status: 'done', received: r.size, total: r.size, path: this.relative(r.path), cardId: this.cardOf(r.path), bytesPerSecond: Math.round((r.fetched * 1000) / Math.max(1, Date.now() - started)) });
        this.emit('finished');
      } else if (r.status === 'exists') {
        // The same words as `modeldeck get`, without its hash tail.
        this.finish(e, { status: 'exists', path: this.relative(r.path), cardId: this.cardOf(r.path), message: `already in the library: ${r.path}` });
      } else {
        this.finish(e, { status: 'skipped', path: this.relative(r.path), message: `skipped: ${r.path}: ${r.reason}` });
      }
    } catch (err) {
      const cancelled = controller.signal.aborted;
      const code = (err as { code?: unknown }).code;
      const message = oneLine(err instanceof Error ? err.message : String(err));
      this.finish(e, cancelled ? { status: 'cancelled', code: 'cancelled', message: `${e.item.name ?? e.item.input}: cancelled${e.item.received ? '; the partial download is kept for a retry' : ''}` } : { status: 'error', code: typeof code === 'string' ? code : 'error', message });
    } finally {
      e.controller = null;
    }
  }

  private finish(e: Entry, change: Partial<DownloadItem>): void {
    Object.assign(e.item, { etaSeconds: null, ...change, finishedAt: Date.now() });
    if (e.item.status !== 'done') e.item.bytesPerSecond = 0;
    this.emit('list');
  }

  private relative(absolute: string): string {
    for (const r of this.lib.roots) if (absolute.startsWith(r + '/')) return absolute.slice(r.length + 1);
    return absolute;
  }

  private cardOf(absolute: string): string | null {
    const m = this.lib.models().find((x) => x.absolute === absolute);
    return m ? cardId(this.lib.roots.indexOf(m.root), m.path) : null;
  }

  /** Keeps the list bounded: the oldest finished downloads go first. */
  private trim(): void {
    while (this.entries.length > MAX_DOWNLOADS) {
      const i = this.entries.findIndex((e) => FINISHED.includes(e.item.status));
      if (i < 0) break;
      this.entries.splice(i, 1);
    }
  }

  private emit(e: DownloadEvent): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(e);
      } catch {
        // A panel that fails to show a change cannot stop the download.
      }
    }
  }
}

/** The folder a "download update" goes to: the folder of the card's own file. */
export function updateFolder(absolute: string): string {
  return dirname(absolute);
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').slice(0, 1000);
}
