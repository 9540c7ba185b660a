/** The models panel's kernel side: one session per widget comm. */
export { ModelSession, type LibraryOpener, type ModelSessionOptions, type SessionScanOptions } from './model-session';
export type { SessionComm, SessionCommHost, CommSendOptions } from './comm-types';
export { toCard, cardId } from './cards';
export { sniffMime, PREVIEW_SEND_MAX_BYTES } from './previews';
