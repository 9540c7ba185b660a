/**
 * The duplicates view: each group of files with the same bytes, with their
 * names and paths, and (unless the panel is read-only) the clean-up
 * (DuplicatesCleanup.tsx). After a clean-up the list is asked for again.
 */
import { useState } from 'preact/hooks';
import type { DuplicatesResult, GridCard as ModelCard } from '../../kernel/protocol';
import type { PanelClient } from '../client';
import { displayTitle } from '../filter';
import { formatBytes } from '../format';
import { Dialog } from './Dialog';
import { DuplicatesCleanup } from './DuplicatesCleanup';

export interface DuplicatesDialogProps {
  result: DuplicatesResult;
  cardOf: (id: string) => ModelCard | undefined;
  onClose: () => void;
  /** Given, and not read-only: the clean-up is offered. */
  model?: PanelClient;
}

/** The path part of a card id (`<root>:<path>`), for a card the page has not been sent. */
const pathOfId = (id: string) => id.slice(id.indexOf(':') + 1);

export function DuplicatesDialog({ result: first, cardOf, onClose, model }: DuplicatesDialogProps) {
  const [result, setResult] = useState(first);
  const label = (id: string) => {
    const c = cardOf(id);
    return c ? `${displayTitle(c)} — ${c.path}` : pathOfId(id);
  };
  const line = (id: string) => <li key={id}>{label(id)}</li>;
  const reload = () => {
    void model?.request('duplicates', {}).then((reply) => reply.ok && setResult(reply.result as DuplicatesResult));
  };
  const canClean = model !== undefined && model.readOnly !== true;
  return (
    <Dialog title="Duplicates" onClose={onClose} class="md-duplicates">
      <p>
        {result.groups.length} group(s) of identical files, {formatBytes(result.reclaimable)} reclaimable.
        {!canClean && ' Clean-up is not offered here (read-only); run modeldeck dupes --keep … where the files are.'}
      </p>
      {result.groups.map((g) => (
        <section key={g.sha256} class="md-dupe-group">
          <h4>
            {g.ids.length} copies of {formatBytes(g.size)} <small>{g.sha256.slice(0, 12)}</small>
            {g.differentModels && ' · linked to different Civitai models'}
          </h4>
          <ul>{g.ids.map(line)}</ul>
        </section>
      ))}
      {result.sameVersion.map((v) => (
        <section key={`${v.modelName}/${v.versionName}`} class="md-dupe-group">
          <h4>
            Same version, different files: {v.modelName} — {v.versionName}
          </h4>
          <ul>{v.ids.map(line)}</ul>
        </section>
      ))}
      {canClean && result.groups.length > 0 && <DuplicatesCleanup model={model!} roots={model!.state('roots') ?? []} label={label} onChanged={reload} />}
      <button type="button" class="md-button" data-autofocus onClick={onClose}>
        Close
      </button>
    </Dialog>
  );
}
