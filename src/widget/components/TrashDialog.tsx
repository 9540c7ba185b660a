/** What the library's trash holds, each with a Restore button. */
import { useEffect, useState } from 'preact/hooks';
import type { PanelClient } from '../client';
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
  useEffect(() => {
    void model.request('trash', {}).then((reply) => (reply.ok ? setItems((reply.result as { items: TrashItem[] }).items) : setError(reply.error.message)));
  }, [model]);
  const restore = async (item: TrashItem) => {
    const reply = await model.request('restore', { root: item.root, trashId: item.trashId });
    if (!reply.ok) return setError(reply.error.message);
    setItems((list) => (list ?? []).filter((i) => i !== item));
    notify(`${item.path}: restored.`);
  };
  return (
    <Dialog title="Trash" onClose={onClose} class="md-trash">
      {error && <p class="md-outcome md-outcome-error" role="alert">{error}</p>}
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
      <button type="button" class="md-button" data-autofocus onClick={onClose}>
        Close
      </button>
    </Dialog>
  );
}
