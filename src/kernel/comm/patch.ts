/**
 * The prototype patch. tslab's dispatch loop calls
 * `this.handleShellMessage(socket, ...frames)` for every shell and control
 * message, and `this.publishStatus(...)` around each; both are looked up on
 * `ZmqServer.prototype` at every call, so replacing them there reaches the
 * live server, wherever `startKernel` keeps it.
 */
import type { TslabCommHost } from './host';
import type { FrameSocket } from './writer';

const PATCHED = Symbol.for('modeldeck.kernel.comm.patched');

type Method = (this: unknown, ...args: any[]) => unknown;

/** Patches once per class; a second call (another module copy, a re-run cell) is a no-op. */
export function patchZmqServer(ZmqServer: { prototype: Record<string | symbol, unknown> }, host: TslabCommHost): boolean {
  const proto = ZmqServer.prototype;
  if (proto[PATCHED]) return false;
  const handleShellMessage = proto.handleShellMessage as Method;
  const publishStatus = proto.publishStatus as Method;

  proto.handleShellMessage = function patchedHandleShellMessage(this: unknown, socket: FrameSocket, ...frames: Uint8Array[]) {
    return host.onShellMessage(this, socket, frames, (forward) => handleShellMessage.call(this, socket, ...forward));
  };
  proto.publishStatus = function patchedPublishStatus(this: unknown, status: string, parent: { header?: never } | undefined) {
    host.onStatus(this, status, parent, () => {
      publishStatus.call(this, status, parent);
    });
  };
  Object.defineProperty(proto, PATCHED, { value: true });
  return true;
}
