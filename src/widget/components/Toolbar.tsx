/**
 * Library actions: which root, Scan, Identify missing, Cancel, Export, Import,
 * and the NSFW limit (a setting the kernel keeps).
 *
 * "Identify missing" is a scan that asks Civitai even when the panel is set
 * offline and bypasses the cached answers (`scan {offline: false, refresh:
 * true}`): it looks up every model without a Civitai answer. Identified models
 * are never asked again, and models Civitai recently said it does not know
 * wait for the engine's re-check interval.
 */
import { useRef, useState } from 'preact/hooks';
import type { PanelSettings, ScanResult } from '../../kernel/protocol';
import { downloadJson } from '../download';
import { formatCount } from '../format';
import { useModelState } from '../hooks';
import type { PanelClient } from '../client';
import { RootSelect } from './RootSelect';

const NSFW: { value: PanelSettings['nsfwLevel']; label: string }[] = [
  { value: 1, label: 'PG' },
  { value: 2, label: 'PG-13' },
  { value: 4, label: 'R' },
  { value: 8, label: 'X' },
  { value: 16, label: 'XXX' },
];

export interface ToolbarProps {
  model: PanelClient;
  root: number;
  onRoot: (root: number) => void;
  notify: (text: string) => void;
}

function scanNotice(r: ScanResult): string {
  const s = r.summary;
  const parts = [
    `${formatCount(s.files)} files`,
    `${formatCount(s.added)} new`,
    `${formatCount(s.hashed)} hashed`,
    `${formatCount(s.identified)} identified`,
    `${formatCount(s.notOnCivitai)} not on Civitai`,
  ];
  if (s.warnings) parts.push(`${formatCount(s.warnings)} warnings`);
  if (r.verifyMismatches) parts.push(`${formatCount(r.verifyMismatches)} hash mismatches`);
  return `${s.cancelled ? 'Scan cancelled' : 'Scan finished'}: ${parts.join(', ')}.`;
}

/** A file's bytes (FileReader where Blob.arrayBuffer is missing). */
function readBytes(file: File): Promise<Uint8Array> {
  if (typeof file.arrayBuffer === 'function') return file.arrayBuffer().then((b) => new Uint8Array(b));
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file);
  });
}

export function Toolbar({ model, root, onRoot, notify }: ToolbarProps) {
  const roots = useModelState(model, 'roots') ?? [];
  const progress = useModelState(model, 'progress');
  const settings = useModelState(model, 'settings');
  const summary = useModelState(model, 'summary');
  const [busy, setBusy] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const running = !!progress?.running;
  const rootArg = roots.length > 1 ? { root } : {};

  const scan = async (payload: { refresh?: boolean; offline?: boolean; verify?: boolean }) => {
    notify(payload.refresh ? 'Identifying models Civitai has not answered for…' : 'Scanning…');
    const reply = await model.request('scan', payload);
    if (reply.ok) notify(scanNotice(reply.result as ScanResult));
    else notify('');
  };

  const exportDoc = async () => {
    setBusy('export');
    const reply = await model.request('export', rootArg);
    setBusy(null);
    if (!reply.ok) return;
    const name = (roots[root] ?? 'library').split(/[\\/]/).filter(Boolean).pop() ?? 'library';
    downloadJson(reply.result, `modeldeck-${name}.json`);
    notify('Export downloaded.');
  };

  const importFile = async (file: File | undefined) => {
    if (!file) return;
    setBusy('import');
    const bytes = await readBytes(file);
    const reply = await model.request('import', rootArg, [bytes]);
    setBusy(null);
    if (fileInput.current) fileInput.current.value = '';
    if (reply.ok) {
      const r = reply.result as { models?: number; matched?: number; unmatched?: number | string[]; rejected?: number | string[] } | undefined;
      const rejected = countOf(r?.rejected);
      notify(
        `Imported ${file.name}: ${formatCount(r?.matched ?? 0)} matched, ${formatCount(countOf(r?.unmatched))} not in this library` +
          (rejected ? `, ${formatCount(rejected)} invalid and left out.` : '.'),
      );
    }
  };

  return (
    <div class="md-toolbar" role="toolbar" aria-label="Library actions">
      <label class="md-field">
        <span>Library</span>
        {roots.length > 1 ? (
          <RootSelect roots={roots} value={root} onChange={onRoot} />
        ) : (
          <code class="md-root" title={roots[0] ?? ''}>
            {roots[0] ?? '(no folder)'}
          </code>
        )}
      </label>
      {model.readOnly === true ? (
        // Served read-only: browsing and searching only, so no control that the server would refuse.
        <span class="md-readonly" title="This page is served read-only: browsing and searching only">
          Read-only
        </span>
      ) : (
        <>
          <button type="button" class="md-button md-primary" disabled={running} onClick={() => scan({})}>
            Scan
          </button>
          <button
            type="button"
            class="md-button"
            disabled={running || summary?.civitai === false}
            title="Ask Civitai about every model it has not identified yet (ignores offline mode and cached answers)"
            onClick={() => scan({ refresh: true, offline: false })}
          >
            Identify missing
          </button>
          <button type="button" class="md-button" disabled={!running} onClick={() => model.request('cancel', {})}>
            Cancel
          </button>
          <span class="md-toolbar-gap" />
          <button type="button" class="md-button" disabled={busy !== null} onClick={exportDoc}>
            Export
          </button>
          <button type="button" class="md-button" disabled={busy !== null} onClick={() => fileInput.current?.click()}>
            Import
          </button>
          <input
            ref={fileInput}
            type="file"
            accept=".json,application/json"
            class="md-hidden"
            aria-label="Import an export file"
            tabIndex={-1}
            onChange={(e) => importFile((e.target as HTMLInputElement).files?.[0])}
          />
          <label class="md-field">
            <span>Show up to</span>
            <select
              value={String(settings?.nsfwLevel ?? 2)}
              onChange={(e) => model.setSettings({ nsfwLevel: Number((e.target as HTMLSelectElement).value) as PanelSettings['nsfwLevel'] })}
            >
              {NSFW.map((n) => (
                <option key={n.value} value={String(n.value)}>
                  {n.label}
                </option>
              ))}
            </select>
          </label>
        </>
      )}
    </div>
  );
}

/** The kernel reports lists of paths; older replies (and tests) a number. */
function countOf(v: number | string[] | undefined): number {
  return Array.isArray(v) ? v.length : (v ?? 0);
}
