/**
 * One JSON request to Civitai, made to survive the real service: a timeout per
 * attempt, bounded retries with backoff, Retry-After, a limiter shared by the
 * whole client, and every failure turned into one of the typed errors.
 *
 * Only this file sees the token. It goes into the Authorization header and
 * nowhere else; errors name host and path, never the query or headers, and any
 * text quoted from a response body is scrubbed of the token first.
 */
import type { Agent } from 'undici';
import { CancelledError } from '../errors';
import { backoffDelay, parseRetryAfter, sleep } from './backoff';
import type { CivitaiConfig } from './config';
import { BadResponse, CivitaiError, NotFound, Offline, RateLimited, Unauthorized, Unavailable } from './errors';
import { AdaptiveLimiter } from './limiter';

export interface JsonRequest {
  method?: 'GET' | 'POST';
  /** Origin to ask; defaults to the configured base URL. */
  base?: string;
  /** Path starting with `/api/`. */
  path: string;
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const undici = () => require('undici') as typeof import('undici');

/** A body larger than this is not an API answer (bulk replies are a few MB at most). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Errors that mean "cannot reach the host at all", as opposed to "the connection broke". */
const OFFLINE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The result of one attempt that did not succeed. */
interface Failure {
  error: CivitaiError;
  retry: boolean;
  retryAfterMs?: number;
  rateLimited?: boolean;
}

export class CivitaiHttp {
  readonly limiter: AdaptiveLimiter;
  /** HTTP requests sent so far, retries included: what a scan reports as its lookup cost. */
  requestCount = 0;
  private agentInstance: Agent | undefined;
  private readonly random: () => number;

  constructor(
    readonly config: CivitaiConfig,
    options: { limiter?: AdaptiveLimiter; random?: () => number } = {},
  ) {
    this.limiter = options.limiter ?? new AdaptiveLimiter();
    this.random = options.random ?? Math.random;
  }

  /**
   * undici takes about 125 ms to load: it is loaded on the first request, so that
   * commands and notebook cells that never reach Civitai do not pay for it.
   */
  private get agent(): Agent {
    if (!this.agentInstance) {
      const { Agent } = undici();
      this.agentInstance = new Agent({ keepAliveTimeout: 4_000, connect: { timeout: this.config.timeoutMs } });
    }
    return this.agentInstance;
  }

  /** Parsed JSON of a 2xx answer, or a typed error after the allowed attempts. */
  async json(req: JsonRequest): Promise<unknown> {
    const base = req.base ?? this.config.baseUrl;
    const where = `${new URL(base).host}${req.path}`;
    for (let attempt = 1; ; attempt++) {
      await this.limiter.acquire(req.signal).catch((reason) => {
        throw cancelled(where, reason);
      });
      const outcome = await this.once(base, where, req);
      if (!('error' in outcome)) {
        this.limiter.onSuccess();
        return outcome.body;
      }
      const { error, retry, retryAfterMs, rateLimited } = outcome;
      // A host that refuses connections or has no DNS is retried once, not for a minute: the network is down.
      const attempts = error instanceof Offline ? Math.min(2, this.config.maxAttempts) : this.config.maxAttempts;
      if (!retry || attempt >= attempts) throw error;
      if (retryAfterMs !== undefined && retryAfterMs > this.config.maxRetryAfterMs) {
        throw new RateLimited(where, `asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After), longer than the ${Math.round(this.config.maxRetryAfterMs / 1000)} s we wait; try again later`, retryAfterMs);
      }
      const delay = retryAfterMs ?? backoffDelay(attempt, this.config.baseDelayMs, this.config.maxDelayMs, this.random);
      // A 429 or a Retry-After is about the server, not this request: hold the whole client.
      if (rateLimited) this.limiter.onRateLimited(delay);
      else if (retryAfterMs !== undefined) this.limiter.pause(delay);
      else await sleep(delay, req.signal).catch((reason) => {
        throw cancelled(where, reason);
      });
    }
  }

  /** Closes pooled connections, so a CLI run can end without waiting for keep-alive timeouts. */
  async close(): Promise<void> {
    await this.agentInstance?.close();
  }

