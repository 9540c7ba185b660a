/**
 * The widget's state: what `comm_open` carries, what `update` changes, and the
 * conversions from the engine's values (progress, scan reports, models) to
 * the plain values of the protocol.
 */
import { statusesOf, type ModelEntry, type ScanProgress, type ScanReport } from '../../core/library';
import { version } from '../../version';
import {
  MODEL_NAME,
  MODULE_NAME,
  PANEL_PROTOCOL,
  VIEW_NAME,
  moduleVersionRange,
  type LibrarySummary,
  type PanelProgress,
  type PanelSettings,
  type PanelState,
  type ScanSummary,
} from '../protocol';

export const DEFAULT_SETTINGS: PanelSettings = { nsfwLevel: 2, previews: true, offline: false };

/** Keys the front end may change with an `update`; every other key belongs to the kernel. */
export const WRITABLE_KEYS: readonly string[] = ['settings'];

export function initialState(roots: string[], settings: PanelSettings, flags: { civitai: boolean; tokenSet: boolean }): PanelState {
  const range = moduleVersionRange(version);
  return {
    _model_name: MODEL_NAME,
    _model_module: MODULE_NAME,
    _model_module_version: range,
    _view_name: VIEW_NAME,
    _view_module: MODULE_NAME,
    _view_module_version: range,
    _view_count: null,
    _dom_classes: [],
    tabbable: null,
    tooltip: null,
    protocol: PANEL_PROTOCOL,
    roots: [...roots],
    progress: null,
    errors: [],
    summary: { ready: false, models: 0, bytes: 0, byStatus: {}, byKind: {}, civitai: flags.civitai, tokenSet: flags.tokenSet, lastScan: null },
    settings: { ...settings },
    downloads: [],
  };
}

/** What the summary counts of the library itself (also what a kept first window shows before it has loaded). */
export type SummaryCounts = Pick<LibrarySummary, 'models' | 'bytes' | 'byStatus' | 'byKind'>;

export function summaryCountsOf(models: readonly ModelEntry[]): SummaryCounts {
  const byStatus: LibrarySummary['byStatus'] = {};
  const byKind: LibrarySummary['byKind'] = {};
  let bytes = 0;
  for (const m of models) {
    bytes += m.size;
    byKind[m.kind] = (byKind[m.kind] ?? 0) + 1;
    for (const s of statusesOf(m)) byStatus[s] = (byStatus[s] ?? 0) + 1;
  }
  return { models: models.length, bytes, byStatus, byKind };
}

export function summarise(models: readonly ModelEntry[], previous: LibrarySummary): LibrarySummary {
  // Counts of the library itself: no longer the kept first window's (`preview`).
  const { preview: _preview, ...rest } = previous;
  return { ...rest, ready: true, ...summaryCountsOf(models) };
}

export function toProgress(p: ScanProgress, startedAt: number, roots: readonly string[], running: boolean): PanelProgress {
  return {
    running,
    phase: p.phase,
    filesFound: p.filesFound,
    filesToHash: p.filesToHash,
    filesHashed: p.filesHashed,
    bytesToHash: p.bytesToHash,
    bytesHashed: p.bytesHashed,
    bytesPerSecond: Math.round(p.bytesPerSecond),
    etaSeconds: p.etaSeconds === null || !Number.isFinite(p.etaSeconds) ? null : Math.round(p.etaSeconds),
    lookups: p.lookups,
    previews: p.previews,
    currentFile: p.currentFile === undefined ? null : relativeToRoots(p.currentFile, roots),
    startedAt,
    cancelled: false,
  };
}

export function toScanSummary(r: ScanReport, at: number): ScanSummary {
  return {
    at,
    elapsedMs: r.elapsedMs,
    files: r.files,
    added: r.added,
    changed: r.changed,
    moved: r.moved,
    removed: r.removed,
    hashed: r.hashed,
    bytesHashed: r.bytesHashed,
    identified: r.identified,
    notOnCivitai: r.notOnCivitai,
    pendingLookup: r.pendingLookup,
    previewsWritten: r.previewsWritten,
    warnings: r.warnings.length,
    cancelled: r.cancelled,
  };
}

/** `path` relative to the root that holds it (the engine reports some paths absolute, some relative). */
export function relativeToRoots(path: string, roots: readonly string[]): string {
  for (const r of roots) if (path.startsWith(r + '/')) return path.slice(r.length + 1);
  return path;
}
