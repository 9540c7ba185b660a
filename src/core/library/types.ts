/**
 * What the library remembers about each model file. One `ModelEntry` per file,
 * keyed by its path relative to the library root (always `/`-separated, so an
 * index written on Colab reads the same on Windows).
 */
import type { FileHashes, HashName } from '../hash/names';
import type { BaseModel, ModelKind } from '../probe/types';

/**
 * Where a hash value came from. Only `computed` is read from the file's bytes
 * by modeldeck; `header` is the AutoV3 a trainer wrote into the safetensors
 * header (`sshs_model_hash`): unverified.
 */
export const HASH_SOURCES = ['computed', 'header', 'a1111-cache', 'civitai-info', 'a1111-json', 'lm-metadata', 'sm-cm-info', 'manual'] as const;
export type HashSource = (typeof HASH_SOURCES)[number];

export interface CivitaiLink {
  modelId: number;
  versionId: number;
  modelName: string;
  versionName: string;
  /** Civitai's model type: `LORA`, `Checkpoint`, `TextualInversion`, ... */
  type: string;
  /** Civitai's base model label: `SD 1.5`, `SDXL 1.0`, `Pony`, `Flux.1 D`, ... */
  baseModel: string | null;
  trainedWords: string[];
  nsfwLevel: number | null;
  pageUrl: string;
  /** Which hash matched, or `manual` for a link the user made. */
  matchedBy: HashName | 'manual';
}

/**
 * The Civitai side of an entry. A lookup that fails (offline, rate limited)
 * never replaces a `found` or `not_found` answer: it is kept in `lastError`.
 */
export interface CivitaiState {
  status: 'unknown' | 'found' | 'not_found';
  link?: CivitaiLink;
  /** When Civitai last answered found or not found (ms since epoch). */
  checkedAt?: number;
  lastError?: { code: string; message: string; at: number };
  /**
   * The sidecars were written without the parent model's tags, description,
   * license and creator (fetching it failed): the next scan fetches it and
   * writes them again.
   */
  parentPending?: true;
}

export interface ManualOverrides {
  /** A Civitai version the user linked this file to (a pruned or converted file Civitai does not know). */
  link?: { modelId: number | null; versionId: number; input: string; at: number };
  /** Hashes the user set by hand; they win over computed ones until the file changes. */
  hashes?: Partial<Record<HashName, string>>;
}

export interface ModelEntry {
  /** Relative to the root, `/`-separated. */
  path: string;
  size: number;
  mtimeMs: number;
  /** Size plus a hash of a few sampled blocks: recognises a moved or renamed file without hashing it. */
  fingerprint: string;
  hashes: FileHashes;
  hashSources: Partial<Record<HashName, HashSource>>;
  /** SHA256 was computed from this file's bytes (not adopted from another tool or a header). */
  verified: boolean;
  kind: ModelKind;
  baseModel: BaseModel;
  /** The kind the folder implies (`models/Lora` -> lora), when the folder is a known layout. */
  folderKind?: ModelKind;
  evidence: string[];
  /** Where folder, probe and Civitai disagree about kind or base model. */
  conflicts: string[];
  civitai: CivitaiState;
  manual?: ManualOverrides;
  /** Relative path of the preview image beside the model, when there is one. */
  preview?: string;
  /** When modeldeck first saw this file (ms since epoch): "date added". */
  addedAt: number;
  /** Per-file problems from the last scan (unreadable, malformed header, invalid sidecar...). */
  warnings: string[];
  /** Updates the user does not want to hear about for this file's Civitai model. */
  updates?: UpdateIgnores;
  /** Where a file `get` fetched from HuggingFace came from (absent for every other file). */
  huggingFace?: HuggingFaceOrigin;
}

/**
 * A HuggingFace file's origin, recorded when `get` verified it against the
 * SHA-256 HuggingFace published. New bytes under the same path drop it (they
 * are no longer that file); a move keeps it.
 */
export interface HuggingFaceOrigin {
  /** `owner/name` (`datasets/owner/name` for a dataset). */
  repo: string;
  /** As asked: a branch, a tag or a commit. */
  revision: string;
  /** The file's path inside the repository. */
  path: string;
  /** The commit the revision resolved to (`X-Repo-Commit`), when HuggingFace said. */
  commit?: string;
  /** From the model card (`cardData.license`), when it was cheap to get. */
  license?: string;
  /** From the model card (`cardData.base_model`: one repo or several). */
  baseModels?: string[];
}

/**
 * Ignored updates, kept on every entry of the Civitai model they are about (so
 * they travel with the files in export/import). `version`: that version and
 * every older one are not offered; a newer one is.
 */
export interface UpdateIgnores {
  /** Never offer an update of this model. */
  model?: true;
  /** The newest ignored version id. */
  version?: number;
}

/**
 * What the panel's first screen needs of an entry (its name, kind, base,
 * size and statuses), read from an index row without building or checking the
 * whole entry (index-peek.ts). An entry is one too.
 */
export interface EntryPeek {
  path: string;
  size: number;
  kind: ModelEntry['kind'];
  baseModel: ModelEntry['baseModel'];
  verified: boolean;
  warnings: readonly string[];
  manual?: ModelEntry['manual'];
  civitai: { status: CivitaiState['status']; lastError?: CivitaiState['lastError']; link?: Pick<CivitaiLink, 'modelName' | 'versionName'> };
}
