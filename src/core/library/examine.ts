/**
 * Everything modeldeck can learn about a new or changed file without reading
 * it whole: what its header says (probe), what other tools already wrote beside
 * it (sidecars, A1111's hash cache), and where it sits (folder layout).
 */
import { readdir } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { FileAccessError } from '../errors';
import type { HashName } from '../hash/names';
import type { ResumableFile } from '../io/resumable-file';
import { probeFile, probeOpenFile, type ProbeResult } from '../probe';
import { readPeerSidecars, type A1111Cache } from '../sidecars';
import { findConflicts } from './conflicts';
import { withoutPath } from './progress';
import type { FoundFile } from './scan-tree';
import type { HashSource, ModelEntry } from './types';

export interface ExamineContext {
  a1111Cache: A1111Cache | null;
  now: number;
  /** Folder listings shared by every file of a scan: one readdir per folder, not per model (Drive is slow). */
  listings: Map<string, Promise<string[] | undefined>>;
}

/** How the warning of a model file that could not be opened begins (sidecar warnings begin with the sidecar's name). */
const UNREADABLE = 'unreadable: ';

/** Whether an entry's warning says the model file itself could not be read (so hashing it is pointless this scan). */
export function isUnreadableWarning(warning: string): boolean {
  return warning.startsWith(UNREADABLE);
}

export async function examineFile(
  found: FoundFile,
  fingerprint: string,
  previous: ModelEntry | undefined,
  ctx: ExamineContext,
  /** The file, when the scan already opened it (one open per new file on a slow mount). */
  source?: ResumableFile,
): Promise<ModelEntry> {
  const warnings: string[] = [];
  let probe: ProbeResult | null = null;
  if (found.size === 0) {
    warnings.push('empty file (0 bytes): not a model; an interrupted copy or download?');
  } else {
    try {
      const opts = found.folderKind ? { kindHint: found.folderKind } : {};
      probe = source ? await source.withRetry(0, (fh) => probeOpenFile(fh, found.absolute, source.size, opts)) : await probeFile(found.absolute, opts);
    } catch (err) {
      const reason = withoutPath(found.absolute, (err as Error).message);
      warnings.push(err instanceof FileAccessError ? `${UNREADABLE}${reason}` : reason);
    }
  }

  const hashes: ModelEntry['hashes'] = {};
  const hashSources: ModelEntry['hashSources'] = {};
  const adopt = (name: HashName, value: string, source: HashSource) => {
    if (!hashes[name]) {
      hashes[name] = value;
      hashSources[name] = source;
    }
  };
  const dir = dirname(found.absolute);
  let listing = ctx.listings.get(dir);
  if (!listing) {
    listing = readdir(dir).catch(() => undefined);
    ctx.listings.set(dir, listing);
  }
  const peers = await readPeerSidecars(found.absolute, { dirEntries: await listing, modelSize: found.size });
  warnings.push(...peers.warnings.map((w) => withoutPath(found.absolute, w)));
  // Other tools' hashes are adopted only for a file seen for the first time. A file
  // that changed since the last scan has new bytes: the sidecars beside it (ours
  // included) describe the old ones.
  const adoptPeers = !previous;
  if (adoptPeers) for (const [name, h] of Object.entries(peers.hashes)) if (h) adopt(name as HashName, h.value, h.source);
  if (adoptPeers && ctx.a1111Cache) {
    const sha = ctx.a1111Cache.lookupFile(found.absolute, found.mtimeMs);
    if (sha) adopt('SHA256', sha, 'a1111-cache');
  }
  if (hashes.SHA256 && !hashes.AutoV2) adopt('AutoV2', hashes.SHA256.slice(0, 10), hashSources.SHA256!);
  if (probe?.embeddedAutoV3) adopt('AutoV3', probe.embeddedAutoV3.short, 'header');

  const kind = probe?.kind ?? found.folderKind ?? 'unknown';
  const baseModel = probe?.baseModel ?? 'unknown';
  // A manual link survives a change of the file's bytes (a re-saved or pruned file
  // is still the same model to its owner); hand-set hashes do not.
  const manual = previous?.manual?.link ? { link: previous.manual.link } : undefined;
  return {
    path: found.path,
    size: found.size,
    mtimeMs: found.mtimeMs,
    fingerprint,
    hashes,
    hashSources,
    verified: false,
    kind,
    baseModel,
    folderKind: found.folderKind,
    evidence: probe?.evidence ?? [],
    conflicts: [...(probe?.conflicts ?? []), ...findConflicts({ folderKind: found.folderKind, probeKind: kind, probeBase: baseModel })],
    civitai: previous?.manual?.link ? previous.civitai : { status: 'unknown' },
    manual,
    preview: peers.previewFile ? relative(found.root, `${dirname(found.absolute)}/${peers.previewFile}`).split('\\').join('/') : undefined,
    addedAt: previous?.addedAt ?? ctx.now,
    warnings,
    // Ignored updates are the owner's decision about the Civitai model, like a manual link: new bytes keep them.
    ...(previous?.updates ? { updates: previous.updates } : {}),
  };
}
