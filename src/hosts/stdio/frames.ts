/**
 * Length-prefixed frames for the stdio host: one JSON header plus any number
 * of binary buffers, raw (no base64), so preview bytes cross the pipe as they
 * are.
 *
 * Layout (all integers unsigned 32-bit big-endian):
 *
 *   total | headerLength | bufferCount | bufferLength × bufferCount | header (UTF-8 JSON) | buffers
 *
 * `total` counts every byte after itself, so a reader can bound a frame before
 * reading it and skip a bad one without losing its place in the stream. The
 * Python side (python/modeldeck/_frames.py) implements the same layout.
 */

export interface Frame {
  header: Record<string, unknown>;
  buffers: Uint8Array[];
}

/** Largest frame either side accepts (a preview is at most 2 MiB; a models chunk far less). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** More buffers than any message carries: a count above it means a corrupt frame. */
export const MAX_BUFFERS = 64;
/** A length prefix past this is not a frame at all: the stream is garbage from here on. */
export const STREAM_BROKEN_BYTES = 1024 * 1024 * 1024;

export function encodeFrame(header: Record<string, unknown>, buffers: readonly Uint8Array[] = []): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (buffers.length > MAX_BUFFERS) throw new Error(`frame with ${buffers.length} buffers (at most ${MAX_BUFFERS})`);
  const fixed = 4 * (3 + buffers.length);
  const total = fixed - 4 + json.length + buffers.reduce((n, b) => n + b.byteLength, 0);
  if (total > MAX_FRAME_BYTES) throw new Error(`frame of ${total} bytes (at most ${MAX_FRAME_BYTES})`);
  const head = Buffer.alloc(fixed);
  head.writeUInt32BE(total, 0);
  head.writeUInt32BE(json.length, 4);
  head.writeUInt32BE(buffers.length, 8);
  buffers.forEach((b, i) => head.writeUInt32BE(b.byteLength, 12 + 4 * i));
  return Buffer.concat([head, json, ...buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))]);
}

/** The parts of one frame's body (everything after `total`), or why it is not a frame. */
export function decodeBody(body: Buffer): Frame | { error: string } {
  if (body.length < 8) return { error: `frame of ${body.length} bytes is too short` };
  const headerLength = body.readUInt32BE(0);
  const count = body.readUInt32BE(4);
  if (count > MAX_BUFFERS) return { error: `frame claims ${count} buffers (at most ${MAX_BUFFERS})` };
  let offset = 8 + 4 * count;
  if (offset > body.length) return { error: 'frame ends inside its buffer lengths' };
  const lengths: number[] = [];
  for (let i = 0; i < count; i++) lengths.push(body.readUInt32BE(8 + 4 * i));
  const expected = offset + headerLength + lengths.reduce((n, l) => n + l, 0);
  if (expected !== body.length) return { error: `frame lengths add up to ${expected} bytes, not ${body.length}` };
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(offset, offset + headerLength).toString('utf8'));
  } catch (err) {
    return { error: `frame header is not JSON (${(err as Error).message.slice(0, 100)})` };
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return { error: 'frame header is not a JSON object' };
  offset += headerLength;
  const buffers: Uint8Array[] = [];
  for (const l of lengths) {
    // A copy: the chunk the bytes came in is reused by the reader.
    buffers.push(new Uint8Array(body.subarray(offset, offset + l)));
    offset += l;
  }
  return { header: header as Record<string, unknown>, buffers };
}

export interface FrameReaderEvents {
  frame(frame: Frame): void;
  /** A frame was dropped; reading goes on with the next one. */
  dropped(reason: string): void;
  /** The stream cannot be framed any more (a length no frame can have). */
  broken(reason: string): void;
}

/**
 * Turns a byte stream into frames. A frame over `maxBytes` is skipped without
 * being buffered; a malformed one is dropped; both are reported and the next
 * frame is read as usual.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need: number | null = null;
  private skip = 0;
  private dead = false;

  constructor(
    private readonly on: FrameReaderEvents,
    private readonly maxBytes = MAX_FRAME_BYTES,
  ) {}

  push(chunk: Buffer): void {
    if (this.dead) return;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drain();
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  private drain(): void {
    for (;;) {
      if (this.need === null) {
        if (this.buffered < 4) return;
        const total = this.take(4).readUInt32BE(0);
        if (total > STREAM_BROKEN_BYTES) {
          this.dead = true;
          this.chunks = [];
          this.on.broken(`length prefix of ${total} bytes: not a frame stream`);
          return;
        }
        if (total > this.maxBytes) {
          this.on.dropped(`frame of ${total} bytes is over the ${this.maxBytes}-byte limit`);
          const have = Math.min(total, this.buffered);
          this.take(have);
          this.skip = total - have;
          if (this.skip > 0) return;
          continue;
        }
        this.need = total;
      }
      if (this.buffered < this.need) return;
      const body = this.take(this.need);
      this.need = null;
      const decoded = decodeBody(body);
      if ('error' in decoded) this.on.dropped(decoded.error);
      else this.on.frame(decoded);
    }
  }
}
