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
/** Where the snapshot's bytes come from: its open file (a FileHandle is one), or bytes already read (`bytesSource`). */
export interface ByteSource {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** Bytes in memory as a ByteSource. */
export function bytesSource(bytes: Buffer): ByteSource {
  return {
    read: async (buffer, offset, length, position) => ({ bytesRead: bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length)) }),
  };
}

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
 * Reads `size` bytes of a snapshot, handing each row (parsed, not
 * checked) to `onRow`. `ok` once the whole file was read in the expected
 * layout; `other` as soon as something does not fit it.
 */
export async function readSnapshotRows(fh: ByteSource, size: number, onRow: (row: unknown[]) => void): Promise<{ kind: 'ok'; header: SnapshotHeader } | { kind: 'other' }> {
  const splitter = new RowSplitter(onRow);
  let buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(size, 1)));
  /** Bytes at the start of `buf` not consumed yet (an unfinished row), carried before the next read. */
  let kept = 0;
  let offset = 0;
  while (offset < size) {
    // A row longer than the buffer: a larger buffer (the carry is at most one row, never the file).
    if (kept === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
    const { bytesRead } = await fh.read(buf, kept, Math.min(buf.length - kept, size - offset), offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
    const end = kept + bytesRead;
    const consumed = splitter.push(buf, end);
    if (consumed < 0) return { kind: 'other' };
    buf.copy(buf, 0, consumed, end);
    kept = end - consumed;
  }
  const header = kept === 0 ? splitter.finish() : null;
  return header ? { kind: 'ok', header } : { kind: 'other' };
}

type Where = 'header' | 'row-or-end' | 'after-row' | 'row' | 'after-rows' | 'done';

/**
 * A small state machine over the bytes: strings are skipped (their brackets
 * do not count), brackets counted. The complete rows of each read are parsed
 * together, as one JSON list (one JSON.parse per MiB, not per row); they die
 * young all the same.
 */
class RowSplitter {
  private where: Where = 'header';
  private header: SnapshotHeader | null = null;

  constructor(private readonly onRow: (row: unknown[]) => void) {}

  /** Reads `data[0, n)`: how many bytes it consumed (the rest is an unfinished row), or -1 when they do not fit the layout. */
  push(data: Buffer, n: number): number {
    let i = 0;
    // The complete rows met in this read, from the first's `[` to the last's `]` (commas between them).
    let first = -1;
    let last = -1;
    const flush = (consumed: number): number => {
      if (first < 0) return consumed;
      let rows: unknown;
      try {
        rows = JSON.parse(`[${data.toString('utf8', first, last)}]`);
      } catch {
        return -1;
      }
      for (const row of rows as unknown[][]) this.onRow(row);
      return consumed;
    };
    while (i < n) {
      switch (this.where) {
        case 'header': {
          const head = data.toString('latin1', 0, Math.min(n, HEADER_MAX));
          const m = HEADER.exec(head);
          if (!m) return n < HEADER_MAX ? 0 : -1;
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
          if (c !== OPEN_ARRAY) return -1;
          const end = rowEnd(data, i, n);
          if (end < 0) return flush(i);
          if (first < 0) first = i;
          last = end;
          i = end;
          this.where = 'after-row';
          break;
        }
        case 'after-row': {
          const c = data[i++];
          if (c === COMMA) this.where = 'row';
          else if (c === CLOSE_ARRAY) this.where = 'after-rows';
          else return -1;
          break;
        }
        case 'after-rows':
          if (data[i++] !== CLOSE_OBJECT) return -1;
          this.where = 'done';
          break;
        case 'done':
          // Anything after the snapshot's closing brace: not the layout compact() writes.
          return -1;
      }
    }
    return flush(n);
  }

  /** The header, when the bytes ended exactly where the snapshot does. */
  finish(): SnapshotHeader | null {
    return this.where === 'done' ? this.header : null;
  }
}

/** Where the array that opens at `start` ends (one past its `]`), or -1 when the bytes stop first. */
function rowEnd(data: Buffer, start: number, n: number): number {
  let depth = 0;
  let i = start;
  while (i < n) {
    const b = data[i++];
    if (b === QUOTE) {
      // To the closing quote: the next quote not escaped by an odd number of backslashes.
      for (;;) {
        const q = data.indexOf(QUOTE, i);
        if (q < 0 || q >= n) return -1;
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
