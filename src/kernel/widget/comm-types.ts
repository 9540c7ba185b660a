/**
 * The comm layer as the widget session sees it: the same shapes as
 * `src/kernel/comm` exports, declared structurally so the session depends on
 * no transport. Anything with these methods serves: a Jupyter comm, an
 * in-memory pair in tests, a WebSocket adapter later.
 */

export interface CommSendOptions {
  buffers?: Uint8Array[];
  metadata?: object;
}

export interface SessionComm {
  readonly id: string;
  readonly targetName: string;
  readonly closed: boolean;
  send(data: unknown, opts?: CommSendOptions): void;
  close(data?: unknown): void;
  onMessage(cb: (data: any, buffers: Uint8Array[]) => void): void;
  onClose(cb: (data: any) => void): void;
}

/** What opens comms and displays outputs (the kernel's comm host). */
export interface SessionCommHost {
  openComm(targetName: string, data: unknown, opts?: { metadata?: object; buffers?: Uint8Array[] }): SessionComm;
  display(bundle: Record<string, unknown>, metadata?: object): void;
}
