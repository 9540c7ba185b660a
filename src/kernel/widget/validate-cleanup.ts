/**
 * Checking the clean-up requests (`clean-duplicates`, `cancel-cleanup`,
 * `empty-trash`) like every other request: types, sizes, and the one rule
 * that matters most here, that nothing is carried out without an explicit
 * choice (a rule only plans; carrying out needs per-group choices or the
 * listed trash items).
 */
import type { CleanupKeep, PanelRequest } from '../protocol';
import { isPlainObject } from './validate';

export const CLEANUP_LIMITS = { groups: 10_000, copies: 100, id: 4096, prefix: 4096, trashItems: 10_000, trashId: 200 } as const;

type Parsed = { ok: PanelRequest } | { field: string; want: string };

const ACTIONS = ['trash', 'hardlink', 'symlink'];
const isId = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= CLEANUP_LIMITS.id;

export function parseCleanupRequest(type: 'clean-duplicates' | 'cancel-cleanup' | 'empty-trash', c: Record<string, unknown>, requestId: string | number): Parsed {
  const fail = (field: string, want: string): Parsed => ({ field, want });
  const dryRun = c.dryRun;
  if (dryRun !== undefined && typeof dryRun !== 'boolean') return fail('dryRun', 'true or false');
  switch (type) {
    case 'cancel-cleanup':
      return { ok: { type, requestId } };
    case 'clean-duplicates': {
      if (typeof c.action !== 'string' || !ACTIONS.includes(c.action)) return fail('action', `one of ${ACTIONS.join(', ')}`);
      const keep = parseKeep(c.keep);
      if (typeof keep === 'string') return fail('keep', keep);
      if (dryRun !== true && keep.kind !== 'choices') return fail('keep', 'the choices per group when not a dry run (a rule only makes a plan)');
      return { ok: { type, requestId, keep, action: c.action as 'trash' | 'hardlink' | 'symlink', dryRun: dryRun === true } };
    }
    case 'empty-trash': {
      const days = c.olderThanDays;
      if (days !== undefined && !(typeof days === 'number' && Number.isFinite(days) && days >= 0 && days <= 100_000)) return fail('olderThanDays', 'a number of days from 0');
      const items = c.items;
      if (items !== undefined) {
        if (!Array.isArray(items) || items.length > CLEANUP_LIMITS.trashItems) return fail('items', `a list of at most ${CLEANUP_LIMITS.trashItems} trash items`);
        for (const i of items) {
          if (!isPlainObject(i) || !(typeof i.root === 'number' && Number.isInteger(i.root) && i.root >= 0 && i.root < 1000) || typeof i.trashId !== 'string' || i.trashId.length === 0 || i.trashId.length > CLEANUP_LIMITS.trashId) {
            return fail('items', 'a list of {root, trashId}');
          }
        }
      }
      if (dryRun !== true && items === undefined) return fail('items', 'the trash items shown to the user when not a dry run');
      const list = items as Array<{ root: number; trashId: string }> | undefined;
      return { ok: { type, requestId, dryRun: dryRun === true, ...(days === undefined ? {} : { olderThanDays: days as number }), ...(list ? { items: list.map((i) => ({ root: i.root, trashId: i.trashId })) } : {}) } };
    }
  }
}

function parseKeep(v: unknown): CleanupKeep | string {
  if (!isPlainObject(v)) return 'an object with a "kind"';
  switch (v.kind) {
    case 'first':
    case 'newest':
      return { kind: v.kind };
    case 'prefix': {
      if (typeof v.prefix !== 'string' || v.prefix.length > CLEANUP_LIMITS.prefix) return 'a prefix: a folder path inside a root';
      if (v.root !== undefined && !(typeof v.root === 'number' && Number.isInteger(v.root) && v.root >= 0 && v.root < 1000)) return 'a prefix with a root index';
      return { kind: 'prefix', prefix: v.prefix, ...(v.root === undefined ? {} : { root: v.root as number }) };
    }
    case 'choices': {
      const groups = v.groups;
      if (!Array.isArray(groups) || groups.length === 0 || groups.length > CLEANUP_LIMITS.groups) return `choices: a list of 1 to ${CLEANUP_LIMITS.groups} groups`;
      const out: Array<{ sha256: string; keep: string; remove: string[] }> = [];
      for (const g of groups) {
        if (!isPlainObject(g) || typeof g.sha256 !== 'string' || !/^[0-9A-F]{64}$/.test(g.sha256)) return 'choices: each group with its SHA256';
        if (!isId(g.keep)) return 'choices: each group with the card id kept';
        if (!Array.isArray(g.remove) || g.remove.length === 0 || g.remove.length > CLEANUP_LIMITS.copies || !g.remove.every(isId)) return `choices: each group with 1 to ${CLEANUP_LIMITS.copies} card ids to remove`;
        if ((g.remove as string[]).includes(g.keep as string)) return 'choices: a group removes the card it keeps';
        out.push({ sha256: g.sha256, keep: g.keep as string, remove: [...new Set(g.remove as string[])] });
      }
      return { kind: 'choices', groups: out };
    }
    default:
      return 'one of first, newest, prefix, choices';
  }
}
