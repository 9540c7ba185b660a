/**
 * Debian's jupyter_server (python3-jupyter-server) for the e2e test and the
 * widget benchmark, fully isolated: its own config, data and runtime
 * directories (nothing from ~/.jupyter or /etc/jupyter), the `modeldeck`
 * kernelspec installed into its own prefix, a project folder as the kernel's
 * working directory with modeldeck in its node_modules (a symlink to this
 * repository), and the test page served from `extra_static_paths`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WAIT_MS } from '../../helpers/wait';
import { REPO } from './site';

export const PYTHON = '/usr/bin/python3';

export interface JupyterServerOptions {
  /** Scratch folder for the server's directories (created). */
  dir: string;
  /** Served under /static/. */
  staticDir?: string;
  /** Extra environment for the server and so for its kernels (CIVITAI_BASE_URL...). */
  env?: NodeJS.ProcessEnv;
  /**
   * Serve a JupyterLab page at /lab: the built front end (helpers/jupyterlab.ts)
   * through tests/e2e/jupyterlab/lab_server.py, and `modeldeck jupyter install
   * --prefix` instead of `kernel install`, so the labextension is where the page looks
   * (`labextension: false`: the kernelspec alone, for a page without modeldeck's extension).
   */
  lab?: { buildDir: string; labextension?: boolean };
}

export interface JupyterServer {
  /** http://127.0.0.1:PORT */
  url: string;
  token: string;
  /** The kernel's working directory (a project with modeldeck installed). */
  projectDir: string;
  /** The server's log so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Whether this machine has what the e2e test needs, or why not. */
export function missingPrerequisites(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import jupyter_server'], { stdio: 'ignore' });
  } catch {
    return `${PYTHON} cannot import jupyter_server (Debian: apt-get install python3-jupyter-server)`;
  }
  return null;
}

/** `modeldeck kernel install --prefix` (or `jupyter install`: kernelspec and labextension), as a user would run it. Returns the prefix's share/jupyter. */
export function installKernelSpec(prefix: string, what: 'kernel' | 'jupyter' = 'kernel'): string {
  execFileSync(process.execPath, [join(REPO, 'bin', 'modeldeck.js'), what, 'install', '--prefix', prefix], { stdio: 'pipe' });
  return join(prefix, 'share', 'jupyter');
}

export async function startJupyterServer(options: JupyterServerOptions): Promise<JupyterServer> {
  const { dir } = options;
  const dirs = { config: join(dir, 'config'), data: join(dir, 'data'), runtime: join(dir, 'runtime'), project: join(dir, 'project') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.project, 'node_modules'), { recursive: true });
  symlinkSync(REPO, join(dirs.project, 'node_modules', 'modeldeck'));
  const jupyterPath = installKernelSpec(join(dir, 'prefix'), options.lab && options.lab.labextension !== false ? 'jupyter' : 'kernel');
  const token = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    JUPYTER_PATH: jupyterPath,
    // The lab server: no /etc/jupyter or /usr/etc/jupyter config (Debian's server extensions and their settings).
    ...(options.lab ? { JUPYTER_NO_CONFIG: '1' } : {}),
    // The kernel's own Node must not pick up the test runner's flags.
    NODE_OPTIONS: '',
  };
  const logFile = join(dir, 'server.log');
  let lastError = '';
  // A free port can be taken between asking and binding: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const launcher = options.lab
      ? [
          join(REPO, 'tests', 'e2e', 'jupyterlab', 'lab_server.py'),
          `--ModeldeckLab.build_dir=${options.lab.buildDir}`,
          // Only the prefix `modeldeck jupyter install` wrote to (not Debian's /usr/share/jupyter/labextensions).
          `--ModeldeckLab.labextensions_path=${join(jupyterPath, 'labextensions')}`,
        ]
      : ['-m', 'jupyter_server'];
    const child = spawn(
      PYTHON,
      [
        ...launcher, '--no-browser', '--allow-root',
        '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`, '--ServerApp.port_retries=0',
        `--ServerApp.token=${token}`, `--ServerApp.root_dir=${dirs.project}`,
        ...(options.staticDir ? [`--ServerApp.extra_static_paths=${options.staticDir}`] : []),
      ],
      { cwd: dirs.project, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: string[] = [];
    const file = createWriteStream(logFile, { flags: 'a' });
    for (const s of [child.stdout!, child.stderr!]) {
      s.on('data', (b: Buffer) => {
        chunks.push(b.toString());
        file.write(b);
      });
    }
    const url = `http://127.0.0.1:${port}`;
    const up = await waitUntilUp(child, url, token, WAIT_MS);
    if (up === true) {
      return {
        url,
        token,
        projectDir: dirs.project,
        log: () => chunks.join(''),
        stop: () => stop(child, url, token).finally(() => file.end()),
      };
    }
    lastError = `${up}\n${chunks.join('')}`;
    child.kill('SIGKILL');
    file.end();
  }
  throw new Error(`jupyter_server did not start: ${lastError}\n(log: ${logFile}; ${readFileSafe(logFile).length} bytes)`);
}

/** A port the OS just handed out and released. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** true once /api/status answers, else why not. */
async function waitUntilUp(child: ChildProcess, url: string, token: string, timeoutMs: number): Promise<true | string> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  while (Date.now() < deadline) {
    if (exited) return exited;
    try {
      const res = await fetch(`${url}/api/status`, { headers: { Authorization: `token ${token}` } });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return `not answering after ${timeoutMs} ms`;
}

/** Shuts every kernel down through the API, then the server (SIGTERM, SIGKILL after 10 s). */
async function stop(child: ChildProcess, url: string, token: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const headers = { Authorization: `token ${token}` };
  try {
    const kernels = (await (await fetch(`${url}/api/kernels`, { headers })).json()) as { id: string }[];
    await Promise.all(kernels.map((k) => fetch(`${url}/api/kernels/${k.id}`, { method: 'DELETE', headers })));
  } catch {
    // the server may already be going
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
