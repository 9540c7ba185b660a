/**
 * The page and its two files. Every URL in the page is relative, so it works
 * under any path prefix (jupyter-server-proxy's `/proxy/<port>/`, a reverse
 * proxy, Colab's port iframe). No inline script: the CSP forbids it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './respond';

const PACKAGE_ROOT = join(__dirname, '..', '..');

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>modeldeck</title>
<link rel="stylesheet" href="panel.css">
</head>
<body class="modeldeck-page">
<div id="modeldeck" class="modeldeck-panel"></div>
<script src="panel.js"></script>
</body>
</html>
`;

/** What the page adds around the panel: a full window, on a phone too. */
const PAGE_CSS = `
html, body { margin: 0; padding: 0; min-height: 100%; }
body.modeldeck-page { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #fff; color: #111; }
body.modeldeck-page #modeldeck { padding: 8px; box-sizing: border-box; }
`;

interface Asset {
  type: string;
  file: string[];
  prefix?: string;
}

const ASSETS: Record<string, Asset> = {
  'panel.js': { type: 'text/javascript; charset=utf-8', file: ['dist', 'serve', 'panel.js'] },
  'panel.css': { type: 'text/css; charset=utf-8', file: ['css', 'widget.css'], prefix: PAGE_CSS },
};

const cache = new Map<string, Buffer>();

export function serveAsset(res: ServerResponse, name: string): void {
  const asset = ASSETS[name];
  if (!asset) return sendError(res, 404, 'not_found', 'no such file');
  let bytes = cache.get(name);
  if (!bytes) {
    try {
      bytes = Buffer.concat([Buffer.from(asset.prefix ?? ''), readFileSync(join(PACKAGE_ROOT, ...asset.file))]);
    } catch {
      return sendError(res, 500, 'not_built', `${asset.file.join('/')} is missing: run npm run build`);
    }
    cache.set(name, bytes);
  }
  res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': bytes.length, 'Cache-Control': 'no-cache' });
  res.end(bytes);
}

export function servePage(_req: IncomingMessage, res: ServerResponse, setCookie: string | null): void {
  const headers: Record<string, string> = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };
  if (setCookie) headers['Set-Cookie'] = setCookie;
  res.writeHead(200, headers);
  res.end(PAGE_HTML);
}
