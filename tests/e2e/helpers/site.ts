/**
 * The static folder the e2e page is served from (jupyter_server's
 * `extra_static_paths`, so the page and the API share an origin):
 *
 *   index.html, harness.js (+ font assets)   the test page (tests/e2e/page)
 *   vendor/require.js                         requirejs, as notebook pages have
 *   modeldeck@<version>/dist/index.js         the widget bundle, where the CDN has it
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository: found by walking up, since the benchmark runs this file compiled into build/dev. */
function findRepo(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tests', 'e2e', 'page', 'webpack.config.js'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no modeldeck repository above ${from}`);
  }
}

export const REPO = findRepo(__dirname);
const PAGE = join(REPO, 'tests', 'e2e', 'page');

export interface Site {
  dir: string;
  /** The package version the bundle was laid out under. */
  version: string;
  /** How long the page build took. */
  buildMs: number;
}

/** The newest file under `dir` (recursively), as [mtime, path]. */
function newest(dir: string): [number, string] {
  let best: [number, string] = [0, dir];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const candidate: [number, string] = e.isDirectory() ? newest(path) : [statSync(path).mtimeMs, path];
    if (candidate[0] > best[0]) best = candidate;
  }
  return best;
}

/**
 * The built widget bundle (dist/index.js, or MODELDECK_E2E_BUNDLE), or an error
 * that says how to build it: missing, or older than the sources it is built from.
 */
export function widgetBundle(): string {
  const given = process.env.MODELDECK_E2E_BUNDLE;
  const bundle = given || join(REPO, 'dist', 'index.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build the widget first (npm run build:widget)`);
  if (!given) {
    const sources = [newest(join(REPO, 'src', 'widget')), newest(join(REPO, 'css')), [statSync(join(REPO, 'src', 'kernel', 'protocol.ts')).mtimeMs, 'src/kernel/protocol.ts'] as [number, string]];
    const [mtime, path] = sources.reduce((a, b) => (b[0] > a[0] ? b : a));
    if (mtime > statSync(bundle).mtimeMs) throw new Error(`${bundle} is older than ${path}: rebuild the widget (npm run build:widget)`);
  }
  return bundle;
}

/** Builds the test page into `dir` and lays out requirejs and the widget bundle beside it. */
export function buildSite(dir: string): Site {
  const bundle = widgetBundle();
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const webpack = join(REPO, 'node_modules', 'webpack', 'bin', 'webpack.js');
  const run = spawnSync(process.execPath, [webpack, '--config', join(PAGE, 'webpack.config.js'), '--env', `out=${dir}`], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (run.status !== 0) throw new Error(`building the e2e page failed (${run.error?.message ?? `exit ${run.status}`}):\n${run.stdout}\n${run.stderr}`);
  const buildMs = Date.now() - started;
  copyFileSync(join(PAGE, 'index.html'), join(dir, 'index.html'));
  mkdirSync(join(dir, 'vendor'), { recursive: true });
  copyFileSync(require.resolve('requirejs/require.js'), join(dir, 'vendor', 'require.js'));
  const { name, version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
  const cdnDir = join(dir, `${name}@${version}`, 'dist');
  mkdirSync(cdnDir, { recursive: true });
  copyFileSync(bundle, join(cdnDir, 'index.js'));
  if (existsSync(`${bundle}.map`)) copyFileSync(`${bundle}.map`, join(cdnDir, 'index.js.map'));
  return { dir, version, buildMs };
}
