/**
 * Preview images: which one to take from a version, and saving it beside the
 * model as `base.preview.png` (sidecar-formats.md §2.2, §3, §10).
 *
 * - The name is `.preview.png` whatever the bytes are: Civitai Helper counts
 *   only that name as an existing preview (and downloads a duplicate
 *   otherwise), qDiffusion looks for `.preview.png`, `.png`, `.jpg`, `.jpeg`
 *   only, and CH, its fork and the Civitai browser extensions all write it.
 *   Browsers, PIL and Qt read the real format from the bytes. modeldeck saves
 *   still images only; a video preview would keep its own extension.
 * - The bytes must still be an image: PNG, JPEG, WebP or GIF; anything else
 *   (an HTML error page, a video, garbage) is an error and nothing is written.
 *   WebP is not asked for (`Accept`), so Civitai's image server answers JPEG
 *   or PNG, which every reader decodes.
 * - Downloads are capped in size while they stream (10 MB by default), held in
 *   memory, then written to a temporary file in the model's folder and renamed:
 *   a preview is whole or absent. Holding the bytes lets a write that a flaky
 *   mount (Drive) refuses for a moment be tried again without downloading the
 *   image again (retry-transient.ts).
 * - The model's folder is listed once for all its previews (or not at all when
 *   the caller has its listing, as a scan has from its walk). Just before the
 *   rename the exact target name is checked again (one stat, not a listing).
 * - An existing preview (any A1111-found name or any `.preview.*`, such as the
 *   `.preview.jpg`/`.webp` earlier modeldeck versions wrote) is never replaced
 *   unless asked.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import pLimit from 'p-limit';
import type { PreviewImage } from '../civitai/parse';
import { OutboundPolicy, RefusedUrlError } from '../net';
import { lstatOrNull } from '../safe-fs';
import type { IoRetryOptions } from '../io/resumable-file';
import { retryTransient } from '../io/retry-transient';
import { CancelledError, ModeldeckError, describeFsError } from '../errors';
import { checkedTarget, sidecarBase, writeFileAtomic } from './paths';
import { findPreview } from './read-peers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const undici = () => require('undici') as typeof import('undici');

/** Civitai's nsfwLevel bits (civitai-api.md §6). */
export const NSFW_LEVELS = { PG: 1, PG13: 2, R: 4, X: 8, XXX: 16, Blocked: 32 } as const;
/** Default limit: PG-13 and below (issue 4). */
export const DEFAULT_MAX_NSFW_LEVEL = NSFW_LEVELS.PG13;
export const DEFAULT_PREVIEW_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_PREVIEW_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 3;
/** The width Civitai's cards use; small enough for a widget grid, a cached edge variant (civitai-api.md §7.1). */
export const PREVIEW_WIDTH = 450;

export class PreviewError extends ModeldeckError {
  constructor(readonly modelPath: string, reason: string, options?: { cause?: unknown }) {
    super('preview', `${basename(modelPath)}: preview not saved: ${reason}`, options);
  }
}

/**
 * The image to use as a preview: the first still image (videos and audio
 * skipped; a video-only gallery gives none) whose level is within
 * `maxNsfwLevel`. An image without a level (or level 0, unrated) counts as over
 * the limit; Blocked images are never chosen. The URL is the `width=450` variant.
 */
export function choosePreview(images: readonly PreviewImage[], maxNsfwLevel: number = DEFAULT_MAX_NSFW_LEVEL): PreviewImage | null {
  const limit = Math.min(maxNsfwLevel, NSFW_LEVELS.XXX);
  for (const img of images) {
    if (img.type.toLowerCase() !== 'image') continue;
    const level = img.nsfwLevel;
    if (level === null || level < 1 || level > limit) continue;
    return { ...img, url: sizedImageUrl(img.url, PREVIEW_WIDTH) };
  }
  return null;
}

/** Keys of Civitai's image-transform path segment (civitai-api.md §7.1). */
const TRANSFORM_KEYS = new Set(['anim', 'transcode', 'width', 'height', 'original', 'fit', 'blur', 'quality', 'gravity', 'metadata', 'background', 'gamma', 'optimized', 'skip']);

/**
 * `.../<uuid>/<params>/<name>` with the params segment (`width=1664`,
 * `original=true`, `width=450,optimized=true`) replaced by `width=<width>`.
 * A URL without such a segment is returned unchanged.
 */
export function sizedImageUrl(url: string, width: number): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const segs = u.pathname.split('/');
  for (let i = segs.length - 2; i >= 1; i--) {
    const parts = segs[i].split(',');
    if (parts.length && parts.every((p) => /^[a-z]+=[^=]*$/i.test(p) && TRANSFORM_KEYS.has(p.split('=')[0].toLowerCase()))) {
      segs[i] = `width=${width}`;
      u.pathname = segs.join('/');
      return u.toString();
    }
  }
  return url;
}

export type ImageType = 'png' | 'jpg' | 'webp' | 'gif';

