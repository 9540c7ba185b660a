/**
 * Finding tslab's internals, and checking they are the ones this code was
 * written against (tslab 1.0.22, `dist/jupyter.js`). tslab exports no server
 * handle; what it does export is the `ZmqServer` class, whose prototype
 * methods its dispatch loop looks up on every message. That is what the
 * patch relies on, and what the self-test checks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The tslab version modeldeck pins and was tested with. */
export const TESTED_TSLAB_VERSION = '1.0.22';

export interface TslabInternals {
  /** tslab's `dist/jupyter.js` exports. */
  jupyter: { ZmqServer: { prototype: Record<string, unknown> }; JupyterHandlerImpl: { prototype: Record<string, unknown> } };
  /** Where it was loaded from, and the version of the package there. */
  file: string;
  version: string;
}

/** tslab's internals are not what modeldeck's comm support was written for. */
export class TslabInternalsError extends Error {
  constructor(
    readonly version: string,
    readonly missing: string[],
    where: string,
  ) {
    super(
      `modeldeck comm support cannot attach to tslab ${version} (${where}): missing ${missing.join(', ')}. ` +
        `It was written for tslab ${TESTED_TSLAB_VERSION}; use the "modeldeck" kernel (modeldeck kernel install), which runs the tslab ${TESTED_TSLAB_VERSION} that modeldeck depends on.`,
    );
    this.name = 'TslabInternalsError';
  }
}

/** Not running inside a tslab kernel at all. */
export class NotInKernelError extends Error {
  constructor(reason: string) {
    super(`modeldeck comm support needs a running tslab kernel: ${reason}`);
    this.name = 'NotInKernelError';
  }
}

/**
 * The self-test: throws a TslabInternalsError naming the version and every
 * missing piece unless `jupyter` looks like tslab 1.0.22's `dist/jupyter.js`.
 */
export function checkTslabInternals(jupyter: unknown, version: string, where = 'tslab/dist/jupyter.js'): asserts jupyter is TslabInternals['jupyter'] {
  const missing = [
    ...missingMethods(jupyter, 'ZmqServer', ['handleShellMessage', 'publishStatus', 'init']),
    // The reply fixes (replies.ts) wrap these.
    ...missingMethods(jupyter, 'JupyterHandlerImpl', ['handleKernel', 'handleExecute', 'handleExecuteImpl']),
  ];
  if (missing.length > 0) throw new TslabInternalsError(version, missing, where);
}

/** The class, or those of its prototype methods, that `jupyter` lacks, as the self-test names them. */
function missingMethods(jupyter: unknown, className: string, methods: string[]): string[] {
  const cls = (jupyter as Record<string, unknown> | null | undefined)?.[className];
  if (typeof cls !== 'function') return [className];
  const proto = (cls as { prototype?: Record<string, unknown> }).prototype ?? {};
  return methods.filter((m) => typeof proto[m] !== 'function').map((m) => `${className}.prototype.${m}`);
}

/**
 * tslab's executor module, next to `jupyter.js`: its console calls are how
 * tslab reports a failing cell (executor-output.ts). Throws if it is not there.
 */
export function executorFileOf(tslab: Pick<TslabInternals, 'file' | 'version'>): string {
  const file = join(dirname(tslab.file), 'executor.js');
  if (!existsSync(file)) throw new TslabInternalsError(tslab.version, ['dist/executor.js'], tslab.file);
  return file;
}

/** The launcher's half of the self-test: tslab's `dist/main.js` must still export `startKernel`. */
export function checkTslabMain(main: unknown, version: string, where = 'tslab/dist/main.js'): asserts main is { startKernel: (opts: object) => void } {
  if (typeof (main as { startKernel?: unknown } | null | undefined)?.startKernel !== 'function') throw new TslabInternalsError(version, ['startKernel'], where);
}

/** The version in the package.json of the tslab whose `dist/` holds `file`. */
export function tslabVersionAt(file: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(file), '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'of unknown version';
  } catch {
    return 'of unknown version';
  }
}

/**
 * The internals of the tslab that runs this process, from inside a cell.
 *
 * A cell's `require("tslab")` is hooked by the running kernel's executor to
 * its own package (a global tslab may hand over to a project-local one, and
 * both copies can be loaded). `globalThis.__tslab__` is how tslab passes
 * that `require` to cells. The module it returns is found in the module
 * cache, and `jupyter.js` next to it is the running server's module.
 */
export function findRunningTslab(): TslabInternals {
  const bridge = (globalThis as { __tslab__?: { require?: unknown } }).__tslab__;
  if (typeof bridge?.require !== 'function') throw new NotInKernelError('globalThis.__tslab__ is not set (this is not a tslab kernel process, or tslab changed how it runs cells)');
  const publicApi = (bridge.require as (id: string) => unknown)('tslab');
  const cache = require.cache;
  const publicFile = Object.keys(cache).find((k) => cache[k]?.exports === publicApi);
  if (!publicFile) throw new TslabInternalsError('of unknown version', ['the module of require("tslab") in the module cache'], 'the running kernel');
  const file = join(dirname(publicFile), 'jupyter.js');
  const version = tslabVersionAt(file);
  const jupyter = cache[file]?.exports;
  checkTslabInternals(jupyter, version, file);
  return { jupyter, file, version };
}

/** The tslab modeldeck depends on, for the launcher (nothing runs yet). */
export function loadOwnTslab(): TslabInternals & { main: { startKernel: (opts: object) => void } } {
  const file = require.resolve('tslab/dist/jupyter.js');
  const version = tslabVersionAt(file);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jupyter: unknown = require(file);
  checkTslabInternals(jupyter, version, file);
  const mainFile = join(dirname(file), 'main.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const main: unknown = require(mainFile);
  checkTslabMain(main, version, mainFile);
  return { jupyter, file, version, main };
}
