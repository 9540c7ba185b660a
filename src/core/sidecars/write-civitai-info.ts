/**
 * `base.civitai.info` as Civitai Helper writes it (sidecar-formats.md §3): the
 * by-hash body, `json.dumps(body, indent=4)`. qDiffusion, A1111 extensions and
 * ComfyUI-Lora-Manager (which imports it when it has no `.metadata.json`) read it.
 *
 * We keep typed `ModelVersion`s, not raw bodies, so the body is rebuilt with
 * Civitai's own key names and order (civitai-api.md §4.3) from what we parsed.
 * Download URLs were rebuilt from ids at parse time; any `token` query
 * parameter is stripped again here, so a token can never reach a file.
 *
 * With the parent model (from `GET /models?ids=`), the fields Civitai Helper's
 * fork adds are written where it puts them, because ComfyUI-Lora-Manager
 * imports them from here: `model.description`, `model.tags`, the four
 * `model.allow*` license fields, and a top-level `creator: {username, image}`.
 * Without it (the fetch failed) those keys are left out rather than guessed.
 *
 * An existing file is replaced only when it holds nothing (missing, empty,
 * `{}`, or id-less: CH's "not found") or modeldeck wrote it (it carries our
 * `extensions.modeldeck` block), unless `overwrite`. A CHZ `extensions` block
 * is kept.
 */
import type { Model, ModelVersion, PreviewImage, VersionFile } from '../civitai/parse';
import { HASH_NAMES } from '../hash/names';
import { version as modeldeckVersion } from '../../version';
import { isPlainObject, readJsonCapped, refusedSidecarWarning, throwIfTransient } from './json-file';
import { pythonStyleJson } from './json-write';
import { checkedTarget, sidecarBase, writeFileAtomic } from './paths';

export interface WriteCivitaiInfoOptions {
  /** Replace a file another tool wrote (or an unreadable one). Default false. */
  overwrite?: boolean;
  /** The version's model, for its description, tags, license and creator. */
  parent?: Model;
  /** For tests: the time recorded in our extensions block (ms since epoch). */
  now?: number;
}

export interface SidecarWriteResult {
  /** Absolute path of the sidecar (written or not). */
  file: string;
  written: boolean;
  /** Why nothing was written, when it was not. */
  skipped?: string;
  warnings: string[];
}

/** Civitai's order of hash keys in `files[].hashes` (civitai-api.md §6). */
const CIVITAI_HASH_ORDER = ['AutoV1', 'AutoV2', 'SHA256', 'CRC32', 'BLAKE3', 'AutoV3'] as const;

export async function writeCivitaiInfo(
  root: string,
  modelPath: string,
  version: ModelVersion,
  options: WriteCivitaiInfoOptions = {},
): Promise<SidecarWriteResult> {
  const target = await checkedTarget(root, sidecarBase(modelPath) + '.civitai.info');
  const warnings: string[] = [];
  const existing = await readJsonCapped(target);
  throwIfTransient(existing);
  let keepExtensions: Record<string, unknown> | undefined;
  if (existing.kind === 'ok' && isPlainObject(existing.value)) {
    const old = existing.value;
    if (isPlainObject(old.extensions)) keepExtensions = { ...old.extensions };
    const ours = keepExtensions !== undefined && isPlainObject(keepExtensions.modeldeck);
    const holdsNothing = Object.keys(old).length === 0 || old.id === undefined || old.id === null;
    if (!ours && !holdsNothing && !options.overwrite) {
      return { file: target, written: false, skipped: 'another tool wrote it; not replaced (use overwrite)', warnings };
    }
  } else if (existing.kind === 'bad' && existing.refused) {
    // A link or a FIFO is someone else's arrangement: never replaced, even when asked.
    return { file: target, written: false, skipped: existing.reason, warnings: [refusedSidecarWarning(target, existing.reason)] };
  } else if (existing.kind === 'ok' || existing.kind === 'bad') {
    if (!options.overwrite) {
      const why = existing.kind === 'bad' ? existing.reason : 'not a JSON object';
      return { file: target, written: false, skipped: `existing file is unusable (${why}); left as it is`, warnings: [`${target}: ${why}; not replaced`] };
    }
  }
  const body = civitaiInfoBody(version, options.parent);
  body.extensions = {
    ...(keepExtensions ?? {}),
    modeldeck: { version: modeldeckVersion, last_update: Math.floor((options.now ?? Date.now()) / 1000) },
  };
  await writeFileAtomic(target, pythonStyleJson(body) + '\n');
  return { file: target, written: true, warnings };
}

