/**
 * Library entries as the widget's cards, and card ids.
 *
 * An id is `<root index>:<path relative to the root>`. The kernel never turns
 * an id from a message into a path: it looks the id up among the cards it
 * built from the library (see CardTracker.lookup), and works on the entry found.
 */
import { displayName, statusesOf, type LibraryModel, type ModelEntry } from '../../core/library';
import type { CardCivitai, GridCard, ModelCard } from '../protocol';

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

/**
 * What the query index is given of a model: the entry itself (the index
 * store's object, not copied), its root and its id. The query index keeps
 * from it only what sorting, filtering and counting need, and builds a grid
 * card (`gridCardOf`) when a window shows it: at 100,000 models a kept grid
 * card per model was ~80 MB of the kernel's heap.
 */
export interface IndexSource {
  id: string;
  rootIndex: number;
  entry: ModelEntry;
}

export function toIndexSource(e: ModelEntry, rootIndex: number): IndexSource {
  return { id: cardId(rootIndex, e.path), rootIndex, entry: e };
}

/** The grid card of a source: the same as toGridCard(toCard(...)), built straight from the entry without the full card's copies. */
export function gridCardOf(s: IndexSource): GridCard {
  const e = s.entry;
  const link = e.civitai.link;
  return {
    id: s.id,
    root: s.rootIndex,
    path: e.path,
    file: e.path.slice(e.path.lastIndexOf('/') + 1),
    name: displayName(e),
    kind: e.kind,
    baseModel: e.baseModel,
    size: e.size,
    addedAt: e.addedAt,
    status: statusesOf(e),
    trainedWords: link?.trainedWords ? [...link.trainedWords] : [],
    preview: e.preview ? e.preview.slice(e.preview.lastIndexOf('/') + 1) : null,
    civitai: {
      state: e.civitai.status,
      modelName: link?.modelName ?? null,
      versionName: link?.versionName ?? null,
      baseModel: link?.baseModel ?? null,
      nsfwLevel: link?.nsfwLevel ?? null,
      pageUrl: link?.pageUrl ?? null,
    },
  };
}

/** The Civitai type of a source, which the search matches but the grid does not show. */
export function civitaiTypeOf(s: IndexSource): string | null {
  return s.entry.civitai.link?.type ?? null;
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

/** One model as the library holds it: the store's entry (not copied) and its root. */
export interface RootEntry {
  root: string;
  entry: ModelEntry;
}

/** A model at the latest look: also what the query index is given (no copy per model). */
interface Tracked extends IndexSource {
  root: string;
}

/**
 * What the query index was last given, so that later looks at the library
 * pass on only the cards that changed. Also the id -> entry directory that
 * requests are resolved against.
 *
 * The index store replaces an entry object when the entry changes (`put`) and
 * never changes one in place, so an entry that is the same object as at the
 * last look is unchanged: a look at 100,000 unchanged models builds no card
 * and hashes no JSON.
 *
 * No card is kept: a full card (hashes, sources, Civitai details) is built
 * from its entry when one is asked for (details, replies, a changed entry),
 * so the kernel holds the index's entries and the query index's slim rows,
 * not a third copy of the library (at 100,000 models the kept cards were
 * ~220 MB and most of the time spent collecting garbage).
 */
export class CardTracker {
  /** id -> entry and root, from the latest look at the library (a new map per look, never changed after). */
  private current = new Map<string, Tracked>();
  /**
   * The map of the look last taken: an id whose tracked object differs from
   * the current one changed since (update() keeps the object of an unchanged
   * entry), an id missing from the current one is gone. Kept by reference,
   * not copied: taking 100,000 models stores nothing per model.
   */
  private taken = new Map<string, Tracked>();
  /**
   * id -> a hash of the card's JSON as last passed on, for the ids that were
   * (a number, not the text: 100,000 texts would be ~100 MB). An id taken by
   * takeAll has none: its first change is passed on as changed.
   */
  private sent = new Map<string, number>();

  /** Takes a fresh look at the library's entries. */
  update(entries: Iterable<RootEntry>, roots: readonly string[]): void {
    const rootIndex = new Map(roots.map((r, i) => [r, i]));
    const next = new Map<string, Tracked>();
    for (const { root, entry } of entries) {
      const i = rootIndex.get(root);
      if (i === undefined) continue;
      const id = cardId(i, entry.path);
      const prev = this.current.get(id);
      next.set(id, prev && prev.entry === entry && prev.root === root ? prev : { id, root, rootIndex: i, entry });
    }
    this.current = next;
  }

  get size(): number {
    return this.current.size;
  }

  /** The model an id names, or undefined. Only exact ids of known cards match. */
  lookup(id: string): LibraryModel | undefined {
    const t = this.current.get(id);
    return t && { ...t.entry, root: t.root, absolute: `${t.root}/${t.entry.path}` };
  }

  /** The full card of an id, built now from its entry. */
  card(id: string): ModelCard | undefined {
    const t = this.current.get(id);
    return t && cardOfTracked(t);
  }

  /** The entry and root of an id, as the library holds it (not copied). */
  source(id: string): IndexSource | undefined {
    return this.current.get(id);
  }

  /** Every entry (for the summary's counts). */
  all(): ModelEntry[] {
    return Array.from(this.current.values(), (v) => v.entry);
  }

  /**
   * What the query index needs of every model, and remembers them all as
   * taken: the tracked models themselves (entry, root, id), no card and no
   * copy per model (at 100,000 models full cards were most of the first
   * look's garbage, and kept grid cards ~80 MB).
   */
  takeAll(): IterableIterator<IndexSource> {
    // No hash yet (hashing 100,000 cards' JSON took 2.4 s): the first change of an entry is passed on as changed.
    this.sent.clear();
    this.taken = this.current;
    return this.current.values();
  }

  /** The cards that differ from what was taken, and the ids taken that are gone; remembers the new state as taken. */
  takeDelta(): CardDelta {
    const upsert: ModelCard[] = [];
    const remove: string[] = [];
    // No look since the last take (or none that changed the map): nothing to pass on.
    if (this.taken === this.current) return { upsert, remove };
    for (const [id, t] of this.current) {
      if (this.taken.get(id) === t) continue;
      const card = cardOfTracked(t);
      const hash = textHash(JSON.stringify(card));
      if (this.sent.get(id) !== hash) {
        this.sent.set(id, hash);
        upsert.push(card);
      }
    }
    for (const id of this.taken.keys()) {
      if (!this.current.has(id)) {
        this.sent.delete(id);
        remove.push(id);
      }
    }
    this.taken = this.current;
    return { upsert, remove };
  }
}

function cardOfTracked(t: Tracked): ModelCard {
  return toCard({ ...t.entry, root: t.root, absolute: `${t.root}/${t.entry.path}` }, t.rootIndex);
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
