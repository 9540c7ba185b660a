/**
 * Cleaning up duplicates from the panel, in four steps: choose (which copy
 * stays: a rule, and how the others go: trash, hard link, symbolic link),
 * see the plan the kernel makes (nothing is read or changed for it) and
 * change the kept copy of any group or leave a group out, confirm, then
 * watch the kernel verify and change files, and read what it did.
 *
 * What is carried out is the plan as shown: per group the card kept and the
 * cards to go (the kernel refuses a rule outside a plan). Nothing has a
 * default that removes: the action must be picked.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CleanDuplicatesResult, CleanupAction, CleanupKeep, CleanupProgressMessage } from '../../kernel/protocol';
import type { PanelClient } from '../client';
import { formatBytes } from '../format';

type Rule = 'first' | 'newest' | 'prefix';
type Plan = CleanDuplicatesResult['plan'];
type Step = { at: 'choose' } | { at: 'planning' } | { at: 'plan'; plan: Plan; skipped: string[] } | { at: 'running' } | { at: 'done'; result: CleanDuplicatesResult };

const ACTION_TEXT: Record<CleanupAction, { label: string; verb: string; done: string }> = {
  trash: { label: "Move the other copies to the root's trash (with their sidecars; restorable)", verb: 'trash', done: 'moved to the trash' },
  hardlink: { label: 'Replace the other copies by hard links to the kept one (same file system only)', verb: 'replace by a hard link', done: 'replaced by hard links' },
  symlink: { label: 'Replace the other copies by symbolic links to the kept one', verb: 'replace by a symbolic link', done: 'replaced by symbolic links' },
};

export interface DuplicatesCleanupProps {
  model: PanelClient;
  roots: string[];
  /** A card's line: its title and path (or its id when the page has not seen it). */
  label: (id: string) => string;
  /** Called after a clean-up changed files: the duplicates list is asked for again. */
  onChanged: () => void;
}

