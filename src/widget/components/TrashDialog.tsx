/**
 * What the library's trash holds, each with a Restore button, and emptying
 * it for good: the kernel first says what would go (items, files, bytes),
 * the confirmation repeats it, and only the items shown are removed.
 */
import { useEffect, useState } from 'preact/hooks';
import type { EmptyTrashResult } from '../../kernel/protocol';
import type { PanelClient } from '../client';
import { formatBytes } from '../format';
import { Dialog } from './Dialog';

interface TrashItem {
  trashId: string;
  root: number;
  path: string;
  trashedAt: number;
}

export function TrashDialog({ model, onClose, notify }: { model: PanelClient; onClose: () => void; notify: (text: string) => void }) {
  const [items, setItems] = useState<TrashItem[] | null>(null);
  const [error, setError] = useState('');
  const [olderThan, setOlderThan] = useState('');
  const [plan, setPlan] = useState<EmptyTrashResult | null>(null);
  const [emptying, setEmptying] = useState(false);
  const load = () => void model.request('trash', {}).then((reply) => (reply.ok ? setItems((reply.result as { items: TrashItem[] }).items) : setError(reply.error.message)));
  useEffect(load, [model]);
  const restore = async (item: TrashItem) => {
    const reply = await model.request('restore', { root: item.root, trashId: item.trashId });
    if (!reply.ok) return setError(reply.error.message);
    setItems((list) => (list ?? []).filter((i) => i !== item));
    notify(`${item.path}: restored.`);
  };
  const days = olderThan.trim() === '' ? undefined : Number(olderThan);
  const daysOk = days === undefined || (Number.isFinite(days) && days >= 0);
  const askPlan = async () => {
    setError('');
    const reply = await model.request('empty-trash', { dryRun: true, ...(days === undefined ? {} : { olderThanDays: days }) }, undefined, { report: false });
    if (!reply.ok) return setError(reply.error.message);
    setPlan(reply.result as EmptyTrashResult);
  };
  const empty = async (p: EmptyTrashResult) => {
    setEmptying(true);
    const reply = await model.request('empty-trash', { items: p.items.map((i) => ({ root: i.root, trashId: i.trashId })) }, undefined, { report: false });
    setEmptying(false);
    setPlan(null);
    if (!reply.ok) return setError(reply.error.message);
    const r = reply.result as EmptyTrashResult;
    notify(`Removed for good: ${r.items.length} item(s), ${r.files} file(s), ${formatBytes(r.bytes)}.`);
    if (r.problems.length) setError(`Left alone: ${r.problems.join('; ')}`);
    load();
  };
  return (
    <Dialog title="Trash" onClose={onClose} class="md-trash">
      {error && (
        <p class="md-outcome md-outcome-error" role="alert">
          {error}
        </p>
      )}
      {items === null ? (
        <p>Loading…</p>
      ) : items.length === 0 ? (
        <p>The trash is empty.</p>
      ) : (
        <ul class="md-trash-list">
          {items.map((i) => (
            <li key={i.trashId}>
              <span>{i.path}</span> <small>{new Date(i.trashedAt).toLocaleString()}</small>{' '}
              <button type="button" class="md-button md-small" onClick={() => void restore(i)}>
                Restore
              </button>
            </li>
          ))}
        </ul>
      )}
      {items !== null && items.length > 0 && !plan && (
        <div class="md-trash-empty">
          <label>
            Only items trashed more than{' '}
            <input type="number" min="0" step="1" value={olderThan} placeholder="any" aria-label="Older than days" onInput={(e) => setOlderThan((e.currentTarget as HTMLInputElement).value)} /> days ago
          </label>{' '}
          <button type="button" class="md-button md-small" disabled={!daysOk} onClick={() => void askPlan()}>
            Empty trash…
          </button>
        </div>
      )}
      {plan && (
        <div class="md-trash-confirm" role="alertdialog" aria-label="Empty the trash">
          {plan.items.length === 0 ? (
            <p>Nothing to remove{days !== undefined ? ` older than ${days} day(s)` : ''}.</p>
          ) : (
            <p>
              Delete {plan.items.length} item(s) for good: {plan.files} file(s), {formatBytes(plan.bytes)}. They cannot be restored afterwards.
            </p>
          )}
          {plan.problems.length > 0 && <p class="md-outcome">Will be left alone: {plan.problems.join('; ')}</p>}
          {plan.items.length > 0 && (
            <button type="button" class="md-button md-danger" disabled={emptying} onClick={() => void empty(plan)}>
              {emptying ? 'Deleting…' : `Delete ${plan.files} file(s) for good`}
            </button>
          )}{' '}
          <button type="button" class="md-button" onClick={() => setPlan(null)}>
            Cancel
          </button>
        </div>
      )}
      <button type="button" class="md-button" data-autofocus onClick={onClose}>
        Close
      </button>
    </Dialog>
  );
}
