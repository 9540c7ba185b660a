/**
 * The panel's clean-up requests: duplicate clean-up (`clean-duplicates`,
 * `cancel-cleanup`) and emptying the trash (`empty-trash`). The same core
 * calls as `modeldeck dupes --keep` and `modeldeck trash --empty`, so the
 * verification (kept file and each copy read and compared before anything
 * changes) and the trash's link checks are the CLI's.
 *
 * Cards are named by id and looked up; a removal is carried out only for the
 * cards and trash items the request lists (what the user was shown), never
 * for a rule: validate-cleanup.ts refuses a rule outside a dry run.
 */
import { join } from 'node:path';
import { ModeldeckError } from '../../core/errors';
import type { CleanupProgress, KeepRule, Library } from '../../core/library';
import { unsafeEntryPath } from '../../core/library/entry-schema';
import type { CleanDuplicatesRequest, CleanDuplicatesResult, CleanupProgressMessage, EmptyTrashRequest, EmptyTrashResult, PanelRequest } from '../protocol';
import { cardId } from './cards';
import type { ModelSession } from './model-session';
import { Throttle } from './throttle';

export type CleanupRequest = Extract<PanelRequest, { type: 'clean-duplicates' | 'cancel-cleanup' | 'empty-trash' }>;

const DAY_MS = 24 * 60 * 60 * 1000;
/** The running clean-up of each panel (one at a time). */
const running = new WeakMap<ModelSession, AbortController>();

export async function handleCleanup(session: ModelSession, lib: Library, request: CleanupRequest): Promise<unknown> {
  switch (request.type) {
    case 'clean-duplicates':
      return cleanDuplicates(session, lib, request);
    case 'cancel-cleanup': {
      const c = running.get(session);
      c?.abort();
      return { cancelled: c !== undefined };
    }
    case 'empty-trash':
      return emptyTrash(session, lib, request);
  }
}

/** The card id of an absolute path in the library (null outside every root). */
function idOfPath(lib: Library, abs: string): string | null {
  const i = lib.roots.findIndex((r) => abs.startsWith(r + '/'));
  return i < 0 ? null : cardId(i, abs.slice(lib.roots[i].length + 1));
}

async function cleanDuplicates(session: ModelSession, lib: Library, request: CleanDuplicatesRequest): Promise<CleanDuplicatesResult> {
  const skipped: string[] = [];
  const rule = keepRule(session, request, skipped);
  if (request.dryRun) return toResult(lib, request, await lib.cleanDuplicates(rule, request.action, { dryRun: true }), skipped, false);
  if (running.has(session)) throw new ModeldeckError('busy', 'a clean-up is already running in this panel; wait for it or cancel it');
  const controller = new AbortController();
  running.set(session, controller);
  let last: CleanupProgress | null = null;
  const throttle = new Throttle(100, () => {
    if (!last) return;
    const msg: CleanupProgressMessage = { type: 'cleanup-progress', requestId: request.requestId, ...last, current: last.current === null ? null : idOfPath(lib, last.current) };
    session.send(msg);
  });
  try {
    const r = await lib.cleanDuplicates(rule, request.action, {
      signal: controller.signal,
      onProgress: (p) => {
        last = p;
        throttle.schedule();
      },
    });
    throttle.flush();
    return toResult(lib, request, r, skipped, controller.signal.aborted);
  } finally {
    throttle.cancel();
    running.delete(session);
    session.sync();
  }
}

function keepRule(session: ModelSession, request: CleanDuplicatesRequest, skipped: string[]): KeepRule {
  const keep = request.keep;
  switch (keep.kind) {
    case 'first':
    case 'newest':
      return { kind: keep.kind };
    case 'prefix': {
      const root = session.rootAt(keep.root);
      if (root === undefined) throw new ModeldeckError('which_root', 'this panel has several roots: say which one the prefix is in');
      const rel = keep.prefix.replace(/\/+$/, '');
      const bad = rel === '' ? null : unsafeEntryPath(rel);
      if (bad) throw new ModeldeckError('bad_request', `clean-duplicates: the prefix must be a folder inside the root (${bad})`);
      return { kind: 'prefix', prefix: rel === '' ? root : join(root, rel) };
    }
    case 'choices': {
      const abs = (id: string): string | null => {
        try {
          return session.lookup(id).model.absolute;
        } catch {
          skipped.push(`${id}: no longer in the library; left alone`);
          return null;
        }
      };
      const groups = new Map<string, { keep: string; remove: string[] }>();
      for (const g of keep.groups) {
        const k = abs(g.keep);
        if (k === null) continue;
        const remove = g.remove.map(abs).filter((p): p is string => p !== null);
        if (remove.length) groups.set(g.sha256, { keep: k, remove });
      }
      return { kind: 'choices', groups };
    }
  }
}

function toResult(lib: Library, request: CleanDuplicatesRequest, r: Awaited<ReturnType<Library['cleanDuplicates']>>, skipped: string[], cancelled: boolean): CleanDuplicatesResult {
  const id = (abs: string) => idOfPath(lib, abs) ?? abs;
  const sizeOf = new Map(r.steps.flatMap((s) => s.remove.map((c) => [c.absolute, c.size] as const)));
  return {
    dryRun: request.dryRun === true,
    action: request.action,
    plan: r.steps.map((s) => ({ sha256: s.sha256, size: s.keep.size, keep: id(s.keep.absolute), remove: s.remove.map((c) => id(c.absolute)) })),
    skipped: [...skipped, ...r.skipped],
    done: r.done.map((d) => ({ id: id(d.path), kept: id(d.kept) })),
    failed: r.failed.map((f) => ({ id: idOfPath(lib, f.path), path: f.path, reason: f.reason })),
    bytes: request.dryRun ? r.steps.reduce((n, s) => n + s.keep.size * s.remove.length, 0) : r.done.reduce((n, d) => n + (sizeOf.get(d.path) ?? 0), 0),
    cancelled,
  };
}

async function emptyTrash(session: ModelSession, lib: Library, request: EmptyTrashRequest): Promise<EmptyTrashResult> {
  let only: Map<string, Set<string>> | undefined;
  if (request.items) {
    only = new Map();
    for (const i of request.items) {
      const root = session.rootAt(i.root)!;
      let set = only.get(root);
      if (!set) only.set(root, (set = new Set()));
      set.add(i.trashId);
    }
  }
  const before = request.olderThanDays === undefined ? undefined : Date.now() - request.olderThanDays * DAY_MS;
  const r = await lib.emptyTrash({ before, only, dryRun: request.dryRun === true });
  return {
    dryRun: request.dryRun === true,
    items: r.items.map((i) => ({ root: lib.roots.indexOf(i.root), trashId: i.id, path: i.path, trashedAt: i.trashedAt, files: i.files, bytes: i.bytes })),
    files: r.files,
    bytes: r.bytes,
    problems: r.problems.map((p) => session.scrub(p)),
  };
}
