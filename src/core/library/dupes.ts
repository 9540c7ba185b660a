/**
 * Duplicates: files with the same SHA256 across every root, from the index
 * alone (no model file is opened; only the members of a group are stat'ed, to
 * tell one file reached twice from two copies).
 *
 * - The same inode reached twice (a hard link, a bind mount or a root seen
 *   twice) is one copy with several paths, never a duplicate.
 * - Different files of one Civitai version (fp16 and fp32, pruned and full)
 *   are listed apart, as "same version, different files": nothing to clean.
 * - The same bytes linked to different Civitai models is legitimate (an
 *   author re-uploads a file under another model): the group says so.
 */
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { boundedCalls } from './bounded-calls';
import type { LibraryModel } from './library';

export interface DuplicateCopy {
  root: string;
  path: string;
  absolute: string;
  size: number;
  mtimeMs: number;
  /** Other paths in the library that reach the same file (hard links, a root seen twice). */
  alsoAt: string[];
  civitai?: { modelId: number; versionId: number; modelName: string; versionName: string };
}

export interface DuplicateGroup {
  sha256: string;
  size: number;
  /** Distinct files, in root order then path order; the first is `--keep first`. */
  copies: DuplicateCopy[];
  /** More than one Civitai model holds these bytes (legitimate; shown, not a conflict). */
  differentModels: boolean;
}

export interface SameVersionGroup {
  modelId: number;
  versionId: number;
  modelName: string;
  versionName: string;
  files: Array<{ absolute: string; size: number; sha256: string | null }>;
}

export interface DuplicatesReport {
  groups: DuplicateGroup[];
  sameVersion: SameVersionGroup[];
  /** Bytes that removing every copy but one would free. */
  reclaimable: number;
  /** Files of a group that could not be stat'ed (vanished since the last scan). */
  warnings: string[];
}

