/** "Check for updates" and "Duplicates": the two library-wide checks, with what the last one found. */
import { useState } from 'preact/hooks';
import type { DuplicatesResult, UpdatesResult } from '../../kernel/protocol';
import type { PanelClient } from '../client';

export interface MaintenanceBarProps {
  model: PanelClient;
  updates: UpdatesResult | null;
  onUpdates: (r: UpdatesResult) => void;
  onDuplicates: (r: DuplicatesResult) => void;
  onTrash: () => void;
}

export function MaintenanceBar({ model, updates, onUpdates, onDuplicates, onTrash }: MaintenanceBarProps) {
  const [busy, setBusy] = useState<'updates' | 'duplicates' | null>(null);
  const run = (type: 'updates' | 'duplicates', refresh = false) => {
    setBusy(type);
    void model.request(type, type === 'updates' && refresh ? { refresh: true } : {}).then((reply) => {
      setBusy(null);
      if (!reply.ok) return;
      if (type === 'updates') onUpdates(reply.result as UpdatesResult);
      else onDuplicates(reply.result as DuplicatesResult);
    });
  };
  // Read-only (serve --read-only): only the duplicates listing, which changes nothing.
  const readOnly = model.readOnly === true;
  return (
    <div class="md-maintenance">
      {!readOnly && (
        <button type="button" class="md-button md-small" disabled={busy !== null} onClick={() => run('updates', updates !== null)} title="Newer versions of the identified models on Civitai (asked again when checked before)">
          {busy === 'updates' ? 'Checking…' : 'Check for updates'}
        </button>
      )}
      <button type="button" class="md-button md-small" disabled={busy !== null} onClick={() => run('duplicates')} title="Files with the same SHA256">
        Duplicates
      </button>
      {!readOnly && (
        <button type="button" class="md-button md-small" onClick={onTrash} title="Models moved to the trash, to restore">
          Open trash
        </button>
      )}
      {updates && (
        <span class="md-maintenance-result" role="status">
          {updates.updates.length} update(s) among {updates.checked} model(s){updates.ignored ? `, ${updates.ignored} ignored` : ''}
          {updates.failed ? `, ${updates.failed} not checked (Civitai failed)` : ''}
        </span>
      )}
    </div>
  );
}
