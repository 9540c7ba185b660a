/**
 * `get`: one reference in, one verified, identified, indexed model out.
 *
 *   plan (what, which file, its published SHA-256) → already in the library? →
 *   destination (kind folder of the root's layout, safe name, conflict rule) →
 *   free space → transfer into `<name>.part` (resumable, segmented, hashed) →
 *   verify → rename into place → index, identify, sidecars, preview.
 *
 * Nothing gets the final name before it verified; a mismatch leaves the bytes
 * in the `.part` and the index untouched.
 */
import { stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, sep } from 'node:path';
import { DEFAULT_HASHES, type FileHashes } from '../hash/names';
import type { HuggingFaceOrigin, Library, LibraryModel } from '../library';
import { probeFile } from '../probe';
import type { ModelKind } from '../probe/types';
import { RetriesExhausted, retryTransient } from '../io/retry-transient';
import { renameNoReplace } from '../library/no-replace';
import { ensureRealDir, lstatOrNull } from '../safe-fs';
import { checkedTarget } from '../sidecars/paths';
import { detectLayout, folderFor } from './destination';
import { DownloadError, urlForMessage } from './errors';
import { checkFreeSpace } from './free-space';
import { nameFromContentDisposition, safeFileName } from './file-name';
import { header } from './http-hop';
import { huggingFaceCard, huggingFaceSha256 } from './huggingface';
import { statePathFor } from './part-state';
import { planDownload, type DownloadPlan } from './plan';
import { parseSource, type FileSelector } from './source';
import { transfer, type TransferProgress } from './transfer';
import { mark } from './timeline';

export type OnConflict = 'skip' | 'rename';

export interface GetOptions {
  /** The library root to download into. */
  root: string;
  connections?: number;
  selector?: FileSelector;
  onConflict?: OnConflict;
  /** An absolute folder inside `root` to put the file in, instead of the layout's folder for its kind (an update goes beside the version it updates). */
  folder?: string;
  /** A kind to file a HuggingFace or URL download under when the name does not say. */
  kind?: ModelKind;
  previews?: boolean;
  nsfwLevel?: number;
  signal?: AbortSignal;
  stallMs?: number;
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: TransferProgress & { name: string }) => void;
  /** Called once the destination is known (before any byte). */
  onStart?: (info: { name: string; path: string; size?: number }) => void;
}

export type GetResult =
  | { status: 'downloaded'; input: string; path: string; model: LibraryModel; size: number; fetched: number; resumedFrom: number; verifiedBy: 'civitai' | 'huggingface' | 'none'; hashTailMs: number; indexMs: number }
  | { status: 'exists'; input: string; path: string; sha256: string }
  | { status: 'skipped'; input: string; path: string; reason: string };

/** Connections by default: measured in docs/benchmarks.md ("Downloads"). */
export const DEFAULT_CONNECTIONS = 4;
export const MAX_CONNECTIONS = 8;

