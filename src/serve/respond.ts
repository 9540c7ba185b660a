/** JSON answers, one shape for every error: `{ok: false, error: {code, message}}`. */
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

export function sendJson(res: ServerResponse, status: number, body: unknown, acceptEncoding?: string): void {
  let bytes = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };
  // A snapshot of 10,000 cards is megabytes of repetitive JSON.
  if (bytes.length > 64 * 1024 && /\bgzip\b/.test(acceptEncoding ?? '')) {
    bytes = gzipSync(bytes, { level: 4 });
    headers['Content-Encoding'] = 'gzip';
    headers.Vary = 'Accept-Encoding';
  }
  headers['Content-Length'] = bytes.length;
  res.writeHead(status, headers);
  res.end(bytes);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { ok: false, error: { code, message } });
}
