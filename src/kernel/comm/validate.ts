/**
 * Shape checks for the content of comm messages from the front end. The
 * front end is trusted with the HMAC key, but a buggy or hostile widget can
 * still send anything JSON allows; a message that fails these checks is
 * logged and dropped before any handler sees it.
 */
import { isPlainObject } from './wire';

export const COMM_MESSAGE_TYPES = ['comm_open', 'comm_msg', 'comm_close', 'comm_info_request'] as const;
export type CommMessageType = (typeof COMM_MESSAGE_TYPES)[number];

export function isCommMessageType(type: string): type is CommMessageType {
  return (COMM_MESSAGE_TYPES as readonly string[]).includes(type);
}

/** Comm ids are uuid hex strings in practice; the cap only stops absurd keys. */
const MAX_ID_LENGTH = 256;

export type CommContent =
  | { type: 'comm_open'; commId: string; targetName: string; data: Record<string, unknown> }
  | { type: 'comm_msg'; commId: string; data: Record<string, unknown> }
  | { type: 'comm_close'; commId: string; data: Record<string, unknown> }
  | { type: 'comm_info_request'; targetName: string | null };

export type Checked = { ok: true; value: CommContent } | { ok: false; reason: string };

export function checkCommContent(type: CommMessageType, content: Record<string, unknown>): Checked {
  if (type === 'comm_info_request') {
    const t = content.target_name;
    if (t === undefined || t === null || t === '') return { ok: true, value: { type, targetName: null } };
    if (typeof t !== 'string') return { ok: false, reason: 'target_name is not a string' };
    return { ok: true, value: { type, targetName: t } };
  }
  const commId = content.comm_id;
  if (typeof commId !== 'string' || !commId || commId.length > MAX_ID_LENGTH) return { ok: false, reason: 'comm_id is missing or not a short string' };
  // `data` is a dict in the spec; absent is tolerated as {} (some front ends omit it on close).
  const data = content.data === undefined || content.data === null ? {} : content.data;
  if (!isPlainObject(data)) return { ok: false, reason: 'data is not a JSON object' };
  if (type === 'comm_open') {
    const targetName = content.target_name;
    if (typeof targetName !== 'string' || !targetName || targetName.length > MAX_ID_LENGTH) return { ok: false, reason: 'target_name is missing or not a short string' };
    return { ok: true, value: { type, commId, targetName, data } };
  }
  return { ok: true, value: { type, commId, data } };
}
