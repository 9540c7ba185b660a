/** The running scan: phase, files, bytes hashed, speed and ETA, from `state.progress`. */
import type { PanelProgress, ScanPhase } from '../../kernel/protocol';
import { formatBytes, formatCount, formatDuration, formatRate } from '../format';

const PHASES: Record<ScanPhase, string> = {
  walk: 'Listing files',
  examine: 'Reading headers',
  hash: 'Hashing',
  lookup: 'Asking Civitai',
  sidecars: 'Writing sidecars and previews',
  done: 'Done',
};

export function ProgressBar({ progress }: { progress: PanelProgress | null }) {
  if (!progress || (!progress.running && !progress.cancelled && progress.phase === 'done')) return null;
  const p = progress;
  const fraction = p.bytesToHash > 0 ? Math.min(1, p.bytesHashed / p.bytesToHash) : p.phase === 'done' ? 1 : 0;
  const pct = Math.round(fraction * 100);
  const label = p.cancelled ? 'Cancelled' : PHASES[p.phase] ?? p.phase;
  return (
    <div class="md-progress" aria-live="polite">
      <div class="md-progress-line">
        <strong>{label}</strong>
        <span>
          {formatCount(p.filesHashed)} / {formatCount(p.filesToHash)} files hashed · {formatCount(p.filesFound)} found
        </span>
        <span>
          {formatBytes(p.bytesHashed)} / {formatBytes(p.bytesToHash)}
        </span>
        <span>{formatRate(p.bytesPerSecond)}</span>
        <span>ETA {formatDuration(p.etaSeconds)}</span>
        {p.lookups > 0 && <span>{formatCount(p.lookups)} Civitai requests</span>}
      </div>
      <div class="md-progress-track" role="progressbar" aria-label="Scan progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div class="md-progress-fill" style={{ width: `${pct}%` }} />
      </div>
      {p.currentFile && (
        <div class="md-progress-file" title={p.currentFile}>
          {p.currentFile}
        </div>
      )}
    </div>
  );
}
