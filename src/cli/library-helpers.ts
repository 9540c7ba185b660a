/** Opening a library from the command line, and printing what a scan did. */
import type { Library, ScanReport } from '../core/library';
import { formatBytes, oneLine } from './output';

export async function openLibrary(roots: string[], offline = false): Promise<Library> {
  const { Library } = await import('../core/library');
  // Civitai settings come from the environment (CIVITAI_BASE_URL, CIVITAI_TOKEN...).
  return Library.open(roots, offline ? { civitai: false } : {});
}

/** The library root that holds `file`, or a clear error. */
export async function rootOf(file: string): Promise<string> {
  const { findRootOf } = await import('../core/library');
  const root = await findRootOf(file);
  if (!root) throw new Error(`${file}: not inside a scanned library (run "modeldeck scan FOLDER" on the folder that holds it)`);
  return root;
}

export function printScanReport(r: ScanReport, offline: boolean): void {
  const lines = [
    `${r.files} model files in ${r.roots.join(', ')} (${(r.elapsedMs / 1000).toFixed(1)} s)`,
    `  unchanged ${r.unchanged}, new ${r.added}, changed ${r.changed}, moved ${r.moved}, removed ${r.removed}`,
    `  hashed ${r.hashed} (${formatBytes(r.bytesHashed)}), hashes adopted from other tools ${r.adopted}`,
    offline
      ? `  offline: ${r.pendingLookup} files wait for a Civitai lookup (run without --offline)`
      : `  on Civitai ${r.identified}, not on Civitai ${r.notOnCivitai}, lookup pending ${r.pendingLookup}, previews saved ${r.previewsWritten}`,
  ];
  if (r.cancelled) lines.push('  cancelled: what was done is saved; the next scan goes on from there');
  for (const m of r.verifyMismatches) lines.push(`  WRONG ${m.hash} from ${m.source} for ${m.path}: was ${m.recorded}, is ${m.actual}`);
  if (r.warnings.length) lines.push(`  ${r.warnings.length} warning(s):`, ...r.warnings.map((w) => `    ${oneLine(w.path)}: ${oneLine(w.message)}`));
  process.stdout.write(lines.join('\n') + '\n');
}
