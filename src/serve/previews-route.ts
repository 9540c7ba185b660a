/**
 * `GET api/previews/<id>`: a card's preview image as a plain GET, so the
 * browser caches it. The id is looked up among the session's cards (never
 * turned into a path); the file is the library entry's preview, read with the
 * same checks as the notebook panel's (inside the root after links, a regular
 * file under the cap, image or video bytes). `ETag` is a digest of the bytes;
 * `Cache-Control: no-cache` keeps the copy but asks again each time, answered
 * with 304 while the bytes are the same.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelSession } from '../kernel/widget';
import { readPreview } from '../kernel/widget/previews';
import { sendError } from './respond';

export async function servePreview(req: IncomingMessage, res: ServerResponse, session: ModelSession, rawId: string): Promise<void> {
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return sendError(res, 400, 'bad_id', 'the preview id is not valid percent-encoding');
  }
  let source;
  try {
    // Before the library has loaded, the cards of the kept first window have their previews too.
    source = await session.previewOf(id);
  } catch {
    return sendError(res, 404, 'not_found', 'no model with that id');
  }
  const read = await readPreview(source, session.previewLimit);
  if (!read.ok) return sendError(res, 404, 'no_preview', read.error);
  const etag = `"${createHash('sha256').update(read.bytes).digest('base64url').slice(0, 32)}"`;
  const headers = { ETag: etag, 'Cache-Control': 'private, no-cache', Vary: 'Cookie' };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': read.mime, 'Content-Length': read.bytes.byteLength });
  res.end(req.method === 'HEAD' ? undefined : Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength));
}
