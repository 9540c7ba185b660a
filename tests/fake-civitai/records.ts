/**
 * The fake's data: `/models` records (from the real fixture bodies, plus what a
 * test registers), and the derivations the real server performs on them
 * (reference §10): by-hash and model-version bodies are built from a model
 * record, not stored separately, so they cannot disagree with it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Raw = Record<string, any>;

export interface Located {
  model: Raw;
  version: Raw;
}

export interface NewFile {
  name: string;
  /** Hash name → hex (any case; stored upper-case, as Civitai does). */
  hashes: Record<string, string>;
  sizeKB?: number;
  type?: string;
  primary?: boolean;
  metadata?: { format?: string | null; size?: string | null; fp?: string | null };
  /** Bytes served by the download endpoint. */
  content?: Buffer;
}

export interface NewVersion {
  /** Add to this model (created when unknown). */
  modelId?: number;
  modelName?: string;
  /** Model type; default LORA. */
  type?: string;
  nsfw?: boolean;
  nsfwLevel?: number;
  versionId?: number;
  name?: string;
  baseModel?: string;
  trainedWords?: string[];
  /** Default Published; anything else is invisible to the API, as on Civitai. */
  status?: string;
  publishedAt?: string;
  /** `EarlyAccess` for a version in early access (with `earlyAccessEndsAt`). */
  availability?: string;
  earlyAccessEndsAt?: string;
  files: NewFile[];
  /** Preview images to generate. Default 2. */
  images?: number;
  /** Image URLs to list instead of generated ones (a hostile answer pointing at an internal host, say). */
  imageUrls?: string[];
  /** File extension of every image URL. Default: `.jpeg` and `.png` by turns. */
  imageExt?: 'jpeg' | 'png' | 'webp';
  /** Images carry no generation data (`meta: null`), as many uploads do. */
  imagesWithoutMeta?: boolean;
  /** Parent-model fields, for a model this call creates. */
  description?: string | null;
  tags?: string[];
  creator?: { username: string; image: string | null } | null;
  /** The version has no primary file: GET by-hash answers 404 "Missing model file", bulk answers null. */
  noPrimaryFile?: boolean;
  /** Downloads need a token. */
  requireAuth?: boolean;
}

/** Files loaded by default from the fixtures directory, oldest era first so newer records win. */
const FIXTURE_ORDER: RegExp[] = [/^wiki_models/, /^models-item_/, /^models_list_/, /^models-id_/];

/** Shared by every fake in the process, so two fakes (a main and a fallback host) never reuse an id. */
let nextId = 9_000_001;

export class Records {
  private readonly models = new Map<number, Raw>();
  /** File bytes for downloads, by file id. */
  readonly contents = new Map<number, Buffer>();

  /** Loads every `/models` record and every version body in `dir` (see its README). */
  loadFixtures(dir: string): void {
    const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    const ordered = FIXTURE_ORDER.flatMap((re) => names.filter((n) => re.test(n)));
    for (const name of ordered) {
      const body = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      for (const m of Array.isArray(body.items) ? body.items : [body]) if (m && Array.isArray(m.modelVersions)) this.addModel(m);
    }
    // Version bodies (by-hash / model-versions shape) become one-version models.
    for (const name of names.filter((n) => /^(PARTIAL_by-hash|wiki_model-versions-id)_/.test(n))) {
      const v = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      if (this.models.has(v.modelId)) continue;
      const { model, modelId, ...version } = v;
      this.addModel({ id: modelId, name: model.name, type: model.type, nsfw: model.nsfw, poi: model.poi, modelVersions: [version] });
    }
  }

  /** A `/models` record, stored as given (deep copy); replaces a record with the same id. */
  addModel(record: Raw): void {
    const copy = structuredClone(record);
    this.models.set(copy.id, copy);
  }

