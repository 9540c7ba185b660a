/**
 * `modeldeck doctor`: the installation checks, one result per check. The
 * kernel ones (tslab, comm self-test, kernelspec, Jupyter) are in
 * src/kernel/doctor.ts; the rest (Node, Civitai, Colab and Drive) are here.
 * Nothing in src/core knows about any of this.
 */
import { stat } from 'node:fs/promises';
import { resolveConfig, Unauthorized, withToken, type CivitaiConfig } from '../core/civitai';
import {
  atLeast,
  checkCommSelfTest,
  checkJupyter,
  checkKernelSpec,
  checkLabextension,
  checkTslab,
  locateTslab,
  pythonPrefix,
  shebangInterpreter,
  which,
  type CheckResult,
} from '../kernel/doctor';
import { launcherPath } from '../kernel/kernelspec';

export type { CheckResult, CheckStatus } from '../kernel/doctor';

/** Where Colab mounts Google Drive (`drive.mount('/content/drive')`); older mounts say "My Drive". */
export const DRIVE_DIRS = ['/content/drive/MyDrive', '/content/drive/My Drive'];

/** How long the Civitai check waits for an answer. */
export const REACHABLE_TIMEOUT_MS = 5_000;

/** `engines.node` of modeldeck's package.json (">=20.18"). */
export function requiredNode(): string {
  return ownPackage().engines?.node ?? '>=20.18';
}

function ownPackage(): { version: string; engines?: { node?: string } } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../package.json') as { version: string; engines?: { node?: string } };
}

export function checkNode(version: string = process.version, range: string = requiredNode()): CheckResult {
  const minimum = range.replace(/^>=\s*/, '');
  if (atLeast(version, minimum)) return { check: 'node', status: 'ok', detail: `${version} (modeldeck needs ${range})` };
  return {
    check: 'node',
    status: 'problem',
    detail: `${version}; modeldeck needs ${range}`,
    fix: `install Node ${minimum} or later (nodejs.org tarball, \`n 20\`, or nvm install 20), then reinstall modeldeck with it`,
  };
}

export function checkColab(colab: boolean, env: NodeJS.ProcessEnv = process.env): CheckResult {
  if (!colab) return { check: 'colab', status: 'info', detail: 'not on Colab' };
  const forced = env.MODELDECK_COLAB === '1' ? ' (MODELDECK_COLAB=1)' : '';
  return { check: 'colab', status: 'info', detail: `on Colab${forced}: widget displays carry Colab's custom-widget-manager metadata` };
}

/**
 * A Drive mount is ok when present. Off Colab its absence is only said
 * (`info`); on Colab it is a warning, since models kept on the VM's disk are
 * gone with the runtime.
 */
export async function checkDrive(colab: boolean, dirs: string[] = DRIVE_DIRS): Promise<CheckResult> {
  for (const dir of dirs) {
    try {
      if ((await stat(dir)).isDirectory()) return { check: 'drive', status: 'ok', detail: `Google Drive mounted at ${dir}` };
    } catch {
      // not this one
    }
  }
  if (!colab) return { check: 'drive', status: 'info', detail: `no Google Drive at ${dirs[0]} (not on Colab; not needed)` };
  return {
    check: 'drive',
    status: 'warning',
    detail: `Google Drive is not mounted at ${dirs[0]}; models on the VM's own disk go away with the runtime`,
    fix: "mount it from a Python cell before switching to the modeldeck kernel: from google.colab import drive; drive.mount('/content/drive')",
  };
}

export function checkToken(env: NodeJS.ProcessEnv = process.env): CheckResult {
  // Only whether it is set: no part of it, not even its length, is ever printed.
  if (env.CIVITAI_TOKEN && env.CIVITAI_TOKEN.trim()) return { check: 'civitai-token', status: 'ok', detail: 'CIVITAI_TOKEN is set' };
  return {
    check: 'civitai-token',
    status: 'warning',
    detail: 'CIVITAI_TOKEN is not set: models that need an account are not found, and downloads may be refused',
    fix: 'create an API key at https://civitai.com/user/account and export CIVITAI_TOKEN=<key> (Colab: a secret, copied into the environment)',
  };
}

