/**
 * What survives a kill beside a `.part`: which byte ranges of it are written,
 * and what the server called the file (ETag, Last-Modified, size), so a resume
 * asks only for the rest, with `If-Range`, and restarts when the file changed.
 *
 * Kept in `<name>.part.json`, replaced atomically (a kill never leaves half a
 * state). It claims only bytes whose write had completed when it was saved, so
 * after a crash the `.part` holds at least what the state says. It holds no
 * URL: signed URLs expire and carry credentials; the source is resolved again.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../sidecars/paths';

export interface PartState {
  v: 1;
  /** What the file was asked as (a Civitai version and file id, a HuggingFace path, a URL without query): a different ask starts over. */
  key: string;
  size: number;
  etag?: string;
  lastModified?: string;
  /** Written ranges [start, end), sorted, merged. */
  done: Array<[number, number]>;
}

export function statePathFor(partPath: string): string {
  return `${partPath}.json`;
}

export async function readPartState(path: string): Promise<PartState | null> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as PartState;
    if (s?.v !== 1 || typeof s.key !== 'string' || !Number.isSafeInteger(s.size) || !Array.isArray(s.done)) return null;
    for (const r of s.done) if (!Array.isArray(r) || !(r[0] >= 0 && r[1] > r[0] && r[1] <= s.size)) return null;
    return s;
  } catch {
    return null;
  }
}

export async function writePartState(path: string, state: PartState): Promise<void> {
  // No fsync: the state must survive a killed process (the page cache does), and an fsync under a download's
  // dirty pages took long enough that saves fell behind (a resume after kill -9 found a quarter of what was written).
  // A power loss is not covered either way: the .part's own bytes are not synced.
  await writeFileAtomic(path, JSON.stringify(state), { sync: false });
}

/** Adds [start, end) to a sorted, merged range list. */
export function addRange(done: Array<[number, number]>, start: number, end: number): Array<[number, number]> {
  if (end <= start) return done;
  const out: Array<[number, number]> = [];
  let s = start;
  let e = end;
  for (const [a, b] of done) {
    if (b < s) out.push([a, b]);
    else if (a > e) {
      out.push([s, e]);
      s = a;
      e = b;
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  out.push([s, e]);
  return out.sort((x, y) => x[0] - y[0]);
}

/** The ranges of [0, size) not in `done`. */
export function missingRanges(done: Array<[number, number]>, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = 0;
  for (const [a, b] of done) {
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
  }
  if (at < size) out.push([at, size]);
  return out;
}

/** Bytes from 0 that are all written. */
export function contiguousEnd(done: Array<[number, number]>): number {
  return done.length && done[0][0] === 0 ? done[0][1] : 0;
}
