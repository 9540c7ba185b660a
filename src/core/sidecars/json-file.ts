/**
 * Reading another tool's JSON file without trusting it: a size cap (a sidecar
 * is a few KB; a 20 MB one is not a sidecar), a BOM stripped (Windows editors
 * add one), and every failure turned into a one-line reason instead of a throw.
 */
import { basename } from 'node:path';
import { describeFsError } from '../errors';
import { isTransientIoError } from '../io/transient';
import { readFileCapped } from '../read-capped';

/** Sidecars larger than this are refused unread. */
export const MAX_SIDECAR_BYTES = 16 * 1024 * 1024;

export type JsonRead =
  | { kind: 'missing' }
  /** Zero bytes or only whitespace: CH left such files when Civitai was down (formats §3). */
  | { kind: 'empty' }
  | { kind: 'ok'; value: unknown; text: string }
  /** `refused`: not a regular file (a link, a FIFO): left alone by readers and writers alike. */
  | { kind: 'bad'; reason: string; refused?: true; transient?: unknown };

/** Reads and parses `file`; never throws. `missing` only for ENOENT/ENOTDIR. */
export async function readJsonCapped(file: string, maxBytes = MAX_SIDECAR_BYTES): Promise<JsonRead> {
  const read = await readFileCapped(file, maxBytes);
  switch (read.kind) {
    case 'missing':
      return { kind: 'missing' };
    case 'not_a_file':
      return { kind: 'bad', reason: read.reason, refused: true };
    case 'too_large':
      return { kind: 'bad', reason: read.size === null ? `too large (over ${maxBytes} bytes)` : `too large (${read.size} bytes; a sidecar is at most ${maxBytes})` };
    case 'unreadable':
      // A mount failing for a moment (transient) is not an unusable file: writers retry on it.
      return { kind: 'bad', reason: `unreadable (${describeFsError(read.error)})`, ...(isTransientIoError(read.error) ? { transient: read.error } : {}) };
  }
  let text = read.bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { kind: 'empty' };
  try {
    return { kind: 'ok', value: JSON.parse(text), text };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0].slice(0, 120) : 'parse error';
    return { kind: 'bad', reason: `invalid JSON (${msg})` };
  }
}

/**
 * The warning for a sidecar that is not a regular file, worded the same by the
 * reader and the writers, so that a scan reports it once.
 */
export function refusedSidecarWarning(file: string, reason: string): string {
  return sidecarWarning(file, `${reason}, ignored`);
}

/** `name.json: reason`, the form every sidecar warning takes. */
export function sidecarWarning(file: string, reason: string): string {
  return `${basename(file)}: ${reason}`;
}

/** A writer must not decide on a read the mount failed: the failure is thrown, and the write retried. */
export function throwIfTransient(read: JsonRead): void {
  if (read.kind === 'bad' && read.transient !== undefined) throw read.transient;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a JSON value is, for messages: `an array`, `a string`, `null`... */
export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