  /** Registers a version built from a test's own files; returns its ids. */
  addVersion(spec: NewVersion): { modelId: number; versionId: number; fileIds: number[] } {
    const modelId = spec.modelId ?? nextId++;
    const versionId = spec.versionId ?? nextId++;
    let model = this.models.get(modelId);
    if (!model) {
      model = {
        id: modelId,
        name: spec.modelName ?? `Test model ${modelId}`,
        description: spec.description ?? null,
        type: spec.type ?? 'LORA',
        poi: false,
        nsfw: spec.nsfw ?? false,
        nsfwLevel: spec.nsfwLevel ?? (spec.nsfw ? 28 : 1),
        allowNoCredit: true,
        allowCommercialUse: ['Image'],
        allowDerivatives: true,
        allowDifferentLicense: true,
        stats: { downloadCount: 0, thumbsUpCount: 0, commentCount: 0 },
        ...(spec.creator === null ? {} : { creator: spec.creator ?? { username: 'modeldeck-test', image: null } }),
        tags: spec.tags ?? [],
        modelVersions: [],
      };
      this.models.set(modelId, model);
    }
    const fileIds: number[] = [];
    const hasPrimary = spec.files.some((f) => f.primary);
    const files = spec.files.map((f, i) => {
      const id = nextId++;
      fileIds.push(id);
      if (f.content) this.contents.set(id, f.content);
      const primary = spec.noPrimaryFile ? false : (f.primary ?? (!hasPrimary && i === 0));
      return {
        id,
        sizeKB: f.sizeKB ?? (f.content ? f.content.length / 1024 : 1024),
        name: f.name,
        type: f.type ?? 'Model',
        pickleScanResult: 'Success',
        pickleScanMessage: 'No Pickle imports',
        virusScanResult: 'Success',
        virusScanMessage: null,
        scannedAt: '2025-01-01T00:00:00.000Z',
        metadata: { format: 'SafeTensor', size: null, fp: null, ...f.metadata },
        hashes: Object.fromEntries(Object.entries(f.hashes).map(([k, v]) => [k, v.toUpperCase()])),
        ...(primary ? { primary: true } : {}),
        downloadUrl: `https://civitai.com/api/download/models/${versionId}`,
      };
    });
    const images = Array.from({ length: spec.imageUrls?.length ?? spec.images ?? 2 }, (_, i) => ({
      id: nextId++,
      url: spec.imageUrls?.[i] ?? `https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/fake-${versionId}-${i}/width=450/${versionId}${i}.${spec.imageExt ?? (i % 2 ? 'png' : 'jpeg')}`,
      nsfwLevel: spec.nsfw ? 4 : 1,
      width: 8,
      height: 8,
      hash: 'U00000fQfQfQfQfQfQfQfQfQfQfQ',
      type: 'image',
      meta: spec.imagesWithoutMeta ? null : { prompt: `test prompt ${i}`, steps: 20 },
    }));
    const now = new Date().toISOString();
    model.modelVersions.unshift({
      id: versionId,
      modelId,
      name: spec.name ?? `v${versionId}`,
      createdAt: now,
      updatedAt: now,
      status: spec.status ?? 'Published',
      publishedAt: spec.publishedAt ?? now,
      ...(spec.availability ? { availability: spec.availability } : {}),
      ...(spec.earlyAccessEndsAt ? { earlyAccessEndsAt: spec.earlyAccessEndsAt } : {}),
      trainedWords: spec.trainedWords ?? [],
      baseModel: spec.baseModel ?? 'SDXL 1.0',
      baseModelType: 'Standard',
      nsfwLevel: spec.nsfw ? 28 : 1,
      description: null,
      stats: { downloadCount: 0, ratingCount: 0, rating: 0, thumbsUpCount: 0 },
      files,
      images,
      downloadUrl: `https://civitai.com/api/download/models/${versionId}`,
      ...(spec.noPrimaryFile ? { __noPrimaryFile: true } : {}),
      ...(spec.requireAuth ? { __requireAuth: true } : {}),
    });
    return { modelId, versionId, fileIds };
  }

  model(id: number): Raw | undefined {
    return this.models.get(id);
  }

