/**
 * The kernel half of `modeldeck doctor`: tslab, the comm self-test, the
 * `modeldeck` kernelspec and Jupyter. Nothing here starts a kernel; the
 * self-test loads tslab's modules and checks the internals the comm patch
 * relies on, as the launcher does before it starts tslab.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants, existsSync } from 'node:fs';
import { access, readFile, realpath, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { checkTslabInternals, checkTslabMain, TESTED_TSLAB_VERSION, tslabVersionAt } from './comm/tslab';
import { KERNEL_NAME, userDataDir } from './kernelspec';
import { LABEXTENSION_NAME, labextensionVersion, notAnExtension } from './labextension';

/**
 * `ok`: as it should be. `info`: nothing to fix, said for context (not on
 * Colab, a check skipped on request). `warning`: works, but something a
 * user may want to change. `problem`: something that will not work; the
 * command exits 1.
 */
export type CheckStatus = 'ok' | 'info' | 'warning' | 'problem';

export interface CheckResult {
  /** A stable id (`node`, `kernelspec`, ...), also the label printed. */
  check: string;
  status: CheckStatus;
  /** One line saying what was found. */
  detail: string;
  /** What to do about it, when the status is not ok. */
  fix?: string;
}

const INSTALL_KERNEL = 'modeldeck kernel install --user';
const REINSTALL = `reinstall modeldeck (npm install modeldeck) so that it gets tslab ${TESTED_TSLAB_VERSION}, its pinned dependency`;

