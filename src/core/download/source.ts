/**
 * What the user asked to download, read into one of three sources: a Civitai
 * version or model (every form the lookup understands), a HuggingFace file
 * (`/{repo}/resolve|blob/{rev}/{path}`), or any other https file URL.
 *
 * Civitai's download URL carries file selectors (`type`, `format`, `size`,
 * `fp`); they are kept so the same file is picked as Civitai would pick it.
 */
import { InvalidReference, parseAir, parseCivitaiUrl, parseReference } from '../civitai';
import { DownloadError } from './errors';

/** Civitai's file selectors, as its download URL names them. */
export interface FileSelector {
  type?: string;
  format?: string;
  size?: string;
  fp?: string;
}

export type DownloadSource =
  | { kind: 'civitai'; modelId: number | null; versionId: number | null; fileId: number | null; selector: FileSelector; input: string }
  | { kind: 'huggingface'; repo: string; revision: string; path: string; input: string }
  | { kind: 'url'; url: string; input: string };

const SELECTOR_KEYS = ['type', 'format', 'size', 'fp'] as const;

/** Reads `--file type=Pruned Model,fp=fp16` (or `fp16`, `safetensors`, `pruned`) into a selector. */
export function parseFileSelector(text: string | undefined): FileSelector {
  const out: FileSelector = {};
  if (!text) return out;
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      const key = part.slice(0, eq).trim().toLowerCase();
      if (!(SELECTOR_KEYS as readonly string[]).includes(key)) throw new DownloadError('bad_source', `--file: unknown key "${key}" (use type, format, size, fp)`);
      out[key as keyof FileSelector] = part.slice(eq + 1).trim();
      continue;
    }
    // Bare words, as a user types them: fp16, bf16, fp32, pruned, full, safetensors, ckpt...
    const w = part.toLowerCase();
    if (/^(fp|bf)\d+$/.test(w) || w === 'nf4' || w === 'fp8') out.fp = w;
    else if (w === 'pruned' || w === 'full') out.size = w;
    else if (['safetensors', 'pickletensor', 'ckpt', 'gguf', 'diffusers', 'other'].includes(w)) out.format = w === 'ckpt' ? 'PickleTensor' : w === 'safetensors' ? 'SafeTensor' : part;
    else out.type = part;
  }
  return out;
}

/** HuggingFace's site, or `HF_ENDPOINT` (how huggingface_hub users point at a mirror). */
export function huggingFaceOrigin(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.HF_ENDPOINT?.trim();
  if (!configured) return 'https://huggingface.co';
  try {
    return new URL(configured).origin;
  } catch {
    throw new DownloadError('bad_source', `HF_ENDPOINT is not a URL`);
  }
}

export function parseSource(input: string, env: NodeJS.ProcessEnv = process.env): DownloadSource {
  const text = input.trim();
  if (!text) throw new DownloadError('bad_source', 'empty download reference');
  if (/^\d+$/.test(text)) return civitai(null, Number(text), null, {}, text);
  const air = parseAir(text);
  if (air) return civitai(air.modelId, air.versionId, air.fileId, air.format ? { format: air.format } : {}, text);
  const civ = parseCivitaiUrl(text);
  if (civ && (civ.modelId || civ.versionId)) {
    const selector: FileSelector = {};
    const url = new URL(/^https?:/i.test(text) ? text : `https://${text}`);
    for (const k of SELECTOR_KEYS) {
      const v = url.searchParams.get(k);
      if (v) selector[k] = v;
    }
    const fileId = Number(url.searchParams.get('fileId')) || null;
    return civitai(civ.modelId, civ.versionId, fileId, selector, text);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Hashes, images and garbage: say what is accepted.
    try {
      parseReference(text);
    } catch (err) {
      if (err instanceof InvalidReference) throw new DownloadError('bad_source', `${text.slice(0, 200)}: not a Civitai link, AIR, version id, HuggingFace link or https URL`);
    }
    throw new DownloadError('bad_source', `${text.slice(0, 200)}: names no downloadable file (a hash or an image); give a model or version link`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DownloadError('bad_source', `${url.protocol} URLs are not downloaded; give an https URL`);
  const hf = huggingFaceFile(url, env);
  if (hf) return { ...hf, input: text };
  if (civ) throw new DownloadError('bad_source', `${text.slice(0, 200)}: a Civitai link that names no model or version`);
  return { kind: 'url', url: url.href, input: text };
}

function civitai(modelId: number | null, versionId: number | null, fileId: number | null, selector: FileSelector, input: string): DownloadSource {
  return { kind: 'civitai', modelId, versionId, fileId, selector, input };
}

/** `/{owner}/{name}/resolve|blob/{revision}/{path...}` on huggingface.co (or HF_ENDPOINT); null for anything else. */
function huggingFaceFile(url: URL, env: NodeJS.ProcessEnv): { kind: 'huggingface'; repo: string; revision: string; path: string } | null {
  const origin = huggingFaceOrigin(env);
  const isHf = url.origin === origin || /^(www\.)?huggingface\.co$/i.test(url.hostname) || /^hf\.co$/i.test(url.hostname);
  if (!isHf) return null;
  const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  // Datasets and spaces have a prefix; models do not.
  const offset = segs[0] === 'datasets' || segs[0] === 'spaces' ? 1 : 0;
  const [owner, name, mode, revision, ...rest] = segs.slice(offset);
  if (!owner || !name || (mode !== 'resolve' && mode !== 'blob') || !revision || rest.length === 0) {
    throw new DownloadError('bad_source', `${url.origin}${url.pathname}: not a HuggingFace file link (expected /{repo}/resolve/{revision}/{path})`);
  }
  if (rest.some((s) => s === '..' || s === '.')) throw new DownloadError('bad_source', `${url.pathname}: path with ".."`);
  return { kind: 'huggingface', repo: `${offset ? segs[0] + '/' : ''}${owner}/${name}`, revision, path: rest.join('/') };
}
