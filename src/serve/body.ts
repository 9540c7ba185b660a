/**
 * A request body as JSON, read with a cap. A body over the cap is refused
 * with 413, but only after the rest of the upload has been read and thrown
 * away (up to `drainBytes`): closing a socket with unread bytes makes the
 * kernel send a reset, which can discard the 413 before the client reads
 * it. Past `drainBytes` the server gives up on telling the client and the
 * connection is cut (`BodyError.drained` false). A body that arrives too
 * slowly is the server's `requestTimeout`'s business.
 */
import type { IncomingMessage } from 'node:http';

export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole request was read: the answer can be sent on an orderly close. */
    readonly drained = true,
  ) {
    super(message);
  }
}

/** How much of a refused upload is read and discarded so that the refusal arrives. */
export const DRAIN_BYTES = 64 * 1024 * 1024;

export async function readJson(req: IncomingMessage, maxBytes: number, drainBytes = DRAIN_BYTES): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new BodyError(415, 'bad_type', 'send application/json', await drain(req, drainBytes));
  const tooLarge = `request bodies are at most ${maxBytes} bytes`;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    // Not worth reading what is declared to be more than the drain allows.
    throw new BodyError(413, 'too_large', tooLarge, declared <= drainBytes && (await drain(req, drainBytes)));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Leaving the loop destroys the request: only once the drain is exhausted.
    if (size > drainBytes) throw new BodyError(413, 'too_large', tooLarge, false);
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw new BodyError(413, 'too_large', tooLarge);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BodyError(400, 'bad_json', 'the body is not JSON');
  }
}

/** Reads and discards the rest of the request; false when more than `limit` bytes were still coming. */
async function drain(req: IncomingMessage, limit: number): Promise<boolean> {
  if (req.complete) return true;
  let discarded = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    discarded += chunk.length;
    if (discarded > limit) return false;
  }
  return true;
}