export interface RunResult {
  /** Null when the program could not be started at all (ENOENT, EACCES). */
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Runs a program with a time limit; never throws. */
export function run(file: string, args: string[], timeoutMs = 10_000, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((done) => {
    execFile(file, args, { timeout: timeoutMs, env, encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return done({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
      if (typeof e.code === 'number') return done({ code: e.code, stdout, stderr });
      const reason = e.killed ? `no answer within ${Math.round(timeoutMs / 1000)} s` : e.code === 'ENOENT' ? 'not found' : (e.code ?? e.message);
      done({ code: null, stdout, stderr, error: String(reason) });
    });
  });
}

/** The first executable named `name` on PATH, or null. */
export async function which(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

// ---- versions ----

/** `[major, minor, patch]` of "v20.18.1", "20.18" or ">=20.18"; missing parts are 0. */
export function parseVersion(text: string): [number, number, number] | null {
  const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : null;
}

/** Whether `version` is at least `minimum` (both as parseVersion reads them). */
export function atLeast(version: string, minimum: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(minimum);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

// ---- tslab and the comm self-test ----

export interface TslabLocation {
  /** tslab's `dist/jupyter.js`, as the launcher resolves it. */
  file: string;
  version: string;
}

/** The tslab this modeldeck depends on, resolved from here as the launcher resolves it; null when absent. */
export function locateTslab(resolveFrom: (id: string) => string = require.resolve): TslabLocation | null {
  try {
    const file = resolveFrom('tslab/dist/jupyter.js');
    return { file, version: tslabVersionAt(file) };
  } catch {
    return null;
  }
}

export function checkTslab(found: TslabLocation | null, pinned = TESTED_TSLAB_VERSION): CheckResult {
  if (!found) return { check: 'tslab', status: 'problem', detail: 'tslab is not installed beside modeldeck; the kernel cannot start', fix: REINSTALL };
  const where = dirname(dirname(found.file));
  if (found.version !== pinned) {
    return {
      check: 'tslab',
      status: 'problem',
      detail: `tslab ${found.version} at ${where}; modeldeck pins and was tested with ${pinned}`,
      fix: `${REINSTALL} (or \`npm install tslab@${pinned}\` in that project)`,
    };
  }
  return { check: 'tslab', status: 'ok', detail: `tslab ${found.version} (the pinned version) at ${where}` };
}

/**
 * The launcher's self-test without the launch: loads tslab's `dist/jupyter.js`
 * and `dist/main.js` and checks what comm support patches is still there.
 * Loading jupyter.js also loads zeromq's native binding, so a broken zeromq
 * shows here too.
 */
export function checkCommSelfTest(found: TslabLocation | null, load: (file: string) => unknown = require): CheckResult {
  const check = 'comm-self-test';
  if (!found) return { check, status: 'problem', detail: 'not run: tslab is not installed', fix: REINSTALL };
  try {
    checkTslabInternals(load(found.file), found.version, found.file);
    const mainFile = join(dirname(found.file), 'main.js');
    checkTslabMain(load(mainFile), found.version, mainFile);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { check, status: 'problem', detail: `failed against tslab ${found.version}: ${firstLine(message)}`, fix: REINSTALL };
  }
  return { check, status: 'ok', detail: `tslab ${found.version}'s kernel server has what comm support patches (ZmqServer, startKernel)` };
}

// ---- the kernelspec ----

/** Data directories of one Python prefix: `<prefix>/share/jupyter`. */
function prefixDataDir(prefix: string): string {
  return join(prefix, 'share', 'jupyter');
}

/**
 * Jupyter's kernel search path, in its order (the first `modeldeck` found is
 * the one Jupyter starts): each `$JUPYTER_PATH` entry, the user data
 * directory (`$JUPYTER_DATA_DIR`, else `~/.local/share/jupyter`), the
 * `sys.prefix` of each Python given (Jupyter's own environment), then
 * `/usr/local/share/jupyter` and `/usr/share/jupyter`. Each + `/kernels`.
 */
export function kernelSearchDirs(env: NodeJS.ProcessEnv = process.env, pythonPrefixes: string[] = []): string[] {
  return jupyterPath('kernels', env, pythonPrefixes);
}

/** jupyter_core's `jupyter_path(sub)`: the data directories above, in order, each + `/sub`. JupyterLab finds extensions on `jupyter_path('labextensions')`. */
export function jupyterPath(sub: string, env: NodeJS.ProcessEnv = process.env, pythonPrefixes: string[] = []): string[] {
  const dataDirs: string[] = [];
  for (const entry of (env.JUPYTER_PATH ?? '').split(delimiter)) if (entry) dataDirs.push(resolve(entry));
  dataDirs.push(userDataDir(env));
  for (const prefix of pythonPrefixes) dataDirs.push(prefixDataDir(prefix));
  if (process.platform !== 'win32') dataDirs.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return [...new Set(dataDirs.map((d) => join(d, sub)))];
}

/** `sys.prefix` of a Python interpreter; null when it cannot be run. */
export async function pythonPrefix(python: string): Promise<string | null> {
  const r = await run(python, ['-c', 'import sys; print(sys.prefix)'], 10_000);
  const out = r.stdout.trim();
  return r.code === 0 && out ? out : null;
}

/** The interpreter named by a script's `#!` line (`jupyter` is a Python script), or null. */
export async function shebangInterpreter(script: string): Promise<string | null> {
  try {
    const head = (await readFile(script, 'utf8')).slice(0, 256).split('\n')[0];
    if (!head.startsWith('#!')) return null;
    const parts = head.slice(2).trim().split(/\s+/);
    // `#!/usr/bin/env python3` names the interpreter in its second word.
    if (parts[0].endsWith('/env')) return parts.slice(1).find((p) => !p.startsWith('-')) ?? null;
    return parts[0] || null;
  } catch {
    return null;
  }
}

export interface KernelSpecFound {
  file: string;
  /** The parsed kernel.json, or the reason it could not be read. */
  spec: { argv?: unknown } | null;
  error?: string;
}

/** Every `modeldeck/kernel.json` on the search path, in search order. */
export async function findKernelSpecs(dirs: string[], name = KERNEL_NAME): Promise<KernelSpecFound[]> {
  const found: KernelSpecFound[] = [];
  for (const dir of dirs) {
    const file = join(dir, name, 'kernel.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      found.push({ file, spec: null, error: `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    try {
      const spec = JSON.parse(text) as unknown;
      if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('not an object');
      found.push({ file, spec: spec as { argv?: unknown } });
    } catch {
      found.push({ file, spec: null, error: 'it is not valid JSON' });
    }
  }
  return found;
}

/** npm's temporary cache for `npx` (npm 7+: `~/.npm/_npx/<hash>/node_modules/...`). */
export function inNpxCache(file: string): boolean {
  return file.split(/[\\/]/).includes('_npx');
}

export interface KernelSpecCheckOptions {
  env?: NodeJS.ProcessEnv;
  /** Python prefixes whose share/jupyter to search (python3 on PATH, the one `jupyter` runs with). */
  pythonPrefixes?: string[];
  /** This modeldeck's launcher, to say when the kernelspec runs another copy. */
  ownLauncher?: string;
  /** The Node version the kernel needs (package.json engines). */
  nodeRange?: string;
}

/**
 * Is the `modeldeck` kernelspec where Jupyter looks, and will its argv start?
 * The node and the launcher it names must exist; a launcher inside npx's
 * temporary cache works until npm clears that cache, so it is a warning.
 */
export async function checkKernelSpec(options: KernelSpecCheckOptions = {}): Promise<CheckResult> {
  const check = 'kernelspec';
  const env = options.env ?? process.env;
  const dirs = kernelSearchDirs(env, options.pythonPrefixes ?? []);
  const specs = await findKernelSpecs(dirs);
  if (specs.length === 0) {
    return {
      check,
      status: 'problem',
      detail: `no "${KERNEL_NAME}" kernelspec in ${dirs.join(', ')}`,
      fix: `${INSTALL_KERNEL} (from a project where modeldeck is installed, not a temporary npx cache)`,
    };
  }
  const [first, ...others] = specs;
  const shadowed = others.length ? `; also in ${others.map((s) => s.file).join(', ')} (not used: the first one wins)` : '';
  const bad = (detail: string, fix = `${INSTALL_KERNEL} (replaces it)`): CheckResult => ({ check, status: 'problem', detail: `${first.file}: ${detail}${shadowed}`, fix });

  if (!first.spec) return bad(first.error ?? 'unreadable');
  const argv = first.spec.argv;
  if (!Array.isArray(argv) || argv.length < 2 || !argv.every((a) => typeof a === 'string')) return bad('its argv is not a list of strings [node, launcher, "{connection_file}"]');
  const [nodeArg, launcher] = argv as string[];

  const node = isAbsolute(nodeArg) ? ((await isExecutableFile(nodeArg)) ? nodeArg : null) : await which(nodeArg, env);
  if (!node) return bad(`its node ${nodeArg} does not exist or is not executable`);
  if (!(await exists(launcher))) {
    const why = inNpxCache(launcher) ? ' (it was in a temporary npx cache, which npm has since cleared)' : '';
    return bad(`its launcher ${launcher} does not exist${why}`);
  }
  const nodeVersion = await run(node, ['--version'], 10_000);
  if (nodeVersion.code !== 0) return bad(`its node ${node} does not run (${nodeVersion.error ?? `exit status ${nodeVersion.code}`})`);
  const version = nodeVersion.stdout.trim();
  if (options.nodeRange && !atLeast(version, options.nodeRange)) {
    return bad(`its node ${node} is ${version}; modeldeck needs ${options.nodeRange}`, `${INSTALL_KERNEL}, run with Node ${options.nodeRange} (the kernelspec records the node that installs it)`);
  }

  let other = '';
  if (options.ownLauncher) {
    const [a, b] = await Promise.all([realpath(launcher).catch(() => launcher), realpath(options.ownLauncher).catch(() => options.ownLauncher!)]);
    if (a !== b) other = ` (another modeldeck install than this one, at ${modeldeckRootOf(launcher)})`;
  }
  const detail = `${first.file} runs ${launcher} with node ${version}${other}${shadowed}`;
  if (inNpxCache(launcher)) {
    return {
      check,
      status: 'warning',
      detail: `${detail}; that launcher is in a temporary npx cache, so the kernel breaks when npm clears it`,
      fix: `npm install modeldeck in a project (or -g), then ${INSTALL_KERNEL} from there`,
    };
  }
  return { check, status: 'ok', detail };
}

/** `.../modeldeck` from `.../modeldeck/lib/kernel/launch.js`. */
function modeldeckRootOf(launcher: string): string {
  const parts = launcher.split(sep);
  return parts.length > 3 ? parts.slice(0, -3).join(sep) : launcher;
}

// ---- the JupyterLab extension ----

const INSTALL_JUPYTER = 'modeldeck jupyter install --user';

/**
 * Is modeldeck's labextension where JupyterLab looks, and is it this
 * package's version? JupyterLab takes the first `modeldeck` on its path.
 * Missing is a warning (the CLI, Notebook 7 with the extension elsewhere and
 * Colab do not need it); another version is a problem: the widget's module
 * version range would not match the kernel's.
 */
export async function checkLabextension(options: { env?: NodeJS.ProcessEnv; pythonPrefixes?: string[]; packageVersion: string }): Promise<CheckResult> {
  const check = 'labextension';
  const dirs = jupyterPath('labextensions', options.env ?? process.env, options.pythonPrefixes ?? []);
  const found = dirs.map((d) => join(d, LABEXTENSION_NAME)).filter((d) => existsSync(d));
  if (found.length === 0) {
    return { check, status: 'warning', detail: `no "${LABEXTENSION_NAME}" JupyterLab extension in ${dirs.join(', ')}: JupyterLab shows no panel`, fix: `${INSTALL_JUPYTER} (the kernelspec and the extension)` };
  }
  const [first, ...others] = found;
  const shadowed = others.length ? `; also in ${others.join(', ')} (not used: the first one wins)` : '';
  const broken = await notAnExtension(first);
  if (broken) return { check, status: 'problem', detail: `${broken}${shadowed}`, fix: `${INSTALL_JUPYTER} (replaces it)` };
  const version = (await labextensionVersion(first))!;
  if (version !== options.packageVersion) {
    return { check, status: 'problem', detail: `${first} is version ${version}; this modeldeck is ${options.packageVersion}${shadowed}`, fix: `${INSTALL_JUPYTER} (replaces it), then reload JupyterLab` };
  }
  return { check, status: 'ok', detail: `${first} (version ${version}, as this package)${shadowed}` };
}

// ---- Jupyter ----

/**
 * Jupyter is needed to run notebooks, not by the CLI: missing is a warning.
 * `jupyter --version` lists its packages; without a `jupyter` command, a
 * `python3` that imports jupyter_client still counts.
 */
export async function checkJupyter(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const check = 'jupyter';
  const fix = 'install Jupyter (pip install jupyterlab, or apt install jupyter-notebook) to use the notebook kernel; the modeldeck command works without it';
  const jupyter = await which('jupyter', env);
  if (jupyter) {
    const r = await run(jupyter, ['--version'], 15_000, env);
    if (r.code === 0) {
      const versions = ['jupyter_core', 'jupyter_client', 'jupyterlab', 'notebook', 'jupyter_server']
        .map((name) => {
          const m = new RegExp(`^${name}\\s*:\\s*(\\S+)`, 'm').exec(r.stdout);
          return m && m[1] !== 'not' ? `${name} ${m[1]}` : null;
        })
        .filter(Boolean);
      return { check, status: 'ok', detail: `${jupyter}${versions.length ? ` (${versions.join(', ')})` : ''}` };
    }
  }
  const python = await which('python3', env);
  if (python) {
    const r = await run(python, ['-c', 'import jupyter_client; print(jupyter_client.__version__)'], 15_000, env);
    if (r.code === 0) return { check, status: 'ok', detail: `no working jupyter command, but ${python} has jupyter_client ${r.stdout.trim()}` };
  }
  return { check, status: 'warning', detail: jupyter ? `${jupyter} --version fails, and python3 cannot import jupyter_client` : 'no jupyter command on PATH, and python3 cannot import jupyter_client', fix };
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}