export async function findDuplicates(models: LibraryModel[], rootOrder: readonly string[]): Promise<DuplicatesReport> {
  const order = new Map(rootOrder.map((r, i) => [r, i]));
  const sorted = [...models].sort((a, b) => (order.get(a.root) ?? 0) - (order.get(b.root) ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const bySha = new Map<string, LibraryModel[]>();
  const byVersion = new Map<number, LibraryModel[]>();
  for (const m of sorted) {
    const sha = m.hashes.SHA256;
    if (sha) {
      const list = bySha.get(sha);
      if (list) list.push(m);
      else bySha.set(sha, [m]);
    }
    const link = m.civitai.status === 'found' ? m.civitai.link : undefined;
    if (link) {
      const list = byVersion.get(link.versionId);
      if (list) list.push(m);
      else byVersion.set(link.versionId, [m]);
    }
  }
  const warnings: string[] = [];
  const bounded = boundedCalls(16);
  const groups: DuplicateGroup[] = [];
  let reclaimable = 0;
  await Promise.all(
    [...bySha].filter(([, list]) => list.length > 1).map(async ([sha256, list]) => {
      const ids = await Promise.all(
        list.map((m) =>
          bounded(() => stat(m.absolute)).then(
            (st) => `${st.dev}:${st.ino}`,
            () => {
              warnings.push(`${m.absolute}: gone since the last scan; scan again`);
              return null;
            },
          ),
        ),
      );
      const byInode = new Map<string, DuplicateCopy>();
      list.forEach((m, i) => {
        const id = ids[i];
        if (id === null) return;
        const seen = byInode.get(id);
        if (seen) {
          seen.alsoAt.push(m.absolute);
          return;
        }
        const link = m.civitai.status === 'found' ? m.civitai.link : undefined;
        byInode.set(id, {
          root: m.root,
          path: m.path,
          absolute: m.absolute,
          size: m.size,
          mtimeMs: m.mtimeMs,
          alsoAt: [],
          ...(link ? { civitai: { modelId: link.modelId, versionId: link.versionId, modelName: link.modelName, versionName: link.versionName } } : {}),
        });
      });
      const copies = [...byInode.values()];
      if (copies.length < 2) return;
      const modelIds = new Set(copies.map((c) => c.civitai?.modelId).filter((id) => id !== undefined));
      groups.push({ sha256, size: copies[0].size, copies, differentModels: modelIds.size > 1 });
      reclaimable += copies[0].size * (copies.length - 1);
    }),
  );
  groups.sort((a, b) => b.size - a.size || (a.sha256 < b.sha256 ? -1 : 1));
  const sameVersion: SameVersionGroup[] = [];
  for (const [versionId, list] of byVersion) {
    const hashes = new Set(list.map((m) => m.hashes.SHA256 ?? m.absolute));
    if (hashes.size < 2) continue;
    const link = list[0].civitai.link!;
    const files = [...new Map(list.map((m) => [m.hashes.SHA256 ?? m.absolute, m])).values()].map((m) => ({ absolute: m.absolute, size: m.size, sha256: m.hashes.SHA256 ?? null }));
    sameVersion.push({ modelId: link.modelId, versionId, modelName: link.modelName, versionName: link.versionName, files });
  }
  return { groups, sameVersion, reclaimable, warnings };
}

/**
 * Which copy of a group stays. `choices` is the user's own pick per group (the
 * panel): the copy kept and the copies that may go, by absolute path; a group
 * not named is left alone, and a copy not named is never removed.
 */
export type KeepRule =
  | { kind: 'first' }
  | { kind: 'newest' }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'choices'; groups: ReadonlyMap<string, { keep: string; remove: readonly string[] }> };

export function parseKeepRule(text: string): KeepRule {
  if (text === 'first' || text === 'newest') return { kind: text };
  return { kind: 'prefix', prefix: resolve(text) };
}

export interface CleanupStep {
  sha256: string;
  keep: DuplicateCopy;
  remove: DuplicateCopy[];
}

/** The plan: for each group the copy kept and the copies to go; groups the rule cannot decide are `skipped`. */
export function planCleanup(report: DuplicatesReport, rule: KeepRule): { steps: CleanupStep[]; skipped: string[] } {
  const steps: CleanupStep[] = [];
  const skipped: string[] = [];
  for (const g of report.groups) {
    let keep: DuplicateCopy | undefined;
    if (rule.kind === 'choices') {
      const step = chosenStep(g, rule.groups.get(g.sha256), skipped);
      if (step) steps.push(step);
      continue;
    }
    if (rule.kind === 'first') keep = g.copies[0];
    else if (rule.kind === 'newest') keep = g.copies.reduce((best, c) => (c.mtimeMs > best.mtimeMs ? c : best));
    else {
      const prefix = rule.prefix.endsWith(sep) ? rule.prefix : rule.prefix + sep;
      keep = g.copies.find((c) => c.absolute === rule.prefix || c.absolute.startsWith(prefix));
      if (!keep) {
        skipped.push(`${g.copies[0].absolute}: no copy under ${rule.prefix}; nothing changed in this group`);
        continue;
      }
    }
    steps.push({ sha256: g.sha256, keep, remove: g.copies.filter((c) => c !== keep) });
  }
  return { steps, skipped };
}

/** A group as the user chose it: kept and removed copies must still be copies of the group (a scan since may have changed it). */
function chosenStep(g: DuplicateGroup, choice: { keep: string; remove: readonly string[] } | undefined, skipped: string[]): CleanupStep | null {
  if (!choice) return null;
  const named = (path: string) => g.copies.find((c) => c.absolute === path || c.alsoAt.includes(path));
  const keep = named(choice.keep);
  if (!keep) {
    skipped.push(`${choice.keep}: no longer a copy of group ${g.sha256.slice(0, 12)}; nothing changed in this group`);
    return null;
  }
  const remove: DuplicateCopy[] = [];
  for (const path of choice.remove) {
    const c = named(path);
    if (!c) skipped.push(`${path}: no longer a copy of group ${g.sha256.slice(0, 12)}; left alone`);
    else if (c !== keep && !remove.includes(c)) remove.push(c);
  }
  return remove.length ? { sha256: g.sha256, keep, remove } : null;
}
