/**
 * The snapshot read row by row, in chunks, instead of as one text given to
 * one JSON.parse.
 *
 * Why: at 100,000 models the snapshot is ~49 MB. Read whole, the kernel held
 * the bytes, the same as a string, and every parsed row at once (~100 MB, all
 * of it surviving into the old generation) before a single entry was decoded,
 * then the decoded entries beside the rows; collecting that was a third to
 * half of the time to the panel's first window, and its peak stayed in the
 * kernel's RSS. Row by row, each row's text and parsed array die young (a
 * cheap scavenge) and only the decoded entry survives.
 *
 * Only the layout `compact()` writes is read this way:
 * `{"format":N,"tool":"modeldeck","savedAt":N,"rows":[[...],[...]]}` with
 * nothing else in the file and every row an array. Anything else (another
 * format, a hand-edited file, a syntax error anywhere) answers `other`, and
 * the caller reads the file whole as before, which decides what it is; rows
 * already handed over must then be forgotten.
 */
import type { FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 1 << 20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

/** What the header says, for the caller's checks. */
export interface SnapshotHeader {
  format: number;
  savedAt: number;
}

const HEADER = /^\{"format":(\d{1,9}),"tool":"modeldeck","savedAt":(\d{1,16}),"rows":\[/;
/** Longest header the pattern accepts. */
const HEADER_MAX = 80;

/**
 * Reads `size` bytes of an open snapshot, handing each row (parsed, not
 * checked) to `onRow`. `ok` once the whole file was read in the expected
 * layout; `other` as soon as something does not fit it.
 */
export async function readSnapshotRows(fh: FileHandle, size: number, onRow: (row: unknown[]) => void): Promise<{ kind: 'ok'; header: SnapshotHeader } | { kind: 'other' }> {
  const splitter = new RowSplitter(onRow);
  let offset = 0;
  const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(size, 1)));
  while (offset < size) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, size - offset), offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
    if (!splitter.push(chunk.subarray(0, bytesRead))) return { kind: 'other' };
  }
  const header = splitter.finish();
  return header ? { kind: 'ok', header } : { kind: 'other' };
}

type Where = 'header' | 'row-or-end' | 'after-row' | 'row' | 'after-rows' | 'done';

/** A small state machine over the bytes: strings are skipped (their brackets do not count), brackets counted. */
class RowSplitter {
  private where: Where = 'header';
  /** Bytes of an unfinished row (or header) carried over to the next chunk. */
  private carry: Buffer | null = null;
  private header: SnapshotHeader | null = null;

  constructor(private readonly onRow: (row: unknown[]) => void) {}

  /** False when the bytes do not fit the layout. */
  push(bytes: Buffer): boolean {
    // The carry is copied, never a view of the reused chunk buffer.
    const data = this.carry ? Buffer.concat([this.carry, bytes]) : bytes;
    this.carry = null;
    let i = 0;
    const n = data.length;
    while (i < n) {
      switch (this.where) {
        case 'header': {
          const head = data.toString('latin1', 0, Math.min(n, HEADER_MAX));
          const m = HEADER.exec(head);
          if (!m) {
            if (n < HEADER_MAX) return this.keep(data, 0);
            return false;
          }
          this.header = { format: Number(m[1]), savedAt: Number(m[2]) };
          i = m[0].length;
          this.where = 'row-or-end';
          break;
        }
        case 'row-or-end':
        case 'row': {
          const c = data[i];
          if (c === CLOSE_ARRAY && this.where === 'row-or-end') {
            i++;
            this.where = 'after-rows';
            break;
          }
          if (c !== OPEN_ARRAY) return false;
          const end = rowEnd(data, i);
          if (end < 0) return this.keep(data, i);
          let row: unknown;
          try {
            row = JSON.parse(data.toString('utf8', i, end));
          } catch {
            return false;
          }
          this.onRow(row as unknown[]);
          i = end;
          this.where = 'after-row';
          break;
        }
        case 'after-row': {
          const c = data[i++];
          if (c === COMMA) this.where = 'row';
          else if (c === CLOSE_ARRAY) this.where = 'after-rows';
          else return false;
          break;
        }
        case 'after-rows':
          if (data[i++] !== CLOSE_OBJECT) return false;
          this.where = 'done';
          break;
        case 'done':
          // Anything after the snapshot's closing brace: not the layout compact() writes.
          return false;
      }
    }
    return true;
  }

  /** The header, when the bytes ended exactly where the snapshot does. */
  finish(): SnapshotHeader | null {
    return this.where === 'done' && !this.carry ? this.header : null;
  }

  private keep(data: Buffer, from: number): boolean {
    this.carry = Buffer.from(data.subarray(from));
    return true;
  }
}

/** Where the array that opens at `start` ends (one past its `]`), or -1 when the bytes stop first. */
function rowEnd(data: Buffer, start: number): number {
  const n = data.length;
  let depth = 0;
  let i = start;
  while (i < n) {
    const b = data[i++];
    if (b === QUOTE) {
      // To the closing quote: the next quote not escaped by an odd number of backslashes.
      for (;;) {
        const q = data.indexOf(QUOTE, i);
        if (q < 0) return -1;
        let k = q - 1;
        while (data[k] === BACKSLASH) k--;
        i = q + 1;
        if ((q - 1 - k) % 2 === 0) break;
      }
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) depth++;
    else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      if (--depth === 0) return i;
    }
  }
  return -1;
}