export function DuplicatesCleanup({ model, roots, label, onChanged }: DuplicatesCleanupProps) {
  const [rule, setRule] = useState<Rule>('first');
  const [prefix, setPrefix] = useState('');
  const [prefixRoot, setPrefixRoot] = useState(0);
  const [action, setAction] = useState<CleanupAction | null>(null);
  const [step, setStep] = useState<Step>({ at: 'choose' });
  const [error, setError] = useState('');
  /** Per group (SHA256): the card kept, and whether the group is cleaned at all. */
  const [kept, setKept] = useState<Record<string, string>>({});
  const [included, setIncluded] = useState<Record<string, boolean>>({});
  const [progress, setProgress] = useState<CleanupProgressMessage | null>(null);
  const requestId = useRef<string | null>(null);

  useEffect(
    () =>
      model.onCustom((content) => {
        const m = content as CleanupProgressMessage;
        if (m.type === 'cleanup-progress' && m.requestId === requestId.current) setProgress(m);
      }),
    [model],
  );

  const keepRule = (): CleanupKeep => (rule === 'prefix' ? { kind: 'prefix', prefix, ...(roots.length > 1 ? { root: prefixRoot } : {}) } : { kind: rule });

  const showPlan = async () => {
    if (!action) return;
    setError('');
    setStep({ at: 'planning' });
    const reply = await model.request('clean-duplicates', { keep: keepRule(), action, dryRun: true }, undefined, { report: false });
    if (!reply.ok) {
      setError(reply.error.message);
      return setStep({ at: 'choose' });
    }
    const r = reply.result as CleanDuplicatesResult;
    setKept(Object.fromEntries(r.plan.map((g) => [g.sha256, g.keep])));
    setIncluded(Object.fromEntries(r.plan.map((g) => [g.sha256, true])));
    setStep({ at: 'plan', plan: r.plan, skipped: r.skipped });
  };

  const chosen = (plan: Plan) =>
    plan
      .filter((g) => included[g.sha256])
      .map((g) => {
        const copies = [g.keep, ...g.remove];
        const keep = kept[g.sha256] ?? g.keep;
        return { sha256: g.sha256, size: g.size, keep, remove: copies.filter((id) => id !== keep) };
      });

  const confirm = async (plan: Plan) => {
    if (!action) return;
    const groups = chosen(plan).map(({ sha256, keep, remove }) => ({ sha256, keep, remove }));
    if (groups.length === 0) return;
    setError('');
    setProgress(null);
    setStep({ at: 'running' });
    const reply = await model.request('clean-duplicates', { keep: { kind: 'choices', groups }, action }, undefined, {
      report: false,
      onRequestId: (id) => (requestId.current = id),
    });
    requestId.current = null;
    if (!reply.ok) {
      setError(reply.error.message);
      return setStep({ at: 'plan', plan, skipped: [] });
    }
    setStep({ at: 'done', result: reply.result as CleanDuplicatesResult });
    onChanged();
  };

  const cancel = () => void model.request('cancel-cleanup', {}, undefined, { report: false });

  return (
    <section class="md-dupe-cleanup" aria-label="Clean up">
      <h3>Clean up</h3>
      {error && (
        <p class="md-outcome md-outcome-error" role="alert">
          {error}
        </p>
      )}
      {(step.at === 'choose' || step.at === 'planning') && (
        <div class="md-dupe-choose">
          <label>
            Keep{' '}
            <select value={rule} onChange={(e) => setRule((e.currentTarget as HTMLSelectElement).value as Rule)}>
              <option value="first">the first copy (root order, then path)</option>
              <option value="newest">the newest copy</option>
              <option value="prefix">the copy under a folder</option>
            </select>
          </label>
          {rule === 'prefix' && (
            <span class="md-dupe-prefix">
              {roots.length > 1 && (
                <label>
                  Root{' '}
                  <select value={String(prefixRoot)} onChange={(e) => setPrefixRoot(Number((e.currentTarget as HTMLSelectElement).value))}>
                    {roots.map((r, i) => (
                      <option key={r} value={String(i)}>
                        {r}
                      </option>
                    ))}
                  </select>
                </label>
              )}
              <label>
                Folder{' '}
                <input type="text" value={prefix} placeholder="e.g. Lora/keep" onInput={(e) => setPrefix((e.currentTarget as HTMLInputElement).value)} />
              </label>
            </span>
          )}
          <fieldset>
            <legend>What happens to the other copies</legend>
            {(Object.keys(ACTION_TEXT) as CleanupAction[]).map((a) => (
              <label key={a} class="md-dupe-action">
                <input type="radio" name="md-dupe-action" value={a} checked={action === a} onChange={() => setAction(a)} /> {ACTION_TEXT[a].label}
              </label>
            ))}
          </fieldset>
          <button type="button" class="md-button" disabled={!action || step.at === 'planning'} onClick={() => void showPlan()}>
            {step.at === 'planning' ? 'Planning…' : 'Show plan'}
          </button>
        </div>
      )}
      {step.at === 'plan' && action && (
        <PlanView
          plan={step.plan}
          skipped={step.skipped}
          action={action}
          label={label}
          kept={kept}
          included={included}
          onKeep={(sha, id) => setKept({ ...kept, [sha]: id })}
          onInclude={(sha, on) => setIncluded({ ...included, [sha]: on })}
          summary={chosen(step.plan)}
          onConfirm={() => void confirm(step.plan)}
          onBack={() => setStep({ at: 'choose' })}
        />
      )}
      {step.at === 'running' && (
        <div class="md-dupe-running" role="status">
          <p>
            Verifying and {action === 'trash' ? 'moving' : 'linking'}:{' '}
            {progress ? `${progress.filesDone} of ${progress.filesTotal} file(s) read, ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}` : 'starting…'}
          </p>
          <progress max={progress?.bytesTotal || 1} value={progress?.bytesDone ?? 0} />
          {progress?.current && <p class="md-dupe-current">{label(progress.current)}</p>}
          <button type="button" class="md-button md-small" onClick={cancel}>
            Cancel
          </button>
        </div>
      )}
      {step.at === 'done' && <ResultView result={step.result} label={label} onAgain={() => setStep({ at: 'choose' })} />}
    </section>
  );
}