  private async once(base: string, where: string, req: JsonRequest): Promise<{ body: unknown } | Failure> {
    const url = new URL(req.path, base);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.config.userAgent };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timeout'));
    }, this.config.timeoutMs);
    const onUserAbort = () => controller.abort(req.signal!.reason);
    if (req.signal?.aborted) onUserAbort();
    req.signal?.addEventListener('abort', onUserAbort, { once: true });

    this.requestCount++;
    try {
      const res = await undici().request(url, {
        method: req.method ?? 'GET',
        headers,
        body: payload,
        signal: controller.signal,
        dispatcher: this.agent,
        headersTimeout: this.config.timeoutMs,
        bodyTimeout: this.config.timeoutMs,
      });
      const text = await readText(res.body, where);
      const contentType = String(res.headers['content-type'] ?? '');
      return this.classify(where, res.statusCode, contentType, text, res.headers['retry-after']);
    } catch (err) {
      if (req.signal?.aborted) throw cancelled(where, req.signal.reason);
      if (err instanceof CivitaiError) return { error: err, retry: false };
      const code = errorCode(err);
      if (timedOut || (code && TIMEOUT_CODES.has(code))) {
        return { error: new Unavailable(where, `no answer within ${formatSeconds(this.config.timeoutMs)}`), retry: true };
      }
      if (code && OFFLINE_CODES.has(code)) {
        return { error: new Offline(where, `cannot reach ${url.host} (${code}); check the network or CIVITAI_BASE_URL`), retry: true };
      }
      return { error: new Unavailable(where, `connection dropped (${code ?? describe(err)})`), retry: true };
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onUserAbort);
    }
  }

  private classify(
    where: string,
    status: number,
    contentType: string,
    text: string,
    retryAfterHeader: string | string[] | undefined,
  ): { body: unknown } | Failure {
    const parsed = parseJson(contentType, text);
    const detail = this.detail(parsed);
    const retryAfterMs = parseRetryAfter(retryAfterHeader);

    if (status >= 200 && status < 300) {
      if (parsed.ok) return { body: parsed.value };
      // Proxies and Cloudflare answer with pages; a cut connection leaves half a body. Both pass.
      return { error: new BadResponse(where, parsed.reason, status), retry: true };
    }
    if (status === 429) {
      return { error: new RateLimited(where, `rate limited (HTTP 429${detail ? `: ${detail}` : ''}); try again later`, retryAfterMs), retry: true, retryAfterMs, rateLimited: true };
    }
    if (status >= 500) {
      return { error: new Unavailable(where, `server error (HTTP ${status}${detail ? `: ${detail}` : ''})`, status), retry: true, retryAfterMs };
    }
    if (status === 401 || (status === 403 && parsed.ok)) {
      return { error: new Unauthorized(where, status, detail || (status === 401 ? 'unauthorized' : 'forbidden')), retry: false };
    }
    if (status === 403) {
      // An HTML 403 is Cloudflare's challenge page, not Civitai refusing us; it passes.
      return { error: new BadResponse(where, `${parsed.ok ? 'forbidden' : parsed.reason} (HTTP 403)`, status), retry: true, retryAfterMs };
    }
    if (status === 404 && parsed.ok) return { error: new NotFound(where, detail ? `not found (${detail})` : 'not found'), retry: false };
    if (status === 404) {
      // Civitai answers unknown *paths* with its HTML 404 page: not a missing model, a wrong URL.
      return { error: new BadResponse(where, `no such API path (HTML 404); is CIVITAI_BASE_URL right?`, status), retry: false };
    }
    return { error: new BadResponse(where, `unexpected HTTP ${status}${detail ? `: ${detail}` : ''}`, status), retry: false };
  }

  /** A short, token-free quote of the server's own error text. */
  private detail(parsed: ParsedBody): string {
    if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object') return '';
    const v = parsed.value as Record<string, unknown>;
    const text = typeof v.error === 'string' ? v.error : typeof v.message === 'string' ? v.message : '';
    const oneLine = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    return this.config.token ? oneLine.split(this.config.token).join('<token>') : oneLine;
  }
}

type ParsedBody = { ok: true; value: unknown } | { ok: false; reason: string };

function parseJson(contentType: string, text: string): ParsedBody {
  const trimmed = text.trimStart();
  if (/html/i.test(contentType) || /^<(!doctype|html|head|body)/i.test(trimmed)) {
    return { ok: false, reason: 'an HTML page instead of JSON (a proxy or Cloudflare error page?)' };
  }
  if (!trimmed) return { ok: false, reason: 'an empty body instead of JSON' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: `invalid JSON (${text.length} bytes; truncated?)` };
  }
}

async function readText(body: AsyncIterable<Buffer> & { destroy?: () => void }, where: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy?.();
      throw new BadResponse(where, `answer larger than ${MAX_BODY_BYTES >> 20} MiB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The code that says what happened, from an error and its causes: undici wraps
 * OS errors (ECONNREFUSED inside a generic socket error), so a telling code
 * found deeper wins over a generic one on top.
 */
function errorCode(err: unknown): string | undefined {
  const codes: string[] = [];
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes.find((c) => OFFLINE_CODES.has(c) || TIMEOUT_CODES.has(c)) ?? codes[0];
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0].slice(0, 120) : String(err);
}

function cancelled(where: string, reason: unknown): Error {
  return reason instanceof CancelledError ? reason : new CancelledError(`Civitai ${where}`);
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s`;
}
