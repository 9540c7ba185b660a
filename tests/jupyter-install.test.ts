/**
 * `modeldeck jupyter install|uninstall`: the kernelspec and the prebuilt
 * JupyterLab extension into one Jupyter data directory, as a user runs it
 * (the built CLI in a child process), against temporary prefixes.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { installLabextension } from '../src/kernel/labextension';
import { runCli } from './helpers/cli';
import { useTmpDir } from './helpers/tmpdir';

const repo = join(__dirname, '..');
const BUILT = join(repo, 'labextension');
const VERSION = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version as string;
const tmp = useTmpDir('mdk-jupyter-install-');

let n = 0;
const freshPrefix = () => join(tmp.path, `prefix-${++n}`);
const extDir = (prefix: string) => join(prefix, 'share', 'jupyter', 'labextensions', 'modeldeck');

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : out.push(relative(dir, join(d, e.name)));
  };
  walk(dir);
  return out.sort();
}

test('install --prefix puts the kernelspec and a full copy of the labextension (with install.json) in one data dir; uninstall removes both', async () => {
  const prefix = freshPrefix();
  const r = await runCli(['jupyter', 'install', '--prefix', prefix]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'modeldeck', 'kernel.json'), 'utf8')).display_name).toBe('TypeScript (modeldeck)');
  const ext = extDir(prefix);
  expect(tree(ext)).toEqual(tree(BUILT));
  expect(tree(ext)).toContain('install.json');
  expect(JSON.parse(readFileSync(join(ext, 'install.json'), 'utf8'))).toMatchObject({ packageManager: 'npm', packageName: 'modeldeck' });
  expect(JSON.parse(readFileSync(join(ext, 'package.json'), 'utf8')).version).toBe(VERSION);
  expect(r.stdout).toContain(`Installed JupyterLab extension modeldeck ${VERSION} in ${ext}`);
  expect(r.stdout).toMatch(/Python kernels: .*from modeldeck import show.*frontend="modeldeck"/);
  // Nothing but the extension itself is left in labextensions/.
  expect(readdirSync(join(ext, '..'))).toEqual(['modeldeck']);

  const removed = await runCli(['jupyter', 'uninstall', '--prefix', prefix]);
  expect(removed.code).toBe(0);
  expect(existsSync(ext)).toBe(false);
  expect(existsSync(join(prefix, 'share', 'jupyter', 'kernels', 'modeldeck'))).toBe(false);
  const again = await runCli(['jupyter', 'uninstall', '--prefix', prefix]);
  expect(again.code).toBe(0);
  expect(again.stdout.match(/is not installed/g)).toHaveLength(2);
});

test('an older modeldeck extension is replaced whole (no stale files), and an interrupted install leaves nothing behind', async () => {
  const prefix = freshPrefix();
  const ext = extDir(prefix);
  mkdirSync(join(ext, 'static'), { recursive: true });
  writeFileSync(join(ext, 'package.json'), JSON.stringify({ name: 'modeldeck', version: '0.0.1' }));
  writeFileSync(join(ext, 'static', 'remoteEntry.old.js'), '// old');
  // What a killed install leaves: a staging copy named after a process that is gone.
  mkdirSync(join(ext, '..', '.modeldeck.staging-999999999-dead'), { recursive: true });
  const r = await runCli(['jupyter', 'install', '--prefix', prefix]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('(replaced 0.0.1)');
  expect(tree(ext)).toEqual(tree(BUILT));
  expect(readdirSync(join(ext, '..'))).toEqual(['modeldeck']);
});

test('a failed copy leaves the installed extension as it was', async () => {
  const prefix = freshPrefix();
  expect((await runCli(['jupyter', 'install', '--prefix', prefix])).code).toBe(0);
  const before = tree(extDir(prefix));
  const notBuilt = join(tmp.path, 'not-built');
  mkdirSync(notBuilt);
  await expect(installLabextension({ kind: 'prefix', dir: prefix }, notBuilt)).rejects.toThrow(/build it first: npm run build:labextension/);
  expect(tree(extDir(prefix))).toEqual(before);
  expect(readdirSync(join(extDir(prefix), '..'))).toEqual(['modeldeck']);
});

test('--user honours JUPYTER_DATA_DIR; kernel install still works on its own; conflicting flags are refused', async () => {
  const data = join(tmp.path, 'user-data');
  const r = await runCli(['jupyter', 'install', '--user'], { JUPYTER_DATA_DIR: data });
  expect(r.code).toBe(0);
  expect(existsSync(join(data, 'kernels', 'modeldeck', 'kernel.json'))).toBe(true);
  expect(existsSync(join(data, 'labextensions', 'modeldeck', 'package.json'))).toBe(true);
  const kernelOnly = freshPrefix();
  expect((await runCli(['kernel', 'install', '--prefix', kernelOnly])).code).toBe(0);
  expect(existsSync(extDir(kernelOnly))).toBe(false);
  const both = await runCli(['jupyter', 'install', '--user', '--prefix', kernelOnly]);
  expect(both.code).not.toBe(0);
  expect(both.stderr).toMatch(/only one of/);
});

/**
 * What JupyterLab's server (Debian's jupyterlab_server, the code a JupyterLab
 * page gets its extension list from) finds on its default extension path,
 * `jupyter_path("labextensions")`, with JUPYTER_PATH at the prefix.
 */
function federatedExtensions(prefix: string): { path: string[]; extensions: Record<string, { version: string; ext_path: string; install?: { packageName: string }; jupyterlab: { _build?: { load?: string } } }> } {
  const script = [
    'import json',
    'from jupyter_core.paths import jupyter_path',
    'from jupyterlab_server.config import get_federated_extensions',
    'path = jupyter_path("labextensions")',
    'print(json.dumps({"path": path, "extensions": get_federated_extensions(path)}))',
  ].join('\n');
  const env = { ...process.env, JUPYTER_PATH: join(prefix, 'share', 'jupyter'), JUPYTER_DATA_DIR: join(prefix, 'user-data'), JUPYTER_NO_CONFIG: '1' };
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { env, encoding: 'utf8' }));
}

test('jupyterlab_server finds the installed extension where JupyterLab looks, with its install.json and a loadable entry; never a staging copy', async () => {
  const prefix = freshPrefix();
  expect((await runCli(['jupyter', 'install', '--prefix', prefix])).code).toBe(0);
  // A staging copy mid-install (a dot-name), complete with its package.json, as a page would see it at that moment.
  cpSync(extDir(prefix), join(extDir(prefix), '..', `.modeldeck.staging-${process.pid}-live`), { recursive: true });
  const found = federatedExtensions(prefix);
  expect(found.path[0]).toBe(join(prefix, 'share', 'jupyter', 'labextensions'));
  expect(Object.keys(found.extensions)).toEqual(['modeldeck']);
  const ext = found.extensions.modeldeck;
  expect(ext).toMatchObject({ version: VERSION, ext_path: extDir(prefix), install: { packageName: 'modeldeck' } });
  const load = ext.jupyterlab._build?.load;
  expect(load).toMatch(/^static\/remoteEntry\.[0-9a-f]+\.js$/);
  expect(existsSync(join(extDir(prefix), load!))).toBe(true);
});