/** The base URL line, and the config for the reachability check (null when the URL is unusable). */
export function checkBaseUrl(env: NodeJS.ProcessEnv = process.env): { result: CheckResult; config: CivitaiConfig | null } {
  let config: CivitaiConfig;
  try {
    config = resolveConfig({ timeoutMs: REACHABLE_TIMEOUT_MS, maxAttempts: 1 }, env);
  } catch {
    // The value is not quoted: a mistyped variable could hold anything.
    return {
      result: { check: 'civitai-base-url', status: 'problem', detail: 'CIVITAI_BASE_URL is not an http(s) URL', fix: 'set CIVITAI_BASE_URL to an origin such as https://civitai.com, or unset it' },
      config: null,
    };
  }
  const source = env.CIVITAI_BASE_URL && env.CIVITAI_BASE_URL.trim() ? 'from CIVITAI_BASE_URL' : 'the default';
  const fallbacks = config.fallbackBaseUrls.length ? `; fallback ${config.fallbackBaseUrls.join(', ')}` : '';
  return { result: { check: 'civitai-base-url', status: 'ok', detail: `${config.baseUrl} (${source}${fallbacks})` }, config };
}

/** One GET of `<base>/api/v1/models?limit=1` through the client's HTTP layer: one attempt, 5 s. */
export async function checkReachable(config: CivitaiConfig | null, offline: boolean): Promise<CheckResult> {
  const check = 'civitai-reachable';
  if (offline) return { check, status: 'info', detail: 'not checked (--offline)' };
  if (!config) return { check, status: 'problem', detail: 'not checked: the base URL is unusable', fix: 'fix CIVITAI_BASE_URL' };
  const { CivitaiHttp } = await import('../core/civitai/http');
  const http = new CivitaiHttp(withToken({ ...config, maxAttempts: 1, timeoutMs: REACHABLE_TIMEOUT_MS }, config.token));
  const started = Date.now();
  try {
    await http.json({ path: '/api/v1/models', query: { limit: '1' } });
    return { check, status: 'ok', detail: `${new URL(config.baseUrl).host} answered GET /api/v1/models?limit=1 in ${Date.now() - started} ms` };
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    if (err instanceof Unauthorized) {
      return { check, status: 'problem', detail: reason, fix: 'CIVITAI_TOKEN was refused: make a new API key at https://civitai.com/user/account, or unset it' };
    }
    return {
      check,
      status: 'problem',
      detail: reason,
      fix: 'check the network (a proxy, a firewall) and CIVITAI_BASE_URL; scans with --offline still hash and probe',
    };
  } finally {
    await http.close().catch(() => undefined);
  }
}

export interface DoctorOptions {
  offline?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Every check, in the order they are printed. */
export async function runChecks(options: DoctorOptions = {}): Promise<CheckResult[]> {
  const env = options.env ?? process.env;
  // Lazily: show.ts brings the library with it, and only isColab is needed.
  const { isColab } = await import('../kernel/show');
  const colab = isColab(env);
  const nodeRange = requiredNode();
  const tslab = locateTslab();

  // Jupyter also searches its own Python's prefix: python3 on PATH and the one `jupyter` runs with.
  const prefixes = (async () => {
    const pythons = new Set<string>();
    const python3 = await which('python3', env);
    if (python3) pythons.add(python3);
    const jupyter = await which('jupyter', env);
    const interpreter = jupyter ? await shebangInterpreter(jupyter) : null;
    if (interpreter) pythons.add(interpreter);
    return (await Promise.all([...pythons].map(pythonPrefix))).filter((p): p is string => p !== null);
  })();
  const kernelspec = prefixes.then((pythonPrefixes) => checkKernelSpec({ env, pythonPrefixes, ownLauncher: launcherPath(), nodeRange }));
  const labextension = prefixes.then((pythonPrefixes) => checkLabextension({ env, pythonPrefixes, packageVersion: ownPackage().version }));
  const base = checkBaseUrl(env);
  const [kernelResult, labextensionResult, jupyterResult, driveResult, reachable] = await Promise.all([
    kernelspec,
    labextension,
    checkJupyter(env),
    checkDrive(colab),
    checkReachable(base.config, Boolean(options.offline)),
  ]);
  return [
    checkNode(process.version, nodeRange),
    checkTslab(tslab),
    checkCommSelfTest(tslab),
    kernelResult,
    labextensionResult,
    jupyterResult,
    checkColab(colab, env),
    driveResult,
    checkToken(env),
    base.result,
    reachable,
  ];
}

/** Exit code: 1 when any check is a problem. */
export function exitCodeOf(results: CheckResult[]): number {
  return results.some((r) => r.status === 'problem') ? 1 : 0;
}
