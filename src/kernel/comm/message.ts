/**
 * Jupyter messages (protocol 5.3) as the comm layer sees them once decoded:
 * plain objects, no sockets. Everything above the wire works with these.
 */
import { randomUUID } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface JupyterMessage {
  header: MessageHeader;
  /** The header of the request this message answers, or `{}`. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  /** Binary frames after the four JSON parts (never JSON, never signed alone). */
  buffers: Uint8Array[];
}

/** A message received on a ROUTER socket, with the routing identities to answer it. */
export interface IncomingMessage extends JupyterMessage {
  identities: Buffer[];
}

/** The session a kernel-originated message claims when it answers nothing. */
const KERNEL_SESSION = randomUUID();

/**
 * A header for a message this kernel sends. Session and username follow the
 * request being answered, as tslab's own replies do, so one front end sees
 * one consistent session.
 */
export function newHeader(msgType: string, parent: Partial<MessageHeader> | null): MessageHeader {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session: typeof parent?.session === 'string' ? parent.session : KERNEL_SESSION,
    username: typeof parent?.username === 'string' ? parent.username : 'kernel',
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}