  allModels(): Raw[] {
    return [...this.models.values()];
  }

  version(id: number): Located | undefined {
    for (const model of this.models.values()) {
      const version = (model.modelVersions ?? []).find((v: Raw) => v.id === id);
      if (version) return { model, version };
    }
    return undefined;
  }

  /** Published versions with a file holding `hash` under any hash type; oldest publishedAt, then lowest id, first. */
  byAnyHash(hash: string): Located[] {
    const h = hash.toUpperCase();
    return this.published()
      .filter(({ version }) => (version.files ?? []).some((f: Raw) => Object.values(f.hashes ?? {}).includes(h)))
      .sort(byPublication);
  }

  /** One entry per matching file (as the bulk endpoint answers), SHA256 only, in storage order. */
  bySha256(hashes: Set<string>): Array<Located & { file: Raw }> {
    const out: Array<Located & { file: Raw }> = [];
    for (const loc of this.published()) {
      for (const file of loc.version.files ?? []) if (hashes.has(file.hashes?.SHA256)) out.push({ ...loc, file });
    }
    return out;
  }

  private published(): Located[] {
    const out: Located[] = [];
    for (const model of this.models.values()) {
      if (model.status && model.status !== 'Published') continue;
      for (const version of model.modelVersions ?? []) if (isPublished(version)) out.push({ model, version });
    }
    return out;
  }
}

export function isPublished(version: Raw): boolean {
  return !version.status || version.status === 'Published';
}

function byPublication(a: Located, b: Located): number {
  const ta = Date.parse(a.version.publishedAt ?? a.version.createdAt ?? '') || Number.MAX_SAFE_INTEGER;
  const tb = Date.parse(b.version.publishedAt ?? b.version.createdAt ?? '') || Number.MAX_SAFE_INTEGER;
  return ta - tb || a.version.id - b.version.id;
}

// ---- derived bodies ----

