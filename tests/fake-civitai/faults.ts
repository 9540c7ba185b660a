/**
 * Faults the fake Civitai can inject, each one a way the real service (or
 * Cloudflare in front of it) has been seen to fail. A fault is queued with a
 * count and an optional route filter, and consumed by the next matching requests.
 */
export type RouteName =
  | 'models'
  | 'model'
  | 'model-version'
  | 'by-hash'
  | 'by-hash-bulk'
  | 'by-hash-ids'
  | 'images'
  | 'download'
  | 'file'
  | 'image-cdn'
  | 'unknown';

export type Fault =
  /** An error status with a JSON body (`{"error": ...}`); `retryAfter` as seconds or an HTTP date. */
  | { kind: 'status'; status: number; retryAfter?: number | string; body?: unknown }
  /** Answer normally, but only after `delayMs` (longer than the client's timeout, typically). */
  | { kind: 'slow'; delayMs: number }
  /** 200 with the real JSON body cut short (a complete HTTP message; the JSON is not). */
  | { kind: 'truncated' }
  /** 200, `application/json`, with text that is not JSON. */
  | { kind: 'invalid-json' }
  /** An HTML error page, as Cloudflare or a proxy serves it. Default status 502. */
  | { kind: 'html'; status?: number }
  /** 200 with a JSON body of the caller's choosing (a wrong shape). */
  | { kind: 'body'; body: unknown; status?: number }
  /** Close the connection without answering. */
  | { kind: 'drop' }
  /** A redirect to `location` (any URL: another host, an internal address). Default status 302. */
  | { kind: 'redirect'; location: string; status?: number };

export interface QueuedFault {
  fault: Fault;
  routes: RouteName[] | null;
  remaining: number;
}

export class FaultQueue {
  private queue: QueuedFault[] = [];

  add(fault: Fault, options: { route?: RouteName | RouteName[]; times?: number } = {}): void {
    const routes = options.route === undefined ? null : Array.isArray(options.route) ? options.route : [options.route];
    this.queue.push({ fault, routes, remaining: options.times ?? 1 });
  }

  /** The fault for this request, if one is queued for its route (first queued first). */
  take(route: RouteName): Fault | undefined {
    const i = this.queue.findIndex((q) => q.remaining > 0 && (q.routes === null || q.routes.includes(route)));
    if (i < 0) return undefined;
    const q = this.queue[i];
    q.remaining--;
    if (q.remaining <= 0) this.queue.splice(i, 1);
    return q.fault;
  }

  clear(): void {
    this.queue = [];
  }

  get pending(): number {
    return this.queue.reduce((n, q) => n + (Number.isFinite(q.remaining) ? q.remaining : 1), 0);
  }
}

export const CLOUDFLARE_PAGE = `<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title></head>
<body><h1>civitai.com</h1><p>Checking if the site connection is secure</p>
<p>Ray ID: 0000000000000000 &bull; Performance &amp; security by Cloudflare</p></body></html>
`;

export const NEXT_404_PAGE = `<!DOCTYPE html><html><head><meta charSet="utf-8"/><title>404: This page could not be found</title></head>
<body><div id="__next"><h1>404</h1><h2>This page could not be found.</h2></div></body></html>
`;
