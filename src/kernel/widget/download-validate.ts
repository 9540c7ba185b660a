/**
 * Checks of the download requests (validate.ts's rules: every field typed and
 * bounded, unknown fields ignored, nothing throws). A reference is a single
 * line of printable text; what it means is get's own parser's business.
 */
import type { DownloadRequest, ReplyError } from '../protocol';

const MAX_REF = 2048;

export function parseDownloadRequest(type: DownloadRequest['type'], requestId: string | number, c: Record<string, unknown>): DownloadRequest | ReplyError {
  const fail = (field: string, want: string): ReplyError => ({ code: 'bad_request', message: `${type}: "${field}" must be ${want}` });
  const downloadId = (v: unknown) => typeof v === 'string' && /^d\d{1,12}$/.test(v);
  switch (type) {
    case 'download': {
      const ref = typeof c.ref === 'string' ? c.ref.trim() : null;
      if (!ref || ref.length > MAX_REF) return fail('ref', `a link, an AIR or a version id (at most ${MAX_REF} characters)`);
      // Controls (newlines included) have no place in a link; they would also break the one-line messages.
      if (/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(ref)) return fail('ref', 'one line of text without control characters');
      const root = c.root;
      if (root !== undefined && !(typeof root === 'number' && Number.isInteger(root) && root >= 0 && root < 1000)) return fail('root', 'a root index (a whole number from 0)');
      return { type, requestId, ref, ...(root === undefined ? {} : { root: root as number }) };
    }
    case 'download-update': {
      const id = c.id;
      if (typeof id !== 'string' || id.length === 0 || id.length > 4096) return fail('id', 'a card id');
      const versionId = c.versionId;
      if (!(typeof versionId === 'number' && Number.isSafeInteger(versionId) && versionId > 0)) return fail('versionId', 'a Civitai version id');
      return { type, requestId, id, versionId };
    }
    case 'download-cancel':
    case 'download-retry':
      if (!downloadId(c.downloadId)) return fail('downloadId', 'a download id (d1, d2, ...)');
      return { type, requestId, downloadId: c.downloadId as string };
    case 'download-clear':
      if (c.downloadId === undefined) return { type, requestId };
      if (!downloadId(c.downloadId)) return fail('downloadId', 'a download id (d1, d2, ...)');
      return { type, requestId, downloadId: c.downloadId as string };
  }
}