/** Image URLs point at the fake's own image host, so previews work offline. */
export function rewriteImageUrl(url: string, origin: string): string {
  return url.replace(/^https?:\/\/image(?:cache)?\.civitai\.com\//, `${origin}/image-cdn/`);
}

function downloadUrlFor(version: Raw, file: Raw, origin: string): string {
  const url = new URL(`/api/download/models/${version.id}`, origin);
  if (file.primary === true) return url.toString();
  const meta = file.metadata ?? {};
  const parts: Array<[string, unknown]> = [['type', file.type], ['format', file.type === 'Training Data' ? null : meta.format], ['size', meta.size], ['fp', meta.fp]];
  for (const [k, v] of parts) if (v) url.searchParams.set(k, String(v));
  return url.toString();
}

function publicVersion(version: Raw): Raw {
  const out: Raw = {};
  for (const [k, v] of Object.entries(version)) if (!k.startsWith('__')) out[k] = v;
  return out;
}

/**
 * A `/models` record as `/models/:id` serves it: `primary` absent on
 * non-primary files, images without `id`, `mode` applied. The list endpoint
 * keeps image ids (`keepImageIds`).
 */
export function modelBody(model: Raw, origin: string, keepImageIds = false): Raw {
  const m = structuredClone(model);
  m.modelVersions = (m.modelVersions ?? []).filter(isPublished).map((v0: Raw) => {
    const v = publicVersion(v0);
    v.files = (v.files ?? []).map((f: Raw) => {
      const { primary, ...rest } = f;
      return { ...rest, ...(primary === true ? { primary: true } : {}), downloadUrl: downloadUrlFor(v, f, origin) };
    });
    v.images = (v.images ?? []).map((i: Raw) => {
      const { id, ...rest } = i;
      return { ...(keepImageIds && id !== undefined ? { id } : {}), ...rest, url: rewriteImageUrl(i.url, origin) };
    });
    v.downloadUrl = `${origin}/api/download/models/${v.id}`;
    if (m.mode === 'Archived' || m.mode === 'TakenDown') {
      delete v.files;
      delete v.downloadUrl;
    }
    if (m.mode === 'TakenDown') delete v.images;
    return v;
  });
  return m;
}

/** reference §8.3: type → AIR type. */
const AIR_TYPE: Record<string, string> = {
  Checkpoint: 'checkpoint', LORA: 'lora', LoCon: 'lycoris', DoRA: 'dora', TextualInversion: 'embedding',
  Hypernetwork: 'hypernet', AestheticGradient: 'ag', MotionModule: 'motion', Upscaler: 'upscaler', VAE: 'vae',
  Controlnet: 'controlnet', TextEncoder: 'text_encoders', UNet: 'unet', CLIPVision: 'clipvision', CLIP: 'clip',
  VisionLanguage: 'visionlanguage',
};

/** reference §8.3, the common part of baseModel → root ecosystem. */
function airEcosystem(baseModel: string | undefined, type: string): string {
  if (type === 'Upscaler') return 'other';
  const b = baseModel ?? 'Other';
  if (/^SD 1\./.test(b)) return 'sd1';
  if (/^SD 2\./.test(b)) return 'sd2';
  if (/^SD 3\.5 Medium$/.test(b)) return 'sd3_5m';
  if (/^SD 3/.test(b)) return 'sd3';
  if (/^(SDXL (0\.9|1\.0|Lightning|Hyper|Turbo)|Illustrious|NoobAI|Pony)( LCM)?$/.test(b) || b === 'SDXL 1.0 LCM') return 'sdxl';
  if (/^Flux\.1 [SD]$/.test(b)) return 'flux1';
  if (b === 'Other') return 'other';
  return b.toLowerCase();
}

/**
 * A model-version / by-hash body from a model record (reference §10): the
 * version plus `modelId`, `model`, `air`; `primary` true|false on every file;
 * stats cut to two counts; image ids dropped; the newer bookkeeping fields.
 */
export function versionBody(model: Raw, version: Raw, origin: string): Raw {
  const v = structuredClone(publicVersion(version));
  delete v.index;
  const files = (v.files ?? []).map((f: Raw) => ({ ...f, primary: f.primary === true, downloadUrl: downloadUrlFor(v, f, origin) }));
  const primary = files.find((f: Raw) => f.primary);
  const airType = primary?.type === 'Diffusion Model' ? 'diffusionmodel' : primary?.type === 'UNet' ? 'unet' : (AIR_TYPE[model.type] ?? 'unknown');
  return {
    id: v.id,
    modelId: model.id,
    name: v.name,
    createdAt: v.createdAt ?? null,
    updatedAt: v.updatedAt ?? null,
    status: v.status ?? 'Published',
    publishedAt: v.publishedAt ?? v.createdAt ?? null,
    trainedWords: v.trainedWords ?? [],
    trainingStatus: null,
    trainingDetails: null,
    baseModel: v.baseModel,
    baseModelType: v.baseModelType ?? null,
    earlyAccessEndsAt: null,
    earlyAccessConfig: null,
    description: v.description ?? null,
    uploadType: v.uploadType ?? 'Created',
    usageControl: v.usageControl ?? 'Download',
    air: v.air ?? `urn:air:${airEcosystem(v.baseModel, model.type)}:${airType}:civitai:${model.id}@${v.id}`,
    ...(v.nsfwLevel !== undefined ? { nsfwLevel: v.nsfwLevel } : {}),
    stats: { downloadCount: v.stats?.downloadCount ?? 0, thumbsUpCount: v.stats?.thumbsUpCount ?? 0 },
    model: { name: model.name, type: model.type, nsfw: model.nsfw ?? false, poi: model.poi ?? false, ...(model.mode ? { mode: model.mode } : {}) },
    files,
    images: (v.images ?? []).slice(0, 10).map((i: Raw) => {
      const { id, ...rest } = i;
      void id;
      return { ...rest, url: rewriteImageUrl(i.url, origin) };
    }),
    downloadUrl: `${origin}/api/download/models/${v.id}`,
  };
}
