/** Opening a library from the command line, and printing what a scan did. */
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Library, ScanReport } from '../core/library';
import { formatBytes, printable } from './output';

/** The index versions each library was opened at: a command that changed them keeps the panel's first window. */
const versionsAtOpen = new WeakMap<Library, string>();

export async function openLibrary(roots: string[], offline = false): Promise<Library> {
  const { Library } = await import('../core/library');
  // Civitai settings come from the environment (CIVITAI_BASE_URL, CIVITAI_TOKEN...).
  const lib = await Library.open(roots, offline ? { civitai: false } : {});
  // A damaged or planted index file was set aside, a bad row dropped: say so once, then go on.
  for (const w of lib.loadWarnings) process.stderr.write(`modeldeck: warning: ${printable(w)}\n`);
  versionsAtOpen.set(lib, JSON.stringify(lib.indexVersions()));
  return lib;
}

/**
 * Closes a library the command is done with. When the command changed the
 * index, the panel's first window is kept for the new version first: the
 * next `show()` in a notebook then paints cards before its library has
 * loaded (seconds at 100,000 models) instead of waiting for it.
 */
export async function closeLibrary(lib: Library): Promise<void> {
  try {
    await keepPanelWindow(lib);
  } finally {
    await lib.close();
  }
}

/** Keeps the panel's first window if the index changed since the last time (or since the library was opened). */
export async function keepPanelWindow(lib: Library): Promise<void> {
  const versions = JSON.stringify(lib.indexVersions());
  if (versions === versionsAtOpen.get(lib)) return;
  try {
    const { keepFirstWindow } = await import('../kernel/widget/first-window');
    if (await keepFirstWindow(lib)) versionsAtOpen.set(lib, versions);
  } catch {
    // A window that cannot be kept costs the next panel a slower start, nothing else: no error for it.
  }
}

/**
 * A file named on the command line, as the user meant it: relative to the
 * current folder (not to a library root), with the folder's symlinks resolved
 * as the library resolves its roots, so `info ./x.safetensors` finds the entry.
 */
export async function userPath(file: string): Promise<string> {
  const abs = resolve(file);
  const dir = await realpath(dirname(abs)).catch(() => dirname(abs));
  return join(dir, basename(abs));
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
  if (r.warnings.length) lines.push(`  ${r.warnings.length} warning(s):`, ...r.warnings.map((w) => `    ${printable(w.path)}: ${printable(w.message)}`));
  process.stdout.write(lines.join('\n') + '\n');
}
