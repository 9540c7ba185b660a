/**
 * What a probe can say about a model file, without hashing it or asking Civitai.
 *
 * The kind and base-model values are string literals so they read well in JSON
 * and in the widget; their display labels live here too, next to the values.
 */

/** What a file is for. LyCORIS algorithms are kinds of their own because they load differently. */
export const MODEL_KINDS = [
  'checkpoint',
  'lora',
  'locon',
  'loha',
  'lokr',
  /** LyCORIS with an algorithm we could not pin down (IA3, full diff, or metadata only). */
  'lycoris',
  'embedding',
  'vae',
  'controlnet',
  'upscaler',
  'unknown',
] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Kinds that are applied on top of a checkpoint as a low-rank (or similar) network. */
export const LORA_FAMILY_KINDS: readonly ModelKind[] = ['lora', 'locon', 'loha', 'lokr', 'lycoris'];

export function isLoraFamily(kind: ModelKind): boolean {
  return LORA_FAMILY_KINDS.includes(kind);
}

/**
 * Base model families. `pony`, `illustrious` and `noobai` are SDXL by architecture;
 * only metadata strings and names tell them apart (see `baseFamily`).
 */
export const BASE_MODELS = ['sd1', 'sd2', 'sdxl', 'sd3', 'flux', 'pony', 'illustrious', 'noobai', 'unknown'] as const;
export type BaseModel = (typeof BASE_MODELS)[number];

export const BASE_MODEL_LABELS: Readonly<Record<BaseModel, string>> = {
  sd1: 'SD 1.x',
  sd2: 'SD 2.x',
  sdxl: 'SDXL',
  sd3: 'SD 3',
  flux: 'Flux',
  pony: 'Pony',
  illustrious: 'Illustrious',
  noobai: 'NoobAI',
  unknown: 'unknown',
};

/** The architecture family a base model belongs to: Pony, Illustrious and NoobAI are SDXL. */
export function baseFamily(base: BaseModel): BaseModel {
  return base === 'pony' || base === 'illustrious' || base === 'noobai' ? 'sdxl' : base;
}

export type ProbeFormat = 'safetensors' | 'gguf' | 'pickle' | 'unknown';

/** An AutoV3 that the trainer wrote into the header, so a LoRA can be looked up before hashing. */
export interface EmbeddedAutoV3 {
  /** 64 upper-case hex digits. */
  full: string;
  /** The first 12, the form Civitai stores and searches by. */
  short: string;
  source: 'sshs_model_hash' | 'modelspec.hash_sha256';
}

/** A GGUF array that was too long to keep: its element type and length only. */
export interface GgufArraySummary {
  type: 'array';
  itemType: string;
  length: number;
}

export type GgufScalar = string | number | boolean;
export type GgufValue = GgufScalar | GgufScalar[] | GgufArraySummary;

export interface GgufInfo {
  version: number;
  tensorCount: number;
  kvCount: number;
  /** The key/value metadata that was read (at most a capped number of keys, long strings cut). */
  metadata: Record<string, GgufValue>;
  /** True when a cap stopped the read before all keys (or tensor names) were seen. */
  truncated: boolean;
}

export interface ProbeResult {
  file: string;
  size: number;
  format: ProbeFormat;
  kind: ModelKind;
  baseModel: BaseModel;
  /** Short human-readable reasons, strongest first, e.g. `ss_base_model_version=sdxl_base_v1-0`. */
  evidence: string[];
  /** Present when sources disagreed; says which one was used. */
  conflicts?: string[];
  embeddedAutoV3?: EmbeddedAutoV3;
  /** The safetensors `__metadata__` map, as stored (values can be very long). */
  metadata?: Record<string, string>;
  tensorCount?: number;
  gguf?: GgufInfo;
}

/** The shape of one tensor, in PyTorch order (outermost first). */
export interface TensorShape {
  shape: readonly number[];
}

/** What the inference rules look at; built from a safetensors or GGUF header. */
export interface ModelView {
  /** The file name without directories, for name hints. */
  fileName: string;
  /** String metadata (safetensors `__metadata__`); empty for other formats. */
  metadata: Readonly<Record<string, string>>;
  tensors: ReadonlyMap<string, TensorShape>;
}

/** An inference step's answer plus the reasons for it. */
export interface Inference<T> {
  value: T;
  evidence: string[];
  conflicts: string[];
}

export interface ProbeOptions {
  /**
   * What the caller believes the kind is (e.g. from the folder the file sits in).
   * Used only when the file itself says nothing; recorded in the evidence.
   */
  kindHint?: ModelKind;
}
