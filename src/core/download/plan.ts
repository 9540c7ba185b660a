/**
 * From a source to what to fetch: the first URL, the file's published SHA-256
 * and size when the source publishes them, its name, its kind, and which
 * origin gets which credential.
 *
 * Civitai: the version (a model link takes its latest published version), then
 * the file (`fileId`, the selectors, else the primary file), fetched from the
 * configured host's download URL so the token stays on that host.
 * HuggingFace: the resolve URL; its SHA-256 comes with the redirect
 * (`X-Linked-Etag`) or from the tree API.
 */
import type { CivitaiClient, ModelVersion, VersionFile } from '../civitai';
import { kindFromCivitaiType } from '../library/conflicts';
import { kindFromName } from '../probe/name-hints';
import type { ModelKind } from '../probe/types';
import { OriginCredentials } from './credentials';
import { DownloadError } from './errors';
import { nameFromUrl } from './file-name';
import { huggingFaceOrigin, type DownloadSource, type FileSelector } from './source';

export interface DownloadPlan {
  source: DownloadSource;
  url: string;
  /** Identifies the file for resume (never a signed URL or a token). */
  key: string;
  /** Name before sanitising; a Content-Disposition may replace it for a plain URL. */
  name: string | undefined;
  sha256?: string;
  size?: number;
  kind: ModelKind | undefined;
  version?: ModelVersion;
  file?: VersionFile;
  credentials: Map<string, string>;
  huggingFace?: { origin: string; repo: string; revision: string; path: string };
}

export async function planDownload(
  source: DownloadSource,
  deps: { client: CivitaiClient | null; env: NodeJS.ProcessEnv; selector?: FileSelector; signal?: AbortSignal },
): Promise<DownloadPlan> {
  const credentials = new OriginCredentials();
  if (source.kind === 'civitai') {
    if (!deps.client) throw new DownloadError('bad_source', 'a Civitai download needs Civitai, and it is switched off');
    const client = deps.client;
    const version = await civitaiVersion(client, source, deps.signal);
    const file = pickFile(version, source.fileId, { ...source.selector, ...deps.selector });
    if (client.config.token) credentials.set(new URL(client.config.baseUrl).origin, `Bearer ${client.config.token}`);
    return {
      source,
      url: file.downloadUrl,
      key: `civitai:${version.id}:${file.id ?? file.name}`,
      name: file.name,
      sha256: file.hashes.SHA256,
      size: file.sizeKB ? Math.round(file.sizeKB * 1024) : undefined,
      kind: kindFromCivitaiType(version.model.type) ?? kindFromName(file.name)?.kind,
      version,
      file,
      credentials,
    };
  }
  if (source.kind === 'huggingface') {
    const origin = huggingFaceOrigin(deps.env);
    const token = deps.env.HF_TOKEN?.trim() || deps.env.HUGGING_FACE_HUB_TOKEN?.trim();
    if (token) credentials.set(origin, `Bearer ${token}`);
    const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
    const name = source.path.split('/').pop();
    return {
      source,
      url: `${origin}/${enc(source.repo)}/resolve/${encodeURIComponent(source.revision)}/${enc(source.path)}`,
      key: `hf:${source.repo}@${source.revision}:${source.path}`,
      name,
      kind: name ? kindFromName(name)?.kind : undefined,
      credentials,
      huggingFace: { origin, repo: source.repo, revision: source.revision, path: source.path },
    };
  }
  const u = new URL(source.url);
  const name = nameFromUrl(source.url);
  return { source, url: source.url, key: `url:${u.origin}${u.pathname}`, name, kind: name ? kindFromName(name)?.kind : undefined, credentials };
}

async function civitaiVersion(client: CivitaiClient, source: Extract<DownloadSource, { kind: 'civitai' }>, signal?: AbortSignal): Promise<ModelVersion> {
  if (source.versionId) return client.getVersion(source.versionId, { signal });
  const model = await client.getModel(source.modelId!, { signal });
  // Newest first, as Civitai lists them; the first published one.
  const version = model.versions.find((v) => !v.status || v.status === 'Published');
  if (!version) throw new DownloadError('no_file', `Civitai model ${source.modelId}: no published version`);
  // A model body's versions may lack files; the version body has them all.
  return version.files.length ? { ...version, model: { ...version.model, type: version.model.type || model.type } } : client.getVersion(version.id, { signal });
}

/** The file Civitai's download URL would serve for these selectors. */
export function pickFile(version: ModelVersion, fileId: number | null, selector: FileSelector): VersionFile {
  const files = version.files;
  if (files.length === 0) throw new DownloadError('no_file', `Civitai version ${version.id}: no files`);
  if (fileId) {
    const f = files.find((x) => x.id === fileId);
    if (!f) throw new DownloadError('no_file', `Civitai version ${version.id}: no file with id ${fileId}`);
    return f;
  }
  const eq = (a: string | null | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();
  const keys = (Object.keys(selector) as Array<keyof FileSelector>).filter((k) => selector[k]);
  if (keys.length) {
    const f = files.find((x) => keys.every((k) => eq(k === 'type' ? x.type : x[k], selector[k]!)));
    if (!f) {
      const have = files.map((x) => [x.type, x.format, x.size, x.fp].filter(Boolean).join('/')).join('; ');
      throw new DownloadError('no_file', `Civitai version ${version.id}: no file matches ${keys.map((k) => `${k}=${selector[k]}`).join(',')} (it has: ${have})`);
    }
    return f;
  }
  return files.find((f) => f.primary) ?? files.find((f) => f.type === 'Model') ?? files[0];
}
