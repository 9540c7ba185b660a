/**
 * The panel's maintenance requests: updates and their ignores, duplicates,
 * move, remove (to the trash) and restore. Models are named by card id and
 * looked up; a move's destination is a path relative to a root, checked like
 * an index path (relative, normalised, inside the root) before the library
 * checks it again against links.
 */
import { join } from 'node:path';
import { ModeldeckError } from '../../core/errors';
import type { Library } from '../../core/library';
import { unsafeEntryPath } from '../../core/library/entry-schema';
import type { DuplicatesResult, PanelRequest, UpdatesResult } from '../protocol';
import { cardId } from './cards';
import type { ModelSession } from './model-session';

export type MaintenanceRequest = Extract<PanelRequest, { type: 'updates' | 'ignore-update' | 'duplicates' | 'move' | 'remove' | 'trash' | 'restore' }>;

export async function handleMaintenance(session: ModelSession, lib: Library, request: MaintenanceRequest): Promise<unknown> {
  const idOf = (root: string, path: string) => cardId(lib.roots.indexOf(root), path);
  switch (request.type) {
    case 'updates': {
      const r = await lib.updates({ refresh: request.refresh, allBases: request.allBases, includeEarlyAccess: request.includeEarlyAccess });
      const result: UpdatesResult = {
        checked: r.checked,
        ignored: r.ignored,
        failed: r.failed.reduce((n, f) => n + f.ids.length, 0),
        updates: r.updates.map((u) => ({
          modelId: u.modelId,
          modelName: u.modelName,
          current: { versionId: u.current.versionId, name: u.current.name, baseModel: u.current.baseModel },
          latest: { versionId: u.latest.versionId, name: u.latest.name, baseModel: u.latest.baseModel, publishedAt: u.latest.publishedAt, earlyAccess: u.latest.earlyAccess, size: u.latest.size, pageUrl: u.latest.pageUrl },
          newer: u.newer,
          ids: u.current.files.map((f) => idOf(f.root, f.path)),
        })),
      };
      return result;
    }
    case 'ignore-update': {
      const { model } = session.lookup(request.id);
      const modelId = model.civitai.link?.modelId;
      if (!modelId) throw new ModeldeckError('not_identified', 'this model is not identified on Civitai');
      const changed = await lib.ignoreUpdates(modelId, request.scope === 'model' ? { model: true } : request.scope === 'clear' ? { clear: true } : { version: request.versionId });
      session.sync();
      return { changed };
    }
    case 'duplicates': {
      const r = await lib.duplicates();
      const result: DuplicatesResult = {
        groups: r.groups.map((g) => ({ sha256: g.sha256, size: g.size, differentModels: g.differentModels, ids: g.copies.map((c) => idOf(c.root, c.path)) })),
        sameVersion: r.sameVersion.map((v) => ({
          modelName: v.modelName,
          versionName: v.versionName,
          ids: v.files.flatMap((f) => lib.roots.filter((root) => f.absolute.startsWith(root + '/')).map((root) => idOf(root, f.absolute.slice(root.length + 1)))),
        })),
        reclaimable: r.reclaimable,
      };
      return result;
    }
    case 'move': {
      const { model } = session.lookup(request.id);
      const root = session.rootAt(request.root);
      if (root === undefined) throw new ModeldeckError('which_root', 'this panel has several roots: say which one to move into');
      const folder = request.dest.endsWith('/');
      const rel = folder ? request.dest.slice(0, -1) : request.dest;
      const bad = rel === '' ? null : unsafeEntryPath(rel);
      if (bad) throw new ModeldeckError('bad_request', `move: "dest" must be a path inside the root (${bad})`);
      const { model: moved } = await lib.move(model.absolute, rel === '' ? `${root}/` : folder ? `${join(root, rel)}/` : join(root, rel));
      session.sync();
      return session.cardOf(idOf(moved.root, moved.path));
    }
    case 'remove': {
      const { model } = session.lookup(request.id);
      const { item } = await lib.remove(model.absolute);
      session.sync();
      return { trashId: item.id };
    }
    case 'trash': {
      const { items } = await lib.trash();
      return { items: items.map((i) => ({ trashId: i.id, root: lib.roots.indexOf(i.root), path: i.path, trashedAt: i.trashedAt })) };
    }
    case 'restore': {
      const root = session.rootAt(request.root);
      if (root === undefined) throw new ModeldeckError('which_root', 'this panel has several roots: say which one to restore into');
      const { items } = await lib.trash();
      // Only an id the trash listing holds is used (never a path from the message).
      const item = items.find((i) => i.root === root && i.id === request.trashId);
      if (!item) throw new ModeldeckError('not_in_trash', 'no such item in the trash');
      const m = await lib.restore(item.id);
      session.sync();
      return session.cardOf(idOf(m.root, m.path));
    }
  }
}