export async function getOne(library: Library, input: string, options: GetOptions): Promise<GetResult> {
  const env = options.env ?? process.env;
  mark('get-start');
  const source = parseSource(input, env);
  const plan = await planDownload(source, { client: library.civitai, env, selector: options.selector, signal: options.signal });
  mark('planned');

  const already = plan.sha256 ? findBySha(library, plan.sha256) : undefined;
  if (already) return { status: 'exists', input, path: already.absolute, sha256: plan.sha256! };

  const root = library.roots.find((r) => r === options.root) ?? options.root;
  const layout = await detectLayout(root);
  const kind = plan.kind ?? options.kind ?? 'checkpoint';
  const folder = options.folder ?? join(root, folderFor(layout, kind));
  await makeFolders(root, folder);
  let name = safeFileName(plan.name ?? 'download.bin');
  const placed = await placeFor(root, folder, name, options.onConflict ?? 'rename', plan);
  if ('skipped' in placed) return { status: 'skipped', input, path: placed.path, reason: placed.skipped };
  let target = placed.target;
  name = basename(target);
  const partPath = `${target}.part`;
  options.onStart?.({ name, path: target, size: plan.size });
  mark('placed');

  let linkedSha: string | undefined;
  let repoCommit: string | undefined;
  // HuggingFace: the resolve answer (its redirect, or the file itself for a small non-LFS file) names the commit.
  const noteCommit = (headers: Record<string, string | string[] | undefined>) => {
    const c = header(headers, 'x-repo-commit')?.trim().toLowerCase();
    if (!repoCommit && c && /^[0-9a-f]{40}$/.test(c)) repoCommit = c;
  };
  // The model card is asked while the bytes stream in; it never fails the download.
  const card = plan.huggingFace ? huggingFaceCard(plan, library.outboundPolicy, options.signal) : undefined;
  const result = await transfer({
    url: plan.url,
    key: plan.key,
    partPath,
    finalName: name,
    connections: clampConnections(options.connections),
    policy: library.outboundPolicy,
    credentials: plan.credentials,
    limiter: source.kind === 'civitai' ? library.civitai?.limiter : undefined,
    hashes: DEFAULT_HASHES,
    signal: options.signal,
    stallMs: options.stallMs ?? envMs(env.MODELDECK_DOWNLOAD_STALL_MS),
    // Tests and slow links tune the retry spacing; the default is Civitai's advised 1 s, doubling.
    baseDelayMs: envMs(env.MODELDECK_DOWNLOAD_RETRY_MS),
    onRedirect: (_from, headers) => {
      const linked = header(headers, 'x-linked-etag');
      if (linked) linkedSha = cleanEtag(linked);
      if (plan.huggingFace) noteCommit(headers);
    },
    onFirstResponse: (res) => {
      if (plan.huggingFace) noteCommit(res.headers);
      if (!linkedSha) {
        const linked = header(res.headers, 'x-linked-etag');
        if (linked) linkedSha = cleanEtag(linked);
      }
      // A plain URL's server may name the file; the .part keeps its name, the final file takes this one.
      if (plan.source.kind === 'url') {
        const cd = nameFromContentDisposition(header(res.headers, 'content-disposition'));
        if (cd) plan.name = cd;
      }
    },
    beforeWrite: (size, onDisk) => checkFreeSpace(dirname(partPath), size - onDisk, env),
    onProgress: (p) => options.onProgress?.({ ...p, name }),
  });

  // Verification against what the source published.
  let expected = plan.sha256?.toUpperCase();
  let verifiedBy: 'civitai' | 'huggingface' | 'none' = expected ? 'civitai' : 'none';
  if (!expected && plan.huggingFace) {
    expected = linkedSha ?? (await huggingFaceSha256(plan, library.outboundPolicy, options.signal).catch(() => undefined));
    if (expected) verifiedBy = 'huggingface';
  }
  if (expected && expected !== result.hashes.SHA256) {
    // The bytes stay in the .part for inspection; the next get starts over.
    await unlink(statePathFor(partPath)).catch(() => undefined);
    throw new DownloadError('hash_mismatch', `${name}: SHA256 mismatch (expected ${expected}, got ${result.hashes.SHA256}); the bytes are kept in ${partPath}, nothing was added to the library`);
  }

  // A URL download whose final name changed (Content-Disposition), or whose kind only the probe can tell.
  if (plan.source.kind === 'url' && plan.name && safeFileName(plan.name) !== name) {
    const again = await placeFor(root, folder, safeFileName(plan.name), options.onConflict ?? 'rename', plan);
    if ('target' in again) target = again.target;
  }
  if (!plan.kind && !options.kind && !options.folder) target = await refileByProbe(root, layout, partPath, target, options.onConflict ?? 'rename', plan);

  const real = await checkedTarget(root, target);
  if (await lstatOrNull(real)) throw new DownloadError('exists', `${real}: appeared while downloading; the download is kept in ${partPath}`);
  const lastByte = Date.now();
  mark('verified');
  await putInPlace(partPath, real, options.signal);
  await unlink(statePathFor(partPath)).catch(() => undefined);
  const model = await library.addDownloaded({
    absolute: real,
    hashes: withoutUndefined(result.hashes),
    version: plan.version,
    previews: options.previews !== false,
    nsfwLevel: options.nsfwLevel ?? 2,
    huggingFace: plan.huggingFace ? { ...originOf(plan.huggingFace), ...(repoCommit ? { commit: repoCommit } : {}), ...(await card) } : undefined,
  });
  mark('indexed');
  return {
    status: 'downloaded',
    input,
    path: real,
    model,
    size: result.size,
    fetched: result.fetched,
    resumedFrom: result.resumedFrom,
    verifiedBy,
    hashTailMs: result.hashTailMs,
    indexMs: Date.now() - lastByte,
  };
}

/**
 * The verified `.part` under its final name: never over a file that appeared meanwhile
 * (no-replace.ts), and on a flaky mount tried again. A try the mount failed may still have
 * happened (Drive reports errors after the fact), so a later try first looks at what is there.
 */
