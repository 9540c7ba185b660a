/**
 * Everything a user pastes, read into ids: page URLs, download and API URLs on
 * every Civitai host, AIR strings, and bare hashes.
 *
 * Page URLs keep both ids (`/models/58390/slug?modelVersionId=62833` names the
 * version, not just the model; some tools drop it). Unknown input is an error
 * that lists the accepted forms, never a guess.
 */
import { InvalidReference } from './errors';

/** civitai.com (alias civitai.blue), civitai.red, civitai.green; with `www.` or `api.` (reference §1, §8.1). */
const HOST = /^(?:www\.|api\.)?civitai\.(?:com|red|green|blue)$/i;

export interface UrlIds {
  modelId: number | null;
  versionId: number | null;
  imageId: number | null;
  /** From an `/api/v1/model-versions/by-hash/<hash>` URL. */
  hash: string | null;
}

export interface AirIds {
  ecosystem: string;
  type: string;
  modelId: number;
  versionId: number | null;
  fileId: number | null;
  format: string | null;
}

export type CivitaiRef =
  | { kind: 'model'; modelId: number; versionId: number | null }
  | { kind: 'version'; versionId: number; modelId: null }
  | { kind: 'image'; imageId: number }
  | { kind: 'hash'; hash: string };

export const ACCEPTED_FORMS =
  'a model page URL (https://civitai.com/models/58390[/slug][?modelVersionId=62833], also on civitai.red/.green/.blue), ' +
  'https://civitai.com/model-versions/62833, a download URL (https://civitai.com/api/download/models/62833), ' +
  'an API URL (https://civitai.com/api/v1/models/58390 or /api/v1/model-versions/62833), ' +
  'an AIR (urn:air:sd1:lora:civitai:58390@62833, "urn:air:" optional), ' +
  'or a hash (SHA256 64 hex, AutoV3 12, AutoV2 10, AutoV1/CRC32 8, BLAKE3 64)';

/** A Civitai URL's ids, or null when it is not one (wrong host, unknown path, non-numeric id). */
export function parseCivitaiUrl(input: string): UrlIds | null {
  let text = input.trim();
  // Pasted without a scheme: "civitai.com/models/1".
  if (/^(?:www\.|api\.)?civitai\.[a-z]+\//i.test(text)) text = `https://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !HOST.test(url.hostname)) return null;
  const segs = url.pathname.split('/').filter(Boolean);
  const ids: UrlIds = { modelId: null, versionId: null, imageId: null, hash: null };
  const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) && Number(s) > 0 ? Number(s) : null);
  const at = (i: number) => segs[i]?.toLowerCase();

  if (at(0) === 'models') {
    ids.modelId = num(segs[1]);
    if (ids.modelId === null) return null;
    // Anything after the id is a slug; the version, if any, is in the query.
    ids.versionId = num(url.searchParams.get('modelVersionId') ?? undefined);
  } else if (at(0) === 'model-versions' && segs.length === 2) {
    ids.versionId = num(segs[1]);
  } else if (at(0) === 'images' && segs.length === 2) {
    ids.imageId = num(segs[1]);
  } else if (at(0) === 'api' && at(1) === 'download' && at(2) === 'models' && segs.length === 4) {
    ids.versionId = num(segs[3]);
  } else if (at(0) === 'api' && at(1) === 'v1' && at(2) === 'models' && segs.length === 4) {
    ids.modelId = num(segs[3]);
  } else if (at(0) === 'api' && at(1) === 'v1' && at(2) === 'model-versions' && segs.length === 4) {
    ids.versionId = num(segs[3]);
  } else if (at(0) === 'api' && at(1) === 'v1' && at(2) === 'model-versions' && at(3) === 'by-hash' && segs.length === 5) {
    ids.hash = isHash(segs[4]) ? segs[4].toUpperCase() : null;
  }
  return ids.modelId ?? ids.versionId ?? ids.imageId ?? ids.hash ? ids : null;
}

/**
 * Civitai AIR: `urn:air:{ecosystem}:{type}:civitai:{modelId}[@{versionId}][+{fileId}][.{format}]`,
 * with `urn:` and `air:` optional (reference §8.3, the strict form). Ids must be
 * numeric, so a `.format` suffix is never mistaken for part of an id. Other
 * sources (huggingface, civitai-r2) are not Civitai models: null.
 */
const AIR = /^(?:urn:)?(?:air:)?([a-z0-9_-]+):([a-z0-9_-]+):civitai:(\d+)(?:@(\d+))?(?:\+(\d+))?(?:\.([a-z0-9_-]+))?$/i;

export function parseAir(input: string): AirIds | null {
  const m = AIR.exec(input.trim());
  if (!m) return null;
  return {
    ecosystem: m[1].toLowerCase(),
    type: m[2].toLowerCase(),
    modelId: Number(m[3]),
    versionId: m[4] ? Number(m[4]) : null,
    fileId: m[5] ? Number(m[5]) : null,
    format: m[6] ?? null,
  };
}

/** Hex of a length Civitai stores: AutoV1/CRC32 8, AutoV2 10, AutoV3 12, SHA256/BLAKE3 64. */
export function isHash(s: string): boolean {
  return /^[0-9a-f]+$/i.test(s) && [8, 10, 12, 64].includes(s.length);
}

/** Any accepted form into one reference; InvalidReference otherwise. */
export function parseReference(input: string): CivitaiRef {
  const text = input.trim();
  const hashText = text.replace(/^0x/i, '');
  if (isHash(hashText)) return { kind: 'hash', hash: hashText.toUpperCase() };
  const air = parseAir(text);
  if (air) return { kind: 'model', modelId: air.modelId, versionId: air.versionId };
  const url = parseCivitaiUrl(text);
  if (url?.hash) return { kind: 'hash', hash: url.hash };
  if (url?.modelId) return { kind: 'model', modelId: url.modelId, versionId: url.versionId };
  if (url?.versionId) return { kind: 'version', versionId: url.versionId, modelId: null };
  if (url?.imageId) return { kind: 'image', imageId: url.imageId };
  throw new InvalidReference(text, ACCEPTED_FORMS);
}
