/**
 * A file `get` has just verified, put into the index as a scan would have left
 * it: probed, fingerprinted, with the hashes computed while its bytes streamed
 * in (so the next scan sees an unchanged file and opens nothing), identified,
 * and with sidecars and a preview beside it.
 */
import { stat } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import type { CivitaiClient, ModelVersion } from '../civitai';
import type { FileHashes, HashName } from '../hash/names';
import type { OutboundPolicy } from '../net';
import { examineFile } from './examine';
import { fingerprint } from './fingerprint';
import { applyFound, identifyEntries } from './identify';
import { folderKind } from './layouts';
import { fetchParentModels, withParentPending } from './parent-models';
import { syncSidecars } from './sidecar-sync';
import type { HuggingFaceOrigin, ModelEntry } from './types';

export interface DownloadedFile {
  /** Absolute path, inside `root`. */
  absolute: string;
  hashes: FileHashes;
  /** The Civitai version it was downloaded as, when it came from Civitai. */
  version?: ModelVersion;
  previews: boolean;
  nsfwLevel: number;
  /** Where it came from, when it came from HuggingFace. */
  huggingFace?: HuggingFaceOrigin;
}

/** The entry to store, built without the index lock (it reads the file's header and may ask Civitai). */
export async function entryForDownload(root: string, file: DownloadedFile, deps: { client: CivitaiClient | null; policy: OutboundPolicy; now: number }): Promise<ModelEntry> {
  const st = await stat(file.absolute);
  const path = relative(root, file.absolute).split('\\').join('/');
  const found = { root, path, absolute: file.absolute, size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino, folderKind: folderKind(dirname(file.absolute)) };
  const fp = await fingerprint(file.absolute, st.size);
  let entry = await examineFile(found, fp, undefined, { a1111Cache: null, now: deps.now, listings: new Map() });
  const hashes = { ...entry.hashes };
  const hashSources = { ...entry.hashSources };
  for (const [name, value] of Object.entries(file.hashes)) {
    if (!value) continue;
    hashes[name as HashName] = value;
    if (name !== 'AutoV3Full') hashSources[name as HashName] = 'computed';
  }
  // Its own warnings list (pushed to below), never one shared with a stored entry.
  entry = { ...entry, hashes, hashSources, verified: true, warnings: [...entry.warnings], ...(file.huggingFace ? { huggingFace: file.huggingFace } : {}) };
  let version = file.version;
  if (deps.client) {
    if (version) {
      entry = applyFound(entry, version, 'SHA256', deps.now);
    } else {
      // A HuggingFace or plain URL file may still be on Civitai: one bulk by-hash question.
      const [outcome] = await identifyEntries(deps.client, [entry], { now: deps.now });
      entry = outcome.entry;
      version = outcome.version;
    }
    if (version) {
      const parents = await fetchParentModels(deps.client, [version.modelId]);
      if (parents.warning) entry.warnings.push(parents.warning);
      entry = withParentPending(entry, parents.failed.has(version.modelId));
      const synced = await syncSidecars(root, [{ entry, version, parent: parents.models.get(version.modelId) }], { previews: file.previews, nsfwLevel: file.nsfwLevel, policy: deps.policy }, (w) => entry.warnings.push(w.message));
      entry = synced.entries[0] ?? entry;
    }
  }
  return entry;
}
