/** What a scan reports while it runs, and what it reports at the end. */

export type ScanPhase = 'walk' | 'examine' | 'hash' | 'lookup' | 'sidecars' | 'done';

export interface ScanProgress {
  phase: ScanPhase;
  filesFound: number;
  /** Files that need hashing in this scan, and how many are done. */
  filesToHash: number;
  filesHashed: number;
  bytesToHash: number;
  bytesHashed: number;
  /** Average over the hashing so far. */
  bytesPerSecond: number;
  /** Estimated seconds left for the hashing, when it can be told. */
  etaSeconds: number | null;
  /** Requests made to Civitai so far in this scan. */
  lookups: number;
  previews: number;
  currentFile?: string;
  /** Set while the scan waits for a drive that went away ("Drive disconnected: waiting..." with the fix). */
  paused?: string;
}

export interface ScanWarning {
  /** Absolute path of the file the warning is about. */
  path: string;
  message: string;
}

export interface ScanReport {
  roots: string[];
  files: number;
  unchanged: number;
  added: number;
  changed: number;
  /** Files found at a new path with the fingerprint of a vanished one: nothing re-hashed. */
  moved: number;
  removed: number;
  hashed: number;
  bytesHashed: number;
  /** Files whose SHA256 was taken from another tool's sidecar or cache instead of read. */
  adopted: number;
  identified: number;
  notOnCivitai: number;
  /** Files that still need a Civitai lookup (offline, or the lookup failed). */
  pendingLookup: number;
  previewsWritten: number;
  /** `--verify`: hashes that did not match what another tool or an earlier scan said. */
  verifyMismatches: { path: string; hash: string; recorded: string; actual: string; source: string }[];
  warnings: ScanWarning[];
  cancelled: boolean;
  elapsedMs: number;
  /** Reads tried again after a transient error (a network mount dropping for a moment). */
  ioRetries?: number;
  /** Times the scan paused for a disconnected drive. */
  pauses?: number;
}

export function emptyReport(roots: string[]): ScanReport {
  return {
    roots,
    files: 0,
    unchanged: 0,
    added: 0,
    changed: 0,
    moved: 0,
    removed: 0,
    hashed: 0,
    bytesHashed: 0,
    adopted: 0,
    identified: 0,
    notOnCivitai: 0,
    pendingLookup: 0,
    previewsWritten: 0,
    verifyMismatches: [],
    warnings: [],
    cancelled: false,
    elapsedMs: 0,
  };
}

/**
 * Adds a warning about `path`. Engine errors start with the file they are
 * about, and the warning carries the path already, so that prefix is dropped;
 * the same problem met twice (probing, then hashing) is reported once.
 */
export function addWarning(report: ScanReport, path: string, message: string): void {
  const text = withoutPath(path, message);
  if (!report.warnings.some((w) => w.path === path && w.message === text)) report.warnings.push({ path, message: text });
}

export function withoutPath(path: string, message: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}
