/**
 * Library entries as the widget's cards, and card ids.
 *
 * An id is `<root index>:<path relative to the root>`. The kernel never turns
 * an id from a message into a path: it looks the id up among the cards it
 * built from the library (see CardTracker.lookup), and works on the entry found.
 */
import { displayName, statusesOf, type LibraryModel } from '../../core/library';
import type { CardCivitai, ModelCard } from '../protocol';

export function cardId(rootIndex: number, path: string): string {
  return `${rootIndex}:${path}`;
}

export function toCard(m: LibraryModel, rootIndex: number): ModelCard {
  const link = m.civitai.link;
  const civitai: CardCivitai = {
    state: m.civitai.status,
    modelId: link?.modelId ?? null,
    versionId: link?.versionId ?? null,
    modelName: link?.modelName ?? null,
    versionName: link?.versionName ?? null,
    type: link?.type ?? null,
    baseModel: link?.baseModel ?? null,
    nsfwLevel: link?.nsfwLevel ?? null,
    pageUrl: link?.pageUrl ?? null,
    matchedBy: link?.matchedBy ?? null,
    checkedAt: m.civitai.checkedAt ?? null,
    lastError: m.civitai.lastError ? { ...m.civitai.lastError } : null,
  };
  const manual = m.manual?.link;
  return {
    id: cardId(rootIndex, m.path),
    root: rootIndex,
    path: m.path,
    file: m.path.slice(m.path.lastIndexOf('/') + 1),
    name: displayName(m),
    kind: m.kind,
    baseModel: m.baseModel,
    folderKind: m.folderKind ?? null,
    size: m.size,
    addedAt: m.addedAt,
    mtimeMs: m.mtimeMs,
    status: statusesOf(m),
    verified: m.verified,
    hashes: pickHashes(m.hashes),
    hashSources: { ...m.hashSources },
    civitai,
    trainedWords: link?.trainedWords ? [...link.trainedWords] : [],
    manualLink: manual ? { input: String(manual.input), modelId: manual.modelId, versionId: manual.versionId } : null,
    preview: m.preview ? m.preview.slice(m.preview.lastIndexOf('/') + 1) : null,
    warnings: [...m.warnings],
    conflicts: [...m.conflicts],
  };
}

function pickHashes(h: LibraryModel['hashes']): ModelCard['hashes'] {
  const out: ModelCard['hashes'] = {};
  for (const k of ['SHA256', 'AutoV1', 'AutoV2', 'AutoV3', 'BLAKE3', 'CRC32'] as const) if (typeof h[k] === 'string') out[k] = h[k];
  return out;
}

export interface CardDelta {
  upsert: ModelCard[];
  remove: string[];
}

/**
 * What the query index was last given, so that later looks at the library
 * pass on only the cards that changed. Also the id -> entry directory that
 * requests are resolved against.
 */
export class CardTracker {
  /** id -> a hash of the card's JSON as last taken (a number, not the text: 100,000 texts would be ~100 MB). */
  private sent = new Map<string, number>();
  /** id -> entry, from the latest look at the library. */
  private current = new Map<string, { model: LibraryModel; card: ModelCard }>();

  /** Takes a fresh look at the library's models. */
  update(models: LibraryModel[], roots: readonly string[]): void {
    const rootIndex = new Map(roots.map((r, i) => [r, i]));
    const next = new Map<string, { model: LibraryModel; card: ModelCard }>();
    for (const m of models) {
      const i = rootIndex.get(m.root);
      if (i === undefined) continue;
      const card = toCard(m, i);
      next.set(card.id, { model: m, card });
    }
    this.current = next;
  }

  get size(): number {
    return this.current.size;
  }

  /** The entry an id names, or undefined. Only exact ids of known cards match. */
  lookup(id: string): LibraryModel | undefined {
    return this.current.get(id)?.model;
  }

  card(id: string): ModelCard | undefined {
    return this.current.get(id)?.card;
  }

  all(): LibraryModel[] {
    return [...this.current.values()].map((v) => v.model);
  }

  /** Every card, and remembers them all as sent. */
  takeAll(): ModelCard[] {
    this.sent.clear();
    const out: ModelCard[] = [];
    for (const [id, { card }] of this.current) {
      this.sent.set(id, textHash(JSON.stringify(card)));
      out.push(card);
    }
    return out;
  }

  /** The cards that differ from what was sent, and the ids sent that are gone; remembers the new state as sent. */
  takeDelta(): CardDelta {
    const upsert: ModelCard[] = [];
    const remove: string[] = [];
    for (const [id, { card }] of this.current) {
      const hash = textHash(JSON.stringify(card));
      if (this.sent.get(id) !== hash) {
        this.sent.set(id, hash);
        upsert.push(card);
      }
    }
    for (const id of this.sent.keys()) {
      if (!this.current.has(id)) {
        this.sent.delete(id);
        remove.push(id);
      }
    }
    return { upsert, remove };
  }
}

/**
 * A 52-bit hash of a text (two 32-bit multiplicative hashes): telling whether
 * a card changed without keeping its JSON. A collision would only hold back
 * one card's change until its next one; at 52 bits that is not a concern.
 */
export function textHash(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}
