/**
 * One model's full information for the details view: the entry, and what the
 * `.civitai.info` beside it says (description, gallery, files, stats).
 *
 * The sidecar may have been written by another tool or by hand: every field is
 * checked and clipped, and URLs lose any `token` parameter.
 */
import type { LibraryModel } from '../../core/library';
import { sidecarBase, withoutToken } from '../../core/sidecars';
import { isPlainObject, readJsonCapped } from '../../core/sidecars/json-file';
import type { CivitaiInfoSummary, ModelCard, ModelDetails } from '../protocol';

const INFO_MAX_BYTES = 4 * 1024 * 1024;
const MAX_IMAGES = 50;
const MAX_FILES = 50;

export async function modelDetails(model: LibraryModel, card: ModelCard): Promise<ModelDetails> {
  const read = await readJsonCapped(sidecarBase(model.absolute) + '.civitai.info', INFO_MAX_BYTES);
  const info = read.kind === 'ok' && isPlainObject(read.value) && read.value.id !== undefined ? summariseInfo(read.value) : null;
  // The origin was checked when the index was read (checkEntry): short single-line names only.
  return { card, evidence: [...model.evidence], fingerprint: model.fingerprint, info, ...(model.huggingFace ? { huggingFace: model.huggingFace } : {}) };
}

function summariseInfo(v: Record<string, unknown>): CivitaiInfoSummary {
  const model = isPlainObject(v.model) ? v.model : {};
  const stats = isPlainObject(v.stats) ? v.stats : {};
  const images = Array.isArray(v.images) ? v.images.filter(isPlainObject).slice(0, MAX_IMAGES) : [];
  const files = Array.isArray(v.files) ? v.files.filter(isPlainObject).slice(0, MAX_FILES) : [];
  return {
    modelName: text(model.name, 500),
    versionName: text(v.name, 500),
    type: text(model.type, 100),
    baseModel: text(v.baseModel, 100),
    description: text(v.description, 200_000),
    trainedWords: Array.isArray(v.trainedWords) ? v.trainedWords.map((w) => text(w, 1000)).filter((w): w is string => w !== null).slice(0, 200) : [],
    nsfwLevel: num(v.nsfwLevel),
    stats: { downloadCount: num(stats.downloadCount), thumbsUpCount: num(stats.thumbsUpCount) },
    images: images
      .map((i) => ({ url: httpUrl(i.url), nsfwLevel: num(i.nsfwLevel), width: num(i.width), height: num(i.height), type: text(i.type, 50) }))
      .filter((i): i is CivitaiInfoSummary['images'][number] => i.url !== null),
    files: files.map((f) => ({ name: text(f.name, 500) ?? '', sizeKB: num(f.sizeKB), type: text(f.type, 100), primary: f.primary === true })),
    createdAt: text(v.createdAt, 100),
    publishedAt: text(v.publishedAt, 100),
  };
}

function text(v: unknown, max: number): string | null {
  return typeof v === 'string' ? v.slice(0, max) : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Only http(s) URLs reach the page, without a token. */
function httpUrl(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > 4096) return null;
  try {
    const u = new URL(v);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
    return withoutToken(u.toString());
  } catch {
    return null;
  }
}
