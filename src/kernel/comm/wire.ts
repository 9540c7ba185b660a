/**
 * The Jupyter wire format on ZeroMQ frames (messaging spec, "The Wire Protocol"):
 *
 *   [identity..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffer...]
 *
 * The signature is an HMAC over the four JSON frames only. tslab 1.0.22 also
 * hashes the buffer frames (and JSON-stringifies outgoing buffers), so any
 * message with binary buffers fails its check; this module is the replacement
 * used for everything the comm layer receives and sends.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, JupyterMessage, MessageHeader } from './message';

export const DELIMITER: Buffer = Buffer.from('<IDS|MSG>');

/** How a connection file says to sign: `key` and `signature_scheme` ("hmac-sha256"). */
export interface SigningKey {
  key: string;
  scheme: string;
}

/** Size caps applied before any JSON is parsed, so a huge message costs no parse. */
export interface WireLimits {
  /** The four JSON frames together. */
  maxJsonBytes: number;
  /** All binary buffers together. */
  maxBufferBytes: number;
  maxBuffers: number;
}

export const DEFAULT_LIMITS: WireLimits = {
  maxJsonBytes: 16 * 1024 * 1024,
  maxBufferBytes: 256 * 1024 * 1024,
  maxBuffers: 1024,
};

export type ParseResult = { ok: true; message: IncomingMessage } | { ok: false; reason: string };

/** The hex HMAC of the four JSON frames, or '' when the key is empty (authentication off). */
export function sign(signing: SigningKey, parts: readonly (string | Uint8Array)[]): string {
  if (!signing.key) return '';
  const hmac = createHmac(hashOf(signing.scheme), signing.key);
  for (const part of parts) hmac.update(part);
  return hmac.digest('hex');
}

/** Compares in constant time, so the signature cannot be guessed byte by byte. */
export function verify(signing: SigningKey, signature: Uint8Array, parts: readonly Uint8Array[]): boolean {
  if (!signing.key) return true;
  const expected = Buffer.from(sign(signing, parts), 'latin1');
  return signature.length === expected.length && timingSafeEqual(signature, expected);
}

function hashOf(scheme: string): string {
  // jupyter_client spells it "hmac-sha256"; the part after "hmac-" is the hash name.
  const match = /^hmac-([a-z0-9-]+)$/i.exec(scheme || 'hmac-sha256');
  if (!match) throw new Error(`unsupported signature scheme ${JSON.stringify(scheme)}`);
  return match[1].toLowerCase();
}

/**
 * Splits, size-checks, authenticates and decodes raw frames. Never throws:
 * whatever is wrong comes back as a one-line reason for the log.
 */
export function parseFrames(frames: readonly Uint8Array[], signing: SigningKey, limits: WireLimits = DEFAULT_LIMITS): ParseResult {
  const at = frames.findIndex((f) => DELIMITER.equals(f));
  if (at < 0) return { ok: false, reason: 'no <IDS|MSG> delimiter' };
  const rest = frames.slice(at + 1);
  if (rest.length < 5) return { ok: false, reason: `${rest.length} frames after the delimiter, need at least 5` };
  const [signature, ...tail] = rest;
  const json = tail.slice(0, 4);
  const buffers = tail.slice(4);

  const jsonBytes = json.reduce((n, f) => n + f.length, 0);
  if (jsonBytes > limits.maxJsonBytes) return { ok: false, reason: `JSON frames of ${jsonBytes} bytes exceed the ${limits.maxJsonBytes}-byte cap` };
  if (buffers.length > limits.maxBuffers) return { ok: false, reason: `${buffers.length} buffers exceed the cap of ${limits.maxBuffers}` };
  const bufferBytes = buffers.reduce((n, f) => n + f.length, 0);
  if (bufferBytes > limits.maxBufferBytes) return { ok: false, reason: `buffers of ${bufferBytes} bytes exceed the ${limits.maxBufferBytes}-byte cap` };

  let valid: boolean;
  try {
    valid = verify(signing, signature, json);
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  if (!valid) return { ok: false, reason: 'bad signature' };

  const decoded: Record<string, unknown>[] = [];
  const names = ['header', 'parent_header', 'metadata', 'content'];
  for (let i = 0; i < 4; i++) {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(json[i].buffer, json[i].byteOffset, json[i].length).toString('utf8'));
    } catch {
      return { ok: false, reason: `${names[i]} is not valid JSON` };
    }
    if (!isPlainObject(value)) return { ok: false, reason: `${names[i]} is not a JSON object` };
    decoded.push(value);
  }
  const [header, parent, metadata, content] = decoded;
  if (typeof header.msg_id !== 'string' || typeof header.msg_type !== 'string' || !header.msg_type) {
    return { ok: false, reason: 'header lacks a string msg_id or msg_type' };
  }
  return {
    ok: true,
    message: {
      identities: frames.slice(0, at).map((f) => Buffer.from(f)),
      header: header as unknown as MessageHeader,
      parent_header: parent as JupyterMessage['parent_header'],
      metadata,
      content,
      buffers,
    },
  };
}

/**
 * Frames for one outgoing message. `identities` route a reply on a ROUTER
 * socket; iopub messages have none. Buffers follow as raw frames.
 */
export function serializeMessage(message: JupyterMessage, signing: SigningKey, identities: readonly Uint8Array[] = []): Uint8Array[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((p) => Buffer.from(JSON.stringify(p), 'utf8'));
  return [...identities, DELIMITER, Buffer.from(sign(signing, parts), 'latin1'), ...parts, ...message.buffers];
}

/** The frames of a valid message without its buffers (what tslab's own check can verify). */
export function withoutBuffers(frames: readonly Uint8Array[], bufferCount: number): Uint8Array[] {
  return bufferCount > 0 ? frames.slice(0, frames.length - bufferCount) : [...frames];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
