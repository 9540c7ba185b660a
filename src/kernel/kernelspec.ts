/**
 * The `modeldeck` kernelspec: a `kernel.json` that starts lib/kernel/launch.js
 * (tslab with comm support) with the node running this code. Written
 * directly, as jupyter_client's KernelSpecManager would, so installing needs
 * no Jupyter Python package.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const KERNEL_NAME = 'modeldeck';
export const DISPLAY_NAME = 'TypeScript (modeldeck)';

/** Where Jupyter looks for kernelspecs: `--user`, `--sys-prefix` or `--prefix DIR`. */
export type KernelSpecScope = { kind: 'user' } | { kind: 'sys-prefix' } | { kind: 'prefix'; dir: string };

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: 'signal';
  metadata: Record<string, unknown>;
}

/** The launcher next to this module once compiled (lib/kernel/launch.js). */
export function launcherPath(): string {
  return join(__dirname, 'launch.js');
}

export function kernelSpec(nodePath: string = process.execPath, launcher: string = launcherPath()): KernelSpec {
  return {
    // The connection file is its own argv element, as tslab's own spec does (yunabe/tslab#36).
    argv: [nodePath, launcher, '{connection_file}'],
    display_name: DISPLAY_NAME,
    language: 'typescript',
    // tslab interrupts a running cell on SIGINT.
    interrupt_mode: 'signal',
    metadata: { modeldeck: { launcher } },
  };
}

/** jupyter_core's `jupyter_data_dir()`: JUPYTER_DATA_DIR, else the platform's per-user directory. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.JUPYTER_DATA_DIR) return resolve(env.JUPYTER_DATA_DIR);
  const home = homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Jupyter');
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'jupyter');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'jupyter');
}

/** `sys.prefix` of the `python3` on PATH (the environment Jupyter usually runs from). */
export function pythonSysPrefix(python = 'python3'): string {
  const r = spawnSync(python, ['-c', 'import sys;print(sys.prefix)'], { encoding: 'utf8' });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `--sys-prefix needs ${python}, which is not on PATH; use --user or --prefix DIR instead` : `could not run ${python}: ${r.error.message}`);
  }
  if (r.status !== 0 || !r.stdout.trim()) throw new Error(`${python} could not tell its sys.prefix: ${r.stderr.trim() || `exit status ${r.status}`}`);
  return r.stdout.trim();
}

/** The Jupyter data directory of `scope`: kernelspecs go in its `kernels/`, JupyterLab extensions in its `labextensions/`. */
export function dataDirOf(scope: KernelSpecScope): string {
  switch (scope.kind) {
    case 'user':
      return userDataDir();
    case 'sys-prefix':
      return join(pythonSysPrefix(), 'share', 'jupyter');
    case 'prefix':
      return join(resolve(scope.dir), 'share', 'jupyter');
  }
}

/** The directory the `modeldeck` kernelspec goes into for `scope`. */
export function kernelSpecDir(scope: KernelSpecScope): string {
  return join(dataDirOf(scope), 'kernels', KERNEL_NAME);
}

/** Writes (or replaces) the kernelspec; returns its directory and contents. */
export async function installKernelSpec(scope: KernelSpecScope, spec: KernelSpec = kernelSpec()): Promise<{ dir: string; spec: KernelSpec }> {
  if (!existsSync(spec.argv[1])) throw new Error(`the kernel launcher ${spec.argv[1]} does not exist (build modeldeck first: npm run build:node)`);
  const dir = kernelSpecDir(scope);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // Write then rename: Jupyter listing kernels at the same moment never sees half a file.
  const file = join(dir, 'kernel.json');
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(spec, null, 2) + '\n', { mode: 0o644 });
  await rename(temp, file);
  return { dir, spec };
}

/** Removes the kernelspec; `removed` is false when there was none. */
export async function uninstallKernelSpec(scope: KernelSpecScope): Promise<{ dir: string; removed: boolean }> {
  const dir = kernelSpecDir(scope);
  if (!existsSync(join(dir, 'kernel.json'))) return { dir, removed: false };
  await rm(dir, { recursive: true, force: true });
  return { dir, removed: true };
}