/** The by-hash body of `version` (plus its parent's fields, when given), keys as Civitai names and orders them. */
export function civitaiInfoBody(v: ModelVersion, parent?: Model): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: v.id,
    modelId: v.modelId,
    name: v.name,
    createdAt: v.createdAt,
    ...(v.updatedAt ? { updatedAt: v.updatedAt } : {}),
    status: v.status ?? 'Published',
    publishedAt: v.publishedAt,
    trainedWords: v.trainedWords,
    baseModel: v.baseModel,
  };
  if (v.baseModelType !== null) body.baseModelType = v.baseModelType;
  body.description = v.description;
  if (v.air !== null) body.air = v.air;
  if (v.nsfwLevel !== null) body.nsfwLevel = v.nsfwLevel;
  body.stats = { downloadCount: v.stats.downloadCount ?? 0, thumbsUpCount: v.stats.thumbsUpCount ?? 0 };
  body.model = { name: v.model.name, type: v.model.type, nsfw: v.model.nsfw, poi: v.model.poi, ...(v.model.mode ? { mode: v.model.mode } : {}) };
  if (parent && parent.id === v.modelId) withParentFields(body, parent);
  body.files = v.files.map(fileBody);
  body.images = v.images.map(imageBody);
  body.downloadUrl = withoutToken(v.downloadUrl);
  return body;
}

/**
 * Adds the parent model's fields to our own `.civitai.info`, as written
 * without them when the parent could not be fetched: the rest of the file (the
 * by-hash body, which a model answer cannot rebuild: it lacks `air`, dates and
 * image `meta`) stays as it is. Any other file, or one for another model, is
 * left alone.
 */
export async function addParentToCivitaiInfo(root: string, modelPath: string, parent: Model, options: { now?: number } = {}): Promise<SidecarWriteResult> {
  const target = await checkedTarget(root, sidecarBase(modelPath) + '.civitai.info');
  const existing = await readJsonCapped(target);
  throwIfTransient(existing);
  const body = existing.kind === 'ok' && isPlainObject(existing.value) ? existing.value : undefined;
  const extensions = body && isPlainObject(body.extensions) ? body.extensions : undefined;
  if (!body || !extensions || !isPlainObject(extensions.modeldeck) || !isPlainObject(body.model)) {
    return { file: target, written: false, skipped: 'not a .civitai.info modeldeck wrote; left as it is', warnings: [] };
  }
  if (body.modelId !== parent.id) return { file: target, written: false, skipped: `describes model ${String(body.modelId)}, not ${parent.id}`, warnings: [] };
  withParentFields(body, parent);
  extensions.modeldeck = { ...extensions.modeldeck, last_update: Math.floor((options.now ?? Date.now()) / 1000) };
  await writeFileAtomic(target, pythonStyleJson(body) + '\n');
  return { file: target, written: true, warnings: [] };
}

/**
 * CHZ's parent fields: under `model` the description, tags and license (a
 * flag Civitai did not send is left out: LM would read a made-up `false` as
 * "not allowed"), and a top-level `creator`.
 */
function withParentFields(body: Record<string, unknown>, m: Model): void {
  const model = body.model as Record<string, unknown>;
  model.description = m.description;
  model.tags = m.tags;
  if (m.allowNoCredit !== null) model.allowNoCredit = m.allowNoCredit;
  model.allowCommercialUse = m.allowCommercialUse;
  if (m.allowDerivatives !== null) model.allowDerivatives = m.allowDerivatives;
  if (m.allowDifferentLicense !== null) model.allowDifferentLicense = m.allowDifferentLicense;
  // Civitai's own system user has no creator object; then there is nothing to credit.
  if (m.creator) body.creator = { username: m.creator, image: m.creatorImage ? withoutToken(m.creatorImage) : null };
}

function fileBody(f: VersionFile): Record<string, unknown> {
  const hashes: Record<string, string> = {};
  for (const k of CIVITAI_HASH_ORDER) if (f.hashes[k]) hashes[k] = f.hashes[k]!;
  // Any hash name Civitai adds later that we parsed (HASH_NAMES) but do not order above.
  for (const k of HASH_NAMES) if (f.hashes[k] && !(k in hashes)) hashes[k] = f.hashes[k]!;
  return {
    ...(f.id !== null ? { id: f.id } : {}),
    sizeKB: f.sizeKB,
    name: f.name,
    type: f.type,
    pickleScanResult: f.pickleScanResult,
    virusScanResult: f.virusScanResult,
    metadata: { format: f.format, size: f.size, fp: f.fp },
    hashes,
    primary: f.primary,
    downloadUrl: withoutToken(f.downloadUrl),
  };
}

/** `meta` is left out when Civitai sent none: CHZ's "use preview prompt" fails on `"meta": null`. */
function imageBody(i: PreviewImage): Record<string, unknown> {
  return {
    url: withoutToken(i.url),
    nsfwLevel: i.nsfwLevel,
    width: i.width,
    height: i.height,
    hash: i.blurhash,
    type: i.type,
    ...(i.meta ? { meta: i.meta } : {}),
  };
}

/** `url` without any `token` query parameter (any case). Unparseable input loses anything that looks like one. */
export function withoutToken(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (k.toLowerCase() === 'token') u.searchParams.delete(k);
    return u.toString();
  } catch {
    return url.replace(/([?&])token=[^&#]*&?/gi, '$1').replace(/[?&]$/, '');
  }
}
