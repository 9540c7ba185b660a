/**
 * After an identification: leave what other tools read beside the model —
 * `.civitai.info` (Civitai Helper, qDiffusion, ComfyUI-Lora-Manager), A1111's
 * `.json` user metadata, and a `.preview.png` image — never overwriting what
 * the user already has. The parent model, when it could be fetched, adds its
 * tags, description, license and creator.
 *
 * On a mount that fails for a moment (Drive: ENOTCONN, EIO, ESTALE, EAGAIN)
 * each write is run again with backoff (retry-transient.ts): it reads what is
 * there, decides and writes a temporary file renamed over the target, so a
 * retry is safe and no half-written file ever has the sidecar's name. After
 * the last try the model gets a one-line warning and the next model goes on.
 */
import { basename, dirname } from 'node:path';
import type { Model, ModelVersion } from '../civitai';
import { addParentToCivitaiInfo, choosePreview, downloadPreviews, htmlToText, mergeA1111Json, writeCivitaiInfo, type SidecarWriteResult } from '../sidecars';
import type { OutboundPolicy } from '../net';
import type { IoRetryOptions } from '../io/resumable-file';
import { retryTransient } from '../io/retry-transient';
import type { ScanWarning } from './progress';
import type { ModelEntry } from './types';

export interface SidecarOptions {
  previews: boolean;
  nsfwLevel: number;
  signal?: AbortSignal;
  /** Previews downloaded at once. */
  concurrency?: number;
  /** Where previews may be fetched from (default: from the environment). */
  policy?: OutboundPolicy;
  /** Retries of writes a flaky mount refuses for a moment (the scan passes its own, with the Drive guard). */
  retry?: IoRetryOptions;
  /** Folder listings the caller has (a scan's walk), so previews list no folder again. */
  listings?: ReadonlyMap<string, Promise<readonly string[] | undefined>>;
}

export async function syncSidecars(
  root: string,
  found: { entry: ModelEntry; version: ModelVersion; parent?: Model }[],
  options: SidecarOptions,
  warn: (w: ScanWarning) => void,
): Promise<{ entries: ModelEntry[]; previews: number }> {
  const updated = new Map<string, ModelEntry>();
  const jobs: { entry: ModelEntry; url: string; modelPath: string }[] = [];
  for (const { entry, version, parent } of found) {
    const modelPath = `${root}/${entry.path}`;
    await runWrites(modelPath, warn, [
      () => writeCivitaiInfo(root, modelPath, version, { parent }),
      () => mergeA1111Json(root, modelPath, version, entry.kind, { parent }),
    ], options.retry);
    if (options.previews && !entry.preview) {
      const image = choosePreview(version.images, options.nsfwLevel);
      if (image) jobs.push({ entry, url: image.url, modelPath });
    }
  }
  let previews = 0;
  const results = await downloadPreviews(
    root,
    jobs.map((j) => ({ url: j.url, modelPath: j.modelPath })),
    { concurrency: options.concurrency ?? 4, signal: options.signal, policy: options.policy, retry: options.retry, listings: options.listings },
  );
  results.forEach((r, i) => {
    const { entry, modelPath } = jobs[i];
    if (r.file) {
      previews++;
      const rel = entry.path.includes('/') ? `${dirname(entry.path)}/${basename(r.file)}` : basename(r.file);
      updated.set(entry.path, { ...entry, preview: rel });
    } else if (r.error) {
      warn({ path: modelPath, message: r.error });
    }
  });
  return { entries: [...updated.values()], previews };
}

/**
 * Sidecars written earlier without their parent model: its fields go into our
 * `.civitai.info`, and its description into an A1111 `.json` that has none.
 */
export async function addParentToSidecars(root: string, done: { entry: ModelEntry; parent: Model }[], warn: (w: ScanWarning) => void, retry?: IoRetryOptions): Promise<void> {
  for (const { entry, parent } of done) {
    const modelPath = `${root}/${entry.path}`;
    await runWrites(modelPath, warn, [
      () => addParentToCivitaiInfo(root, modelPath, parent),
      () => (parent.description ? mergeA1111Json(root, modelPath, { description: htmlToText(parent.description) }) : undefined),
    ], retry);
  }
}

/** Runs each write; a warning or failure of one is a warning about this model, and the next still runs. */
async function runWrites(
  modelPath: string,
  warn: (w: ScanWarning) => void,
  writes: Array<() => Promise<SidecarWriteResult> | undefined>,
  retry: IoRetryOptions | undefined,
): Promise<void> {
  for (const write of writes) {
    try {
      const result = await retryTransient(modelPath, async () => write(), retry);
      for (const message of result?.warnings ?? []) warn({ path: modelPath, message });
    } catch (err) {
      warn({ path: modelPath, message: (err as Error).message });
    }
  }
}
