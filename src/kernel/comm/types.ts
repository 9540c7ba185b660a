/**
 * The public face of the comm layer. The widget layer sees only these
 * interfaces: nothing here mentions ZeroMQ, tslab or the wire format, so the
 * same widget code could sit on another transport (a WebSocket) later.
 */

/** Extra facts about a message from the front end, for handlers that need them. */
export interface CommMessageInfo {
  /** The message's `metadata` (e.g. `{ version: "2.1.0" }` on a widget comm_open). */
  metadata: Record<string, unknown>;
  msgId: string;
}

/** One end of a Jupyter comm, living in the kernel. */
export interface Comm {
  readonly id: string;
  readonly targetName: string;
  /** `comm_msg` to the front end. After `close` (from either side) this does nothing. */
  send(data: unknown, opts?: { buffers?: Uint8Array[]; metadata?: object }): void;
  /** `comm_close` to the front end; closing twice does nothing. */
  close(data?: unknown): void;
  /**
   * Called for every `comm_msg` from the front end. A callback may return a
   * promise: the kernel publishes `idle` once it settles (or after a short
   * grace period), so start long work without awaiting it.
   */
  onMessage(cb: (data: any, buffers: Uint8Array[], info: CommMessageInfo) => void): void;
  /** Called once when the comm closes, from either side, with the close data. */
  onClose(cb: (data: any) => void): void;
  readonly closed: boolean;
}

export type CommTargetHandler = (comm: Comm, openData: any, buffers: Uint8Array[], info: CommMessageInfo) => void;

/** What a running kernel offers: comms both ways, and display in the current cell. */
export interface CommHost {
  /** Opens a comm from the kernel (`comm_open` on iopub). */
  openComm(targetName: string, data: unknown, opts?: { metadata?: object; buffers?: Uint8Array[] }): Comm;
  /** Accepts comms the front end opens to `targetName`; a second call replaces the handler. */
  registerTarget(targetName: string, handler: CommTargetHandler): void;
  /** `display_data` on iopub, in the output of the cell that is running (or ran last). */
  display(bundle: Record<string, unknown>, metadata?: object): void;
}
