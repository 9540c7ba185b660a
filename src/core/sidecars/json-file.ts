/**
 * Reading another tool's JSON file without trusting it: a size cap (a sidecar
 * is a few KB; a 20 MB one is not a sidecar), a BOM stripped (Windows editors
 * add one), and every failure turned into a one-line reason instead of a throw.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { describeFsError } from '../errors';

/** Sidecars larger than this are refused unread. */
export const MAX_SIDECAR_BYTES = 16 * 1024 * 1024;

export type JsonRead =
  | { kind: 'missing' }
  /** Zero bytes or only whitespace: CH left such files when Civitai was down (formats §3). */
  | { kind: 'empty' }
  | { kind: 'ok'; value: unknown; text: string }
  | { kind: 'bad'; reason: string };

/** Reads and parses `file`; never throws. `missing` only for ENOENT/ENOTDIR. */
export async function readJsonCapped(file: string, maxBytes = MAX_SIDECAR_BYTES): Promise<JsonRead> {
  let text: string;
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { kind: 'bad', reason: 'not a regular file' };
      if (st.size > maxBytes) return { kind: 'bad', reason: `too large (${st.size} bytes; a sidecar is at most ${maxBytes})` };
      // Read at most the cap even if the file grew after stat.
      const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      if (n > maxBytes) return { kind: 'bad', reason: `too large (over ${maxBytes} bytes)` };
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'bad', reason: `unreadable (${describeFsError(err)})` };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { kind: 'empty' };
  try {
    return { kind: 'ok', value: JSON.parse(text), text };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0].slice(0, 120) : 'parse error';
    return { kind: 'bad', reason: `invalid JSON (${msg})` };
  }
}

/** `name.json: reason`, the form every sidecar warning takes. */
export function sidecarWarning(file: string, reason: string): string {
  return `${basename(file)}: ${reason}`;
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
