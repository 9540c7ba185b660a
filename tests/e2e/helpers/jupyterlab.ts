/**
 * The JupyterLab 4 front end of the lab e2e test (tests/e2e/jupyterlab/),
 * installed and built on demand into a cache folder outside the repository:
 *
 *   <cache>/deps-<hash of package.json + lock>/node_modules        npm ci, ~1-1.5 min, once per lock
 *   <cache>/deps-.../builds/<hash of the build's inputs>/          the sources, copied, and
 *       out/static, out/schemas, out/themes                        their build (rspack, seconds)
 *
 * The sources are copied next to the cached node_modules so that everything
 * they import resolves there, never in the repository's own node_modules (a
 * different @jupyterlab release). Each step is made under a temporary name and
 * renamed into place, so an interrupted or concurrent run never leaves half a
 * folder behind that a later run would take for done. `<cache>` is
 * $MODELDECK_LAB_CACHE, else $XDG_CACHE_HOME/modeldeck/jupyterlab-e2e, else
 * ~/.cache/modeldeck/jupyterlab-e2e.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO } from './site';

export const LAB_SOURCES = join(REPO, 'tests', 'e2e', 'jupyterlab');

export interface LabBuild {
  /** Holds static/, schemas/ and themes/: the server's --ModeldeckLab.build_dir. */
  dir: string;
  /** What this call had to do, and how long each step took (ms). */
  installedMs: number | null;
  builtMs: number | null;
}

export function labCacheRoot(): string {
  if (process.env.MODELDECK_LAB_CACHE) return process.env.MODELDECK_LAB_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'modeldeck', 'jupyterlab-e2e');
}

/**
 * What the build is made of (lab_server.py and templates/ are not: the server
 * runs them from the repository), every file sorted.
 */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'build.js', 'rspack.config.js', 'src'];

function sourceFiles(paths = BUILD_INPUTS.map((p) => join(LAB_SOURCES, p))): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (statSync(path).isDirectory()) out.push(...sourceFiles(readdirSync(path).map((e) => join(path, e))));
    else out.push(path);
  }
  return out.sort();
}

function hashOf(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(relative(LAB_SOURCES, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

function run(command: string, args: string[], cwd: string, what: string): void {
  // nice: the machine is shared, and this is the heaviest step of the test run.
  const r = spawnSync('nice', ['-n', '10', command, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}) in ${cwd}:\n${r.stdout}\n${r.stderr}`);
}

/** Makes `target` by filling a temporary folder beside it and renaming it in; a folder already there is taken as done. */
function makeOnce(target: string, fill: (tmp: string) => void): number | null {
  if (existsSync(target)) return null;
  const started = Date.now();
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp, { recursive: true });
  try {
    fill(tmp);
    try {
      renameSync(tmp, target);
    } catch (err) {
      // Another run finished the same folder first: theirs is as good.
      if (!existsSync(target)) throw err;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return Date.now() - started;
}

/** Installs (npm ci) and builds the lab front end unless the cache has them; returns the build. */
export function ensureLabBuild(): LabBuild {
  const lockFiles = [join(LAB_SOURCES, 'package.json'), join(LAB_SOURCES, 'package-lock.json')];
  const deps = join(labCacheRoot(), `deps-${hashOf(lockFiles)}`);
  mkdirSync(labCacheRoot(), { recursive: true });
  const installedMs = makeOnce(deps, (tmp) => {
    for (const f of lockFiles) cpSync(f, join(tmp, relative(LAB_SOURCES, f)));
    // --ignore-scripts: nothing here needs an install script (one package has only an attribution notice).
    run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], tmp, `npm ci of ${LAB_SOURCES}`);
  });
  mkdirSync(join(deps, 'builds'), { recursive: true });
  const build = join(deps, 'builds', hashOf(sourceFiles()));
  const builtMs = makeOnce(build, (tmp) => {
    for (const f of sourceFiles()) cpSync(f, join(tmp, relative(LAB_SOURCES, f)));
    // Resolution walks up from the copied sources: builds/<hash>/ -> deps/node_modules.
    run(process.execPath, ['build.js', join(tmp, 'out')], tmp, 'building the JupyterLab front end');
  });
  return { dir: join(build, 'out'), installedMs, builtMs };
}

