/**
 * The one error type of a download: a stable `code` (for `--json` and the
 * panel) and a one-line message that says what to do. Messages never carry a
 * URL's query (signed URLs and tokens live there) nor a header.
 */
import { ModeldeckError } from '../errors';

export type DownloadErrorCode =
  | 'bad_source'
  | 'login_required'
  | 'no_permission'
  | 'archived'
  | 'download_limit'
  | 'html_instead_of_file'
  | 'short_body'
  | 'hash_mismatch'
  | 'disk_full'
  | 'no_file'
  | 'http_error'
  | 'network'
  | 'stalled'
  | 'exists'
  | 'changed_on_server'
  | 'part_changed'
  | 'write_failed';

export class DownloadError extends ModeldeckError {
  constructor(
    code: DownloadErrorCode,
    message: string,
    /** Worth another attempt (a reset, a 5xx, a stall), as opposed to a refusal. */
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A URL as it may appear in a message: no query, no fragment, no credentials. */
export function urlForMessage(url: string | URL): string {
  try {
    const u = new URL(String(url));
    return `${u.protocol}//${u.host}${u.pathname}`.slice(0, 300);
  } catch {
    return String(url).split(/[?#]/)[0].slice(0, 300);
  }
}
