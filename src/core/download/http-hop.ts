/**
 * One download request, its redirects followed by hand so that every hop is
 * checked by the outbound policy and credentials are scoped per hop: the
 * Civitai token goes only to the configured Civitai API origin, `HF_TOKEN`
 * only to HuggingFace's, and neither to the storage host a redirect leads to
 * (a signed URL carries its own authorisation).
 */
import type { Dispatcher } from 'undici';
import type { OutboundPolicy } from '../net/outbound-policy';
import { DownloadError, urlForMessage } from './errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const undici = () => require('undici') as typeof import('undici');

/** Which origin gets which `Authorization` value. */
export type Credentials = ReadonlyMap<string, string>;

export interface HopRequest {
  url: string;
  headers?: Record<string, string>;
  policy: OutboundPolicy;
  credentials: Credentials;
  signal?: AbortSignal;
  /** Headers and first body byte must arrive within this long. */
  timeoutMs: number;
  /** A dispatcher of the caller's for a hop (a download connection's own socket); else the policy's. */
  dispatcherFor?: (url: URL) => Dispatcher | undefined;
  /** Called with each redirect response (HuggingFace puts the file's SHA-256 in its 302). */
  onRedirect?: (from: URL, headers: Record<string, string | string[] | undefined>) => void;
}

export interface HopResponse {
  /** The URL that answered (after redirects). */
  url: URL;
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

const MAX_REDIRECTS = 8;

export async function requestFollowing(req: HopRequest): Promise<HopResponse> {
  let url = req.policy.check(req.url, 'download');
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'modeldeck', ...req.headers };
    const auth = req.credentials.get(url.origin);
    if (auth) headers.authorization = auth;
    let res: Dispatcher.ResponseData;
    try {
      res = await undici().request(url, {
        method: 'GET',
        headers,
        signal: req.signal,
        dispatcher: req.dispatcherFor?.(url) ?? req.policy.dispatcherFor(url),
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
    } catch (err) {
      if (req.signal?.aborted) throw err;
      if ((err as { code?: string }).code === 'refused_url') throw err;
      const cause = (err as { cause?: unknown }).cause;
      if (cause && (cause as { code?: string }).code === 'refused_url') throw cause;
      throw new DownloadError('network', `${url.host}: ${describeNetError(err)}`, true, { cause: err });
    }
    if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
      await res.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw new DownloadError('http_error', `${urlForMessage(url)}: more than ${MAX_REDIRECTS} redirects`);
      req.onRedirect?.(url, res.headers);
      const next = new URL(String(res.headers.location), url);
      url = req.policy.check(next, 'download');
      continue;
    }
    return { url, statusCode: res.statusCode, headers: res.headers, body: res.body };
  }
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function describeNetError(err: unknown): string {
  const codes: string[] = [];
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, d = 0; e && d < 5; e = e.cause as typeof e, d++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  const code = codes.find((c) => !c.startsWith('UND_ERR_SOCKET')) ?? codes[0];
  const text: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'name lookup failed (offline?)',
    UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
    UND_ERR_BODY_TIMEOUT: 'the transfer stalled',
    UND_ERR_SOCKET: 'connection dropped',
    UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  };
  return (code && text[code]) ?? (code ? `network error ${code}` : 'network error');
}