/** The image type the first bytes announce, or null (needs 12 bytes). */
export function sniffImageType(head: Uint8Array): ImageType | null {
  const b = head;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpg';
  const ascii = (from: number, to: number) => Buffer.from(b.subarray(from, to)).toString('latin1');
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

/** An existing preview beside the model: any A1111-found name, or any `base.preview.*`. */
export async function existingPreview(modelPath: string): Promise<string | undefined> {
  return previewIn(dirname(modelPath), basename(sidecarBase(modelPath)));
}

async function previewIn(dir: string, stem: string): Promise<string | undefined> {
  // findPreview knows A1111's names and any other `.preview.*` (temporary files excepted).
  return findPreview(stem, await readdir(dir).catch(() => [] as string[]));
}

export interface DownloadPreviewOptions {
  /** Which URLs may be fetched (every redirect hop is checked). Default: from the environment's Civitai settings. */
  policy?: OutboundPolicy;
  /** Bytes; the download is aborted past this. Default 10 MB. */
  maxBytes?: number;
  /** Whole download, headers to last byte. Default 60 s. */
  timeoutMs?: number;
  /** Replace an existing preview. Default false. */
  overwrite?: boolean;
  signal?: AbortSignal;
  /** The names in the model's folder, when the caller has listed it already (no readdir then). */
  listing?: readonly string[];
  /** How writes a flaky mount refuses for a moment are tried again (default as model reads). */
  retry?: IoRetryOptions;
}

/** The one name modeldeck gives a preview it writes (see the top of this file). */
export function previewTargetName(modelPath: string): string {
  return `${sidecarBase(modelPath)}.preview.png`;
}

/**
 * Downloads `url` to `base.preview.png` beside `modelPath` (inside `root`).
 * Returns the file name written. Throws PreviewError (nothing written) on an
 * existing preview, HTTP error, timeout, oversize or non-image bytes, and
 * CancelledError when `signal` aborts.
 */
export async function downloadPreview(root: string, url: string, modelPath: string, options: DownloadPreviewOptions = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? DEFAULT_PREVIEW_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PREVIEW_TIMEOUT_MS;
  const fail = (reason: string, cause?: unknown) => new PreviewError(modelPath, reason, cause ? { cause } : undefined);
  const targetName = previewTargetName(modelPath);
  const retry = { ...options.retry, signal: options.retry?.signal ?? options.signal };
  // Validates the folder (inside the root, also after symlinks) before any byte arrives.
  const probe = await retryTransient(targetName, () => checkedTarget(root, targetName), retry);
  const stem = basename(sidecarBase(modelPath));
  if (!options.overwrite) {
    const have = options.listing ? findPreview(stem, options.listing) : await previewIn(dirname(probe), stem);
    if (have) throw fail(`${have} already exists`);
  }
  if (options.signal?.aborted) throw new CancelledError(`preview for ${basename(modelPath)}`);

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, timeoutMs);
  const onAbort = () => controller.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const body = await openImageStream(url, options.policy ?? defaultPolicy(), controller.signal, timeoutMs, fail);
    const declared = Number(body.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      body.stream.destroy();
      throw fail(`image is ${declared} bytes, over the ${maxBytes}-byte cap`);
    }
    let type: ImageType | null = null;
    let head = Buffer.alloc(0);
    let total = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of body.stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        body.stream.destroy();
        throw fail(`image is over the ${maxBytes}-byte cap`);
      }
      if (!type && head.length < 12) {
        head = Buffer.concat([head, chunk.subarray(0, 12 - head.length)]);
        if (head.length >= 12) {
          type = sniffImageType(head);
          if (!type) {
            body.stream.destroy();
            throw fail(`not an image (the bytes are not PNG, JPEG, WebP or GIF)`);
          }
        }
      }
      chunks.push(chunk);
    }
    type = type ?? sniffImageType(head);
    if (!type) throw fail(total === 0 ? 'empty response' : 'not an image (the bytes are not PNG, JPEG, WebP or GIF)');
    const bytes = Buffer.concat(chunks, total);
    clearTimeout(timer); // the download is whole; the time limit was for it, not for a slow mount's write
    return await retryTransient(
      targetName,
      async () => {
        const target = await checkedTarget(root, targetName);
        // Another job (or tool) may have saved one meanwhile under our name; the window is this stat.
        if (!options.overwrite && (await lstatOrNull(target))) throw fail(`${basename(target)} already exists`);
        await writeFileAtomic(target, bytes);
        return basename(target);
      },
      retry,
    ).catch((err) => {
      throw err instanceof PreviewError ? err : fail((err as Error).message, err);
    });
  } catch (err) {
    if (options.signal?.aborted) throw new CancelledError(`preview for ${basename(modelPath)}`);
    const refused = refusalIn(err);
    if (refused) throw fail(refused.message, err);
    if (err instanceof PreviewError || err instanceof ModeldeckError) throw err;
    if (timedOut) throw fail(`no complete answer within ${Math.round(timeoutMs / 100) / 10} s`, err);
    throw fail(describeDownloadError(err), err);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

interface ImageStream {
  stream: NodeJS.ReadableStream & { destroy(): void };
  headers: Record<string, string | string[] | undefined>;
}

/** GET `url`, following at most MAX_REDIRECTS redirects, every hop checked against the policy; a 2xx body or a PreviewError. */
async function openImageStream(url: string, policy: OutboundPolicy, signal: AbortSignal, timeoutMs: number, fail: (r: string) => PreviewError): Promise<ImageStream> {
  let current: URL | string = url;
  for (let hop = 0; ; hop++) {
    const checked = refusedAsPreviewError(() => policy.check(current, 'preview'), fail);
    const res = await undici().request(checked, {
      method: 'GET',
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      dispatcher: policy.dispatcherFor(checked),
      headers: { accept: 'image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1' },
    });
    const { statusCode, headers } = res;
    if (statusCode >= 300 && statusCode < 400 && headers.location) {
      await res.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw fail(`more than ${MAX_REDIRECTS} redirects`);
      try {
        current = new URL(String(headers.location), checked);
      } catch {
        throw fail('the image server redirected to an invalid URL');
      }
      continue;
    }
    if (statusCode < 200 || statusCode >= 300) {
      await res.body.dump().catch(() => undefined);
      throw fail(`HTTP ${statusCode} from ${checked.host}`);
    }
    return { stream: res.body as unknown as ImageStream['stream'], headers: headers as ImageStream['headers'] };
  }
}

function refusedAsPreviewError(check: () => URL, fail: (r: string) => PreviewError): URL {
  try {
    return check();
  } catch (err) {
    if (err instanceof RefusedUrlError) throw fail(err.message);
    throw err;
  }
}

let sharedPolicy: OutboundPolicy | undefined;
/** For callers that pass no policy: the Civitai base from the environment, and MODELDECK_ALLOWED_ORIGINS. */
function defaultPolicy(): OutboundPolicy {
  return (sharedPolicy ??= OutboundPolicy.forCivitai());
}

function describeDownloadError(err: unknown): string {
  const refused = refusalIn(err);
  if (refused) return refused.message;
  const code = (err as { code?: string })?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'the image server stopped answering';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot reach the image server (${code})`;
  if (code && /^E[A-Z]+$/.test(code)) return describeFsError(err);
  return err instanceof Error ? err.message : String(err);
}

/** A refusal from the guarded lookup arrives wrapped by undici: find it among the causes. */
function refusalIn(err: unknown): RefusedUrlError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) if (e instanceof RefusedUrlError) return e;
  return null;
}

export interface PreviewJob {
  url: string;
  modelPath: string;
  overwrite?: boolean;
}

export interface PreviewResult {
  /** File name written beside the model. */
  file?: string;
  /** Set when a preview already existed (not an error). */
  existing?: string;
  /** One-line reason when nothing was written. */
  error?: string;
}

export interface DownloadPreviewsOptions extends Omit<DownloadPreviewOptions, 'overwrite' | 'listing'> {
  /** Downloads at once. Default 4. */
  concurrency?: number;
  overwrite?: boolean;
  /** Folder listings the caller already has (a scan's walk), by the folder's absolute path. */
  listings?: ReadonlyMap<string, Promise<readonly string[] | undefined>>;
}

/**
 * Downloads many previews with at most `concurrency` in flight. One result per
 * job, in order; a failure is that job's `error`, never a rejection.
 */
export async function downloadPreviews(root: string, jobs: readonly PreviewJob[], options: DownloadPreviewsOptions = {}): Promise<PreviewResult[]> {
  const limit = pLimit(Math.max(1, options.concurrency ?? 4));
  const { concurrency: _c, listings: given, ...one } = options;
  void _c;
  // One listing per folder for all its previews (a readdir is a round trip on Drive).
  const listings = new Map<string, Promise<string[]>>();
  const listingOf = (dir: string): Promise<string[]> => {
    let names = listings.get(dir);
    if (!names) {
      const known = given?.get(dir);
      names = (known ? known.then((n) => n ?? readdir(dir)) : readdir(dir)).then((n) => [...n]).catch(() => [] as string[]);
      listings.set(dir, names);
    }
    return names;
  };
  return Promise.all(
    jobs.map((job) =>
      limit(async (): Promise<PreviewResult> => {
        if (options.signal?.aborted) return { error: 'cancelled' };
        const overwrite = job.overwrite ?? options.overwrite ?? false;
        const listing = await listingOf(dirname(job.modelPath));
        if (!overwrite) {
          const have = findPreview(basename(sidecarBase(job.modelPath)), listing);
          if (have) return { existing: have };
        }
        try {
          const file = await downloadPreview(root, job.url, job.modelPath, { ...one, overwrite, listing });
          listing.push(file);
          return { file };
        } catch (err) {
          return { error: err instanceof Error ? err.message : String(err) };
        }
      }),
    ),
  );
}
