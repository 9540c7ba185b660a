/** The duplicates view: each group of files with the same bytes, with their names and paths. Clean-up is the CLI's (`modeldeck dupes --keep`). */
import type { DuplicatesResult, GridCard as ModelCard } from '../../kernel/protocol';
import { displayTitle } from '../filter';
import { formatBytes } from '../format';
import { Dialog } from './Dialog';

export interface DuplicatesDialogProps {
  result: DuplicatesResult;
  cardOf: (id: string) => ModelCard | undefined;
  onClose: () => void;
}

export function DuplicatesDialog({ result, cardOf, onClose }: DuplicatesDialogProps) {
  const line = (id: string) => {
    const c = cardOf(id);
    return (
      <li key={id}>
        {c ? `${displayTitle(c)} — ${c.path}` : id}
      </li>
    );
  };
  return (
    <Dialog title="Duplicates" onClose={onClose} class="md-duplicates">
      <p>
        {result.groups.length} group(s) of identical files, {formatBytes(result.reclaimable)} reclaimable. To clean up, run <code>modeldeck dupes --keep first --trash</code> (each file is verified before anything changes).
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
      <button type="button" class="md-button" data-autofocus onClick={onClose}>
        Close
      </button>
    </Dialog>
  );
}
