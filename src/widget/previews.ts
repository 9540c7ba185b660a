/**
 * Preview images as object URLs, made from the bytes the kernel sends in
 * `preview` messages. Only the ids the grid shows are asked for; what arrives
 * is kept in a bounded LRU (object URLs are revoked when evicted or replaced),
 * so scrolling through 10,000 models keeps memory flat.
 */
import { MAX_PREVIEW_IDS, type ModelCard as FullCard, type PreviewMessage } from '../kernel/protocol';

/** What the cache needs of a card: its id and preview name (a grid card or a full one). */
type ModelCard = Pick<FullCard, 'id' | 'preview'>;
import { Emitter } from './emitter';

interface Entry {
  /** The card's `preview` value these bytes belong to. */
  preview: string | null;
  url: string | null;
  video: boolean;
  error?: string;
}

/** What a card shows: an image, or a video (some Civitai previews are mp4/webm). */
export interface PreviewMedia {
  url: string;
  video: boolean;
}

export class PreviewCache extends Emitter {
  private entries = new Map<string, Entry>();
  private pending = new Map<string, string | null>();

  constructor(private readonly capacity = 600) {
    super();
  }

  /** A card's preview, when it has arrived for the card's current `preview`. */
  media(card: ModelCard): PreviewMedia | null {
    const e = this.entries.get(card.id);
    return e && e.url && e.preview === card.preview ? { url: e.url, video: e.video } : null;
  }

  /** Whether the kernel said it cannot send this card's preview. */
  failed(card: ModelCard): boolean {
    const e = this.entries.get(card.id);
    return !!e && e.preview === card.preview && e.url === null;
  }

  /**
   * The ids among `cards` that still need asking for, marked pending; split in
   * batches the kernel accepts.
   */
  take(cards: readonly ModelCard[]): string[][] {
    const ids: string[] = [];
    for (const c of cards) {
      if (c.preview === null) continue;
      const e = this.entries.get(c.id);
      if (e && e.preview === c.preview) {
        // Touch: recently shown entries are evicted last.
        this.entries.delete(c.id);
        this.entries.set(c.id, e);
        continue;
      }
      if (this.pending.has(c.id) && this.pending.get(c.id) === c.preview) continue;
      this.pending.set(c.id, c.preview);
      ids.push(c.id);
    }
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += MAX_PREVIEW_IDS) batches.push(ids.slice(i, i + MAX_PREVIEW_IDS));
    return batches;
  }

  /** A request for these ids failed or was lost: they may be asked again. */
  release(ids: readonly string[]): void {
    for (const id of ids) this.pending.delete(id);
  }

  accept(msg: PreviewMessage, buffers: readonly unknown[] | undefined): void {
    this.pending.delete(msg.id);
    const old = this.entries.get(msg.id);
    if (old?.url) URL.revokeObjectURL(old.url);
    this.entries.delete(msg.id);
    let url: string | null = null;
    const bytes = buffers?.[0];
    if (msg.mime && isBinary(bytes) && /^(image|video)\/[\w.+-]+$/.test(msg.mime)) {
      url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: msg.mime }));
    }
    const video = !!msg.mime && msg.mime.startsWith('video/');
    this.entries.set(msg.id, { preview: msg.preview, url, video, ...(msg.error ? { error: msg.error } : {}) });
    while (this.entries.size > this.capacity) {
      const [oldest, e] = this.entries.entries().next().value as [string, Entry];
      if (e.url) URL.revokeObjectURL(e.url);
      this.entries.delete(oldest);
    }
    this.emit();
  }

  /** Revokes every object URL (the model is going away). */
  clear(): void {
    for (const e of this.entries.values()) if (e.url) URL.revokeObjectURL(e.url);
    this.entries.clear();
    this.pending.clear();
    this.emit();
  }
}

function isBinary(b: unknown): b is ArrayBuffer | ArrayBufferView {
  return b instanceof ArrayBuffer || ArrayBuffer.isView(b);
}
