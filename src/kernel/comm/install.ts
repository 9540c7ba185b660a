/**
 * Installing comm support, once per process. The host lives in a
 * process-wide slot (a `Symbol.for` key on globalThis), not in this module:
 * the launcher's copy of modeldeck and a notebook's `node_modules/modeldeck`
 * can both be loaded in one kernel, and they must share one host and patch
 * the server once.
 */
import { TslabCommHost, type InstallRoute } from './host';
import { logComm } from './log';
import { ExecutorOutput } from './executor-output';
import { patchZmqServer } from './patch';
import { patchReplies } from './replies';
import { executorFileOf, TESTED_TSLAB_VERSION, type TslabInternals } from './tslab';
import type { CommHost } from './types';

const SLOT = Symbol.for('modeldeck.kernel.comm.host');

interface Slot {
  host: CommHost;
  route: InstallRoute;
}

export function installedHost(): Slot | null {
  return ((globalThis as Record<symbol, unknown>)[SLOT] as Slot | undefined) ?? null;
}

/** Patches the given tslab (already self-tested) and records the host. */
export function installInto(tslab: TslabInternals, route: InstallRoute): CommHost {
  const existing = installedHost();
  if (existing) return existing.host;
  if (tslab.version !== TESTED_TSLAB_VERSION) logComm(`tslab ${tslab.version} at ${tslab.file}: the internals check passed, but only tslab ${TESTED_TSLAB_VERSION} is tested`);
  const output = new ExecutorOutput(executorFileOf(tslab));
  const host = new TslabCommHost(route);
  patchZmqServer(tslab.jupyter.ZmqServer, host);
  output.install();
  patchReplies(tslab.jupyter.JupyterHandlerImpl, output, host);
  const slot: Slot = { host, route };
  Object.defineProperty(globalThis, SLOT, { value: slot, configurable: true });
  return host;
}
