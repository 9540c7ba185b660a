/**
 * The answers a download can get instead of its bytes, each into one line that
 * says what happened and what to do.
 */
import { parseRetryAfter } from '../civitai/backoff';
import { DownloadError } from './errors';
import { header, type HopResponse } from './http-hop';

export function classifyFailure(res: HopResponse, text: string, where: string): { error: DownloadError; retryAfterMs?: number } {
  const status = res.statusCode;
  const detail = serverDetail(text);
  const html = /html/i.test(header(res.headers, 'content-type') ?? '') || /^\s*<(!doctype|html)/i.test(text);
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  const civitaiHost = /civitai\./i.test(res.url.hostname) || /\/api\/download\//.test(res.url.pathname);
  switch (true) {
    case status === 401:
      return {
        error: new DownloadError(
          'login_required',
          civitaiHost || /civitai/i.test(where)
            ? `${where}: login required (HTTP 401${detail}); set CIVITAI_TOKEN to your Civitai API key (civitai.com/user/account) and run get again`
            : `${where}: login required (HTTP 401${detail}); for HuggingFace set HF_TOKEN (a gated or private repo)`,
        ),
      };
    case status === 403 && !html:
      return { error: new DownloadError('no_permission', `${where}: not allowed (HTTP 403${detail}): early access, a gated repo, or no permission for this file`) };
    case status === 404:
      return { error: new DownloadError('no_file', `${where}: no such file (HTTP 404${detail})`) };
    case status === 410:
      return { error: new DownloadError('archived', `${where}: the file is gone (HTTP 410${detail}): the version was archived or removed`) };
    case status === 429 && retryAfterMs === undefined:
      return { error: new DownloadError('download_limit', `${where}: download limit reached (HTTP 429${detail}); wait and run get again (the .part is kept)`) };
    case status === 429:
      return { error: new DownloadError('download_limit', `${where}: rate limited (HTTP 429)`, true), retryAfterMs };
    case html:
      return { error: new DownloadError('html_instead_of_file', `${where}: the server sent a web page instead of the file (HTTP ${status}; a proxy or Cloudflare page?)`, status >= 500) };
    case status >= 500:
      return { error: new DownloadError('http_error', `${where}: server error (HTTP ${status}${detail})`, true), retryAfterMs };
    default:
      return { error: new DownloadError('http_error', `${where}: unexpected HTTP ${status}${detail}`) };
  }
}

/** A short quote of a JSON error body (`error`/`message`), never more than one line. */
function serverDetail(text: string): string {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const msg = typeof v.message === 'string' ? v.message : typeof v.error === 'string' ? v.error : '';
    const line = msg.replace(/\s+/g, ' ').trim().slice(0, 160);
    return line ? `: ${line}` : '';
  } catch {
    return '';
  }
}