interface PlanViewProps {
  plan: Plan;
  skipped: string[];
  action: CleanupAction;
  label: (id: string) => string;
  kept: Record<string, string>;
  included: Record<string, boolean>;
  onKeep: (sha256: string, id: string) => void;
  onInclude: (sha256: string, on: boolean) => void;
  summary: Array<{ size: number; remove: string[] }>;
  onConfirm: () => void;
  onBack: () => void;
}

function PlanView({ plan, skipped, action, label, kept, included, onKeep, onInclude, summary, onConfirm, onBack }: PlanViewProps) {
  const copies = summary.reduce((n, g) => n + g.remove.length, 0);
  const bytes = summary.reduce((n, g) => n + g.size * g.remove.length, 0);
  return (
    <div class="md-dupe-plan">
      {plan.length === 0 ? <p>The rule keeps no copy in any group: nothing to do.</p> : <p>The plan (nothing has changed yet). Pick another copy to keep in any group, or leave a group out.</p>}
      {plan.map((g) => {
        const keep = kept[g.sha256] ?? g.keep;
        const on = included[g.sha256] !== false;
        return (
          <fieldset key={g.sha256} class="md-dupe-plan-group">
            <legend>
              <label>
                <input type="checkbox" checked={on} onChange={(e) => onInclude(g.sha256, (e.currentTarget as HTMLInputElement).checked)} /> {formatBytes(g.size)} · {g.sha256.slice(0, 12)}
              </label>
            </legend>
            {[g.keep, ...g.remove].map((id) => (
              <label key={id} class="md-dupe-plan-copy">
                <input type="radio" name={`md-keep-${g.sha256}`} disabled={!on} checked={keep === id} onChange={() => onKeep(g.sha256, id)} /> {on ? (keep === id ? 'keep' : `would ${ACTION_TEXT[action].verb}`) : 'left alone'} {label(id)}
              </label>
            ))}
          </fieldset>
        );
      })}
      {skipped.length > 0 && (
        <ul class="md-dupe-skipped">
          {skipped.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ul>
      )}
      <p class="md-dupe-summary">
        {copies} cop{copies === 1 ? 'y' : 'ies'} in {summary.length} group(s) to {ACTION_TEXT[action].verb}, {formatBytes(bytes)} freed{action === 'trash' ? ' once the trash is emptied' : ''}. Each file is read and compared with the kept one before it changes.
      </p>
      <button type="button" class="md-button md-danger" disabled={copies === 0} onClick={onConfirm}>
        Confirm: {ACTION_TEXT[action].verb} {copies} cop{copies === 1 ? 'y' : 'ies'}
      </button>{' '}
      <button type="button" class="md-button" onClick={onBack}>
        Back
      </button>
    </div>
  );
}

function ResultView({ result, label, onAgain }: { result: CleanDuplicatesResult; label: (id: string) => string; onAgain: () => void }) {
  return (
    <div class="md-dupe-result" role="status">
      <p>
        {result.cancelled ? 'Cancelled. ' : ''}
        {result.done.length} cop{result.done.length === 1 ? 'y' : 'ies'} {ACTION_TEXT[result.action].done} ({formatBytes(result.bytes)}){result.failed.length ? `; ${result.failed.length} left alone` : ''}.
      </p>
      {result.failed.length > 0 && (
        <ul class="md-dupe-failed">
          {result.failed.map((f) => (
            <li key={f.path}>
              {f.id ? label(f.id) : f.path}: {f.reason}
            </li>
          ))}
        </ul>
      )}
      {result.skipped.length > 0 && (
        <ul class="md-dupe-skipped">
          {result.skipped.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ul>
      )}
      <button type="button" class="md-button md-small" onClick={onAgain}>
        Clean up more
      </button>
    </div>
  );
}