async function putInPlace(partPath: string, real: string, signal: AbortSignal | undefined): Promise<void> {
  const part = await stat(partPath);
  await retryTransient(
    real,
    async (attempt) => {
      if (attempt > 1) {
        const [now, there] = await Promise.all([lstatOrNull(partPath), lstatOrNull(real)]);
        const ours = (st: typeof there) => !!st && st.isFile() && st.dev === part.dev && st.ino === part.ino;
        if (ours(there)) {
          // The rename (or the link before the unlink) went through: finish it.
          if (now) await unlink(partPath);
          return;
        }
      }
      try {
        if ((await renameNoReplace(partPath, real)) === 'cross-device') throw new DownloadError('write_failed', `${real}: not on the file system of its .part; the download is kept in ${partPath}`);
      } catch (err) {
        if ((err as { code?: string }).code === 'exists') throw new DownloadError('exists', `${real}: appeared while downloading; the download is kept in ${partPath}`);
        throw err;
      }
    },
    { signal },
  ).catch((err) => {
    if (!(err instanceof RetriesExhausted)) throw err;
    throw new DownloadError('write_failed', `${basename(real)}: verified, but the folder's mount kept failing its rename (${err.reason}); the download is kept in ${partPath}: run get again once the mount answers`, false, { cause: err });
  });
}

function originOf(hf: NonNullable<DownloadPlan['huggingFace']>): HuggingFaceOrigin {
  return { repo: hf.repo, revision: hf.revision, path: hf.path };
}

function findBySha(library: Library, sha256: string): LibraryModel | undefined {
  const want = sha256.toUpperCase();
  return library.models().find((m) => m.hashes.SHA256?.toUpperCase() === want);
}

/** Where the file goes: its name, or with `--on-conflict rename` the first free `name-N.ext`; a `.part` of the same download is reused. */
async function placeFor(root: string, folder: string, name: string, onConflict: OnConflict, plan: DownloadPlan): Promise<{ target: string } | { skipped: string; path: string }> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 1; n < 1000; n++) {
    const candidate = join(folder, n === 1 ? name : `${stem}-${n}${ext}`);
    const target = await checkedTarget(root, candidate);
    if (!(await lstatOrNull(target))) return { target };
    if (onConflict === 'skip') return { skipped: `a different file named ${name} is already there (--on-conflict skip)`, path: target };
  }
  throw new DownloadError('exists', `${urlForMessage(plan.url)}: no free name for ${name} in ${folder}`);
}

/**
 * Creates the missing folders from the root down to `folder`. Existing ones are
 * used as they are (a linked folder is the user's layout); `checkedTarget` then
 * checks that the real folder of the file is inside the root.
 */
async function makeFolders(root: string, folder: string): Promise<void> {
  const rel = relative(root, folder);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new DownloadError('bad_source', `${folder}: outside the library root ${root}`);
  let at = root;
  for (const part of rel.split(sep).filter(Boolean)) {
    at = join(at, part);
    const st = await stat(at).catch(() => null);
    if (st?.isDirectory()) continue;
    await ensureRealDir(at);
  }
}

/** For a file whose kind nothing told before the download: the probe decides its folder. */
async function refileByProbe(root: string, layout: Awaited<ReturnType<typeof detectLayout>>, partPath: string, target: string, onConflict: OnConflict, plan: DownloadPlan): Promise<string> {
  const probe = await probeFile(partPath, {}).catch(() => null);
  if (!probe || probe.kind === 'unknown' || probe.kind === 'checkpoint') return target;
  const folder = join(root, folderFor(layout, probe.kind));
  await makeFolders(root, folder);
  const placed = await placeFor(root, folder, basename(target), onConflict, plan);
  return 'target' in placed ? placed.target : target;
}

function clampConnections(n: number | undefined): number {
  if (n === undefined) return DEFAULT_CONNECTIONS;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONNECTIONS) throw new DownloadError('bad_source', `--connections: give 1 to ${MAX_CONNECTIONS}`);
  return n;
}

/** `"abc…"` or `W/"abc…"` to the upper-case 64-hex SHA-256 it carries, or undefined. */
function cleanEtag(v: string): string | undefined {
  const hex = v.replace(/^W\//, '').replace(/"/g, '').trim();
  return /^[0-9a-f]{64}$/i.test(hex) ? hex.toUpperCase() : undefined;
}

function envMs(v: string | undefined): number | undefined {
  const n = Number(v);
  return v && Number.isFinite(n) && n > 0 ? n : undefined;
}

function withoutUndefined(h: FileHashes): FileHashes {
  const out: FileHashes = {};
  for (const [k, v] of Object.entries(h)) if (v) (out as Record<string, string>)[k] = v;
  return out;
}
