/**
 * A first look at what a root's index holds, without loading it: each entry's
 * few fields the panel's first screen needs (index-codec's peekRow), and a way
 * to decode and check, in full, the few entries the caller keeps.
 *
 * Why: a panel opened on a library with no kept first window (an index an
 * older modeldeck wrote, a deleted cache) waited for the whole library to load,
 * about a second at 100,000 models, most of it building, checking and keeping
 * every entry. This look parses the same rows and builds almost nothing per
 * entry, in well under half that (docs/benchmarks.md).
 *
 * What it gives is the index as the store would load it (the journal's lines
 * replace or remove the snapshot's rows for their paths), except for rows the
 * store would refuse on a check peekRow leaves out: those are counted here.
 * The caller treats the result as a first look that the loaded library
 * replaces. Only the layout compact() writes is read this way; false for
 * anything else (no snapshot, a link, another layout or format), and the
 * caller waits for the library.
 */
import { join } from 'node:path';
import { lstatOrNull } from '../safe-fs';
import { decodeEntry, peekRow } from './index-codec';
import { INDEX_DIR, JOURNAL_FILE, SNAPSHOT_FILE, openIndexFile, readBytes, readWhole, type ReadSnapshots } from './index-files';
import { INDEX_FORMAT, journalLines } from './index-store';
import { bytesSource, readSnapshotRows } from './snapshot-rows';
import type { EntryPeek, ModelEntry } from './types';

/** Called once per entry: its peek, and its whole entry decoded and checked on demand (null when the store would refuse it). */
export type PeekVisitor = (peek: EntryPeek, entry: () => ModelEntry | null) => void;

/**
 * Looks at one root's index. With `read`, the snapshot's bytes are kept there
 * for the library's load that follows (index-files.ts, ReadSnapshots).
 */
export async function peekIndex(root: string, visit: PeekVisitor, read?: ReadSnapshots): Promise<boolean> {
  const dir = join(root, INDEX_DIR);
  const st = await lstatOrNull(dir);
  if (!st?.isDirectory()) return false;
  const journal = await lastJournalWords(join(dir, JOURNAL_FILE));
  if (!journal) return false;
  const opened = await openIndexFile(join(dir, SNAPSHOT_FILE));
  if (opened.kind !== 'ok') return false;
  // Read whole first (one buffer outside the JS heap): the load that follows parses these bytes again, not the file.
  let bytes: Buffer;
  try {
    bytes = await readBytes(opened.fh, 0, opened.identity.size);
  } finally {
    await opened.fh.close();
  }
  const rows = await readSnapshotRows(bytesSource(bytes), bytes.length, (row) => {
    const peek = peekRow(row);
    // A path the journal names is the journal's: its last line for that path says what the index holds.
    if (!peek || journal.has(peek.path)) return;
    visit(peek, () => {
      const decoded = decodeEntry(row);
      return 'entry' in decoded ? decoded.entry : null;
    });
  });
  if (rows.kind !== 'ok' || rows.header.format !== INDEX_FORMAT || bytes.length !== opened.identity.size) return false;
  for (const entry of journal.values()) if (entry) visit(entry, () => entry);
  read?.keep(opened.identity, bytes);
  return true;
}

/** The journal's last word on each path it names: the entry put (checked), or null when removed. Null when the journal cannot be read. */
async function lastJournalWords(file: string): Promise<Map<string, ModelEntry | null> | null> {
  const read = await readWhole(file);
  const last = new Map<string, ModelEntry | null>();
  if (read.kind === 'missing') return last;
  if (read.kind === 'refused') return null;
  // Only complete lines, as the store reads them.
  for (const line of journalLines(read.text.slice(0, read.text.lastIndexOf('\n') + 1))) {
    if ('put' in line) last.set(line.put.path, line.put);
    else if ('del' in line) last.set(line.del, null);
  }
  return last;
}
