/** Move or rename one model with its sidecars: a path relative to a root (a folder ends with `/`). */
import { useState } from 'preact/hooks';
import type { ModelCard } from '../../kernel/protocol';
import { displayTitle } from '../filter';
import { useModelState } from '../hooks';
import type { PanelClient } from '../client';
import { Dialog } from './Dialog';
import { RootSelect } from './RootSelect';

export interface MoveDialogProps {
  model: PanelClient;
  card: ModelCard;
  onClose: () => void;
  notify: (text: string) => void;
}

export function MoveDialog({ model, card, onClose, notify }: MoveDialogProps) {
  const roots = useModelState(model, 'roots') ?? [];
  const [root, setRoot] = useState(card.root);
  const [dest, setDest] = useState(card.path);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const problem = dest.trim() === '' ? 'Give a folder (ending in /) or a new path and name.' : dest.split('/').some((s, i, all) => (s === '' && i < all.length - 1) || s === '.' || s === '..') ? 'Use a path inside the library folder, without . or .. parts.' : '';
  const submit = async (e: Event) => {
    e.preventDefault();
    if (problem) return;
    setBusy(true);
    setError('');
    const reply = await model.request('move', { id: card.id, root, dest: dest.trim() });
    setBusy(false);
    if (!reply.ok) return setError(reply.error.message);
    const moved = reply.result as ModelCard | null;
    notify(`${displayTitle(card)}: moved to ${moved?.path ?? dest} with its sidecars.`);
    onClose();
  };
  return (
    <Dialog title={`Move ${card.file}`} onClose={onClose} class="md-move">
      <form onSubmit={submit}>
        {roots.length > 1 && (
          <label class="md-field">
            <span>Library folder</span>
            <RootSelect roots={roots} value={root} onChange={setRoot} />
          </label>
        )}
        <label class="md-field">
          <span>New path</span>
          <input type="text" data-autofocus value={dest} onInput={(e) => setDest((e.target as HTMLInputElement).value)} aria-invalid={problem ? 'true' : 'false'} />
        </label>
        <p class="md-hint">{problem || 'Sidecars and previews move with it; nothing is overwritten.'}</p>
        {error && <p class="md-outcome md-outcome-error" role="alert">{error}</p>}
        <button type="submit" class="md-button" disabled={busy || problem !== ''}>
          {busy ? 'Moving…' : 'Move'}
        </button>
        <button type="button" class="md-button" onClick={onClose}>
          Cancel
        </button>
      </form>
    </Dialog>
  );
}
