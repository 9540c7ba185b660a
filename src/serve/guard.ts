/**
 * Who may talk to the server: the access token (from the URL, a header, or
 * the HttpOnly SameSite=Strict cookie set when the page is first opened with
 * it), the `Host` header (a page on a rebound DNS name is refused), and the
 * `Origin` of anything that is not a plain GET (no cross-site POST). Plus the
 * security headers every answer carries.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

export interface GuardOptions {
  /** The access token; null when the user turned it off (allowed on a loopback address only). */
  token: string | null;
  /** The address the server listens on. */
  bindHost: string;
  port: number;
  /** Extra names the `Host` header may carry (a reverse proxy's public name). */
  allowHosts: string[];
  /** Extra origins that may POST (a proxy that rewrites `Host`). */
  allowOrigins: string[];
  /** Let other sites frame the page (Colab's `serve_kernel_port_as_iframe`). */
  allowFrame: boolean;
}

export type Verdict = { ok: true; tokenFromUrl: boolean } | { ok: false; status: number; code: string; message: string };

export const TOKEN_HEADER = 'x-modeldeck-token';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export class Guard {
  private readonly tokenDigest: Buffer | null;
  readonly cookieName: string;

  constructor(private readonly opts: GuardOptions) {
    this.tokenDigest = opts.token === null ? null : digest(opts.token);
    // Cookies are not kept apart by port: two servers on one machine must not read each other's.
    this.cookieName = `modeldeck-token-${opts.port}`;
  }

  /** The Host check alone (the page's own script and stylesheet need no token: they hold no data). */
  checkHost(req: IncomingMessage): Verdict {
    const host = hostnameOf(req.headers.host);
    if (host === null || !this.hostAllowed(host)) return refuse(421, 'bad_host', 'this server does not answer to that Host name (start it with --allow-host NAME for a proxy)');
    return { ok: true, tokenFromUrl: false };
  }

  check(req: IncomingMessage, url: URL): Verdict {
    const hostVerdict = this.checkHost(req);
    if (!hostVerdict.ok) return hostVerdict;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = req.headers.origin;
      if (req.headers['sec-fetch-site'] === 'cross-site') return refuse(403, 'cross_site', 'cross-site requests are refused');
      if (origin !== undefined && !this.originAllowed(origin, req.headers.host ?? '', req.headers['x-forwarded-host'])) return refuse(403, 'bad_origin', 'requests from another origin are refused');
    }
    if (this.tokenDigest === null) return { ok: true, tokenFromUrl: false };
    const fromUrl = url.searchParams.get('token');
    if (fromUrl !== null && this.matches(fromUrl)) return { ok: true, tokenFromUrl: true };
    const header = req.headers[TOKEN_HEADER];
    if (typeof header === 'string' && this.matches(header)) return { ok: true, tokenFromUrl: false };
    const cookie = cookieValue(req.headers.cookie, this.cookieName);
    if (cookie !== null && this.matches(cookie)) return { ok: true, tokenFromUrl: false };
    return refuse(403, 'bad_token', fromUrl !== null || header !== undefined || cookie !== null ? 'wrong access token' : 'an access token is needed: open the URL modeldeck serve printed');
  }

  /** The cookie that lets the page's later requests in without the token in their URLs. */
  cookie(): string {
    return `${this.cookieName}=${this.opts.token}; HttpOnly; SameSite=Strict; Path=/`;
  }

  private matches(candidate: string): boolean {
    return this.tokenDigest !== null && timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  private hostAllowed(host: string): boolean {
    if (this.opts.allowHosts.includes(host)) return true;
    // On a loopback address only loopback names are real: any other name is a DNS rebinding.
    if (isLoopback(this.opts.bindHost)) return isLoopback(host);
    // Listening on the network, the token is the protection; names are the user's (a pod's proxy name, a LAN address).
    return true;
  }

  private originAllowed(origin: string, hostHeader: string, forwarded: string | string[] | undefined): boolean {
    if (this.opts.allowOrigins.includes(origin)) return true;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    const hosts = [hostHeader, ...(typeof forwarded === 'string' ? forwarded.split(',').map((s) => s.trim()) : [])].map((h) => h.toLowerCase());
    return hosts.includes(u.host.toLowerCase());
  }
}

/** Headers on every answer. The page runs no inline script and loads only its own files. */
export function securityHeaders(res: ServerResponse, allowFrame: boolean): void {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${allowFrame ? '*' : "'none'"}`,
  ].join('; ');
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (!allowFrame) res.setHeader('X-Frame-Options', 'DENY');
}

function refuse(status: number, code: string, message: string): Verdict {
  return { ok: false, status, code, message };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The name in a Host header, lower-cased, without the port; null when malformed. */
export function hostnameOf(host: string | undefined): string | null {
  if (!host) return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!m) return null;
  const name = m[1].toLowerCase();
  if (name.startsWith('[') && isIP(name.slice(1, -1)) !== 6) return null;
  return name;
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}
