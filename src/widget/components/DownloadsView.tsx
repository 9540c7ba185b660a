/**
 * Downloads: a box to paste a link (anything `modeldeck get` accepts) and the
 * library's downloads with bytes, speed, ETA, cancel and retry. The list is
 * the kernel's `downloads` state, so it survives a reload of the page. A
 * read-only page (serve --read-only) shows the list without any control.
 */
import { useState } from 'preact/hooks';
import type { DownloadItem } from '../../kernel/protocol';
import type { PanelClient } from '../client';
import { formatBytes, formatDuration, formatRate } from '../format';
import { useModelState } from '../hooks';

const LABELS: Record<DownloadItem['status'], string> = {
  queued: 'Queued',
  resolving: 'Asking the source…',
  downloading: 'Downloading',
  done: 'Done',
  exists: 'Already in the library',
  skipped: 'Skipped',
  error: 'Failed',
  cancelled: 'Cancelled',
};

export function DownloadsView({ model, root, notify }: { model: PanelClient; root: number; notify: (text: string) => void }) {
  const items = useModelState(model, 'downloads') ?? [];
  const [ref, setRef] = useState('');
  const [sending, setSending] = useState(false);
  const readOnly = model.readOnly === true;
  if (readOnly && items.length === 0) return null;

  const start = (e: Event) => {
    e.preventDefault();
    const text = ref.trim();
    if (!text) return;
    setSending(true);
    void model.request('download', { ref: text, root }).then((reply) => {
      setSending(false);
      if (reply.ok) setRef('');
    });
  };
  const act = (type: 'download-cancel' | 'download-retry' | 'download-clear', downloadId: string) =>
    void model.request(type, { downloadId }).then((reply) => reply.ok && type === 'download-retry' && notify('Download queued again.'));

  return (
    <section class="md-downloads" aria-label="Downloads">
      {!readOnly && (
        <form class="md-download-form" onSubmit={start}>
          <label class="md-download-field">
            <span>Link to download</span>
            <input
              type="text"
              class="md-input"
              placeholder="Paste a Civitai or HuggingFace link, an AIR or a version id"
              value={ref}
              onInput={(e) => setRef((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="md-button md-small" disabled={sending || ref.trim() === ''}>
            Download
          </button>
        </form>
      )}
      {items.length > 0 && (
        <ul class="md-download-list">
          {items.map((d) => (
            <li key={d.downloadId} class={`md-download md-download-${d.status}`} data-download={d.downloadId}>
              <span class="md-download-name">{d.name ?? d.input}</span> <span class="md-download-status">{statusText(d)}</span>
              {d.status === 'downloading' && d.total ? <progress max={d.total} value={d.received} /> : null}
              {d.message && (
                <div class={d.status === 'exists' ? 'md-download-warning' : 'md-download-message'} role={d.status === 'error' || d.status === 'exists' ? 'alert' : undefined}>
                  {d.message}
                </div>
              )}
              {!readOnly && (
                <span class="md-download-actions">
                  {['queued', 'resolving', 'downloading'].includes(d.status) && (
                    <button type="button" class="md-link-button" onClick={() => act('download-cancel', d.downloadId)}>
                      Cancel
                    </button>
                  )}
                  {(d.status === 'error' || d.status === 'cancelled') && (
                    <button type="button" class="md-link-button" onClick={() => act('download-retry', d.downloadId)}>
                      Retry
                    </button>
                  )}
                  {['done', 'exists', 'skipped', 'error', 'cancelled'].includes(d.status) && (
                    <button type="button" class="md-link-button" onClick={() => act('download-clear', d.downloadId)} title="Remove from this list">
                      Remove
                    </button>
                  )}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** "12.0 MB of 40.0 MB · 5.0 MB/s · 6 s left", or the state's label. */
export function statusText(d: DownloadItem): string {
  if (d.status === 'downloading') {
    const of = d.total ? `${formatBytes(d.received)} of ${formatBytes(d.total)}` : formatBytes(d.received);
    if (d.total && d.received >= d.total) return `${of} · verifying…`;
    const eta = d.etaSeconds === null ? '' : ` · ${formatDuration(d.etaSeconds)} left`;
    return `${of} · ${formatRate(d.bytesPerSecond)}${eta}`;
  }
  if (d.status === 'done') return `Done: ${d.path ?? ''} (${formatBytes(d.received)}, verified)`;
  return LABELS[d.status];
}
