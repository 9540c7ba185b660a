/**
 * Jupyter comms for a tslab kernel.
 *
 * In the `modeldeck` kernel (lib/kernel/launch.js) comm support is installed
 * before tslab starts, so it works from the first cell. In a plain tslab
 * kernel, `installComms()` patches the running kernel from a cell: messages
 * sent in that cell go out when the cell ends, and everything works from
 * the next cell on.
 */
import { installedHost, installInto } from './install';
import { findRunningTslab } from './tslab';
import type { CommHost } from './types';

export type { Comm, CommHost, CommMessageInfo, CommTargetHandler } from './types';
export { checkTslabInternals, NotInKernelError, TslabInternalsError, TESTED_TSLAB_VERSION } from './tslab';
export { setCommLogger, type CommLogger } from './log';

let noticeGiven = false;

/**
 * Comm support for the kernel this code runs in; idempotent. Throws
 * NotInKernelError outside a tslab kernel and TslabInternalsError (naming
 * the tslab version and what is missing) if tslab's internals changed.
 */
export function installComms(): CommHost {
  const existing = installedHost();
  if (existing) return existing.host;
  const host = installInto(findRunningTslab(), 'cell');
  if (!noticeGiven) {
    noticeGiven = true;
    // process.stderr is the running cell's output here: the user sees this once, where it matters.
    process.stderr.write(
      'modeldeck: added Jupyter comm support to this plain tslab kernel; widgets work from the next cell. ' +
        'The supported route is the "TypeScript (modeldeck)" kernel: run `npx modeldeck kernel install`, then switch the notebook to it.\n',
    );
  }
  return host;
}

/**
 * Whether this code runs inside a tslab kernel (where `installComms` can
 * work). For code that should enable comms on import without failing in a
 * plain Node process: `if (isTslabKernel()) installComms();`.
 */
export function isTslabKernel(): boolean {
  return typeof (globalThis as { __tslab__?: { require?: unknown } }).__tslab__?.require === 'function';
}

/** The installed comm host, or null when comm support is not installed in this process. */
export function getCommHost(): CommHost | null {
  return installedHost()?.host ?? null;
}
