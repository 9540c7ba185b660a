// `modeldeck doctor` as a user runs it (the built CLI in a child process), against the
// fake Civitai and kernelspecs in temporary prefixes; and its checks one by one.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { checkBaseUrl, checkDrive, checkNode, checkToken, exitCodeOf, type CheckResult } from '../src/cli/doctor-checks';
import { atLeast, checkCommSelfTest, checkKernelSpec, checkTslab, inNpxCache, kernelSearchDirs } from '../src/kernel/doctor';
import { FakeCivitai } from './fake-civitai';
import { closedPort, TOKEN } from './helpers/civitai';
import { runCli, type CliRun } from './helpers/cli';
import { useTmpDir } from './helpers/tmpdir';

const CHECKS = ['node', 'tslab', 'comm-self-test', 'kernelspec', 'labextension', 'jupyter', 'colab', 'drive', 'civitai-token', 'civitai-base-url', 'civitai-reachable'];
const STATUSES = ['ok', 'info', 'warning', 'problem'];

const tmp = useTmpDir('mdk-doctor-');
let fake: FakeCivitai;
const outputs: string[] = [];

beforeAll(async () => {
  fake = await new FakeCivitai().start();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake.stop();
});

let n = 0;
function freshDir(name: string): string {
  const dir = join(tmp.path, `${name}-${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The doctor with a home, a user data dir and a JUPYTER_PATH of its own, so
 * kernelspecs of the machine's user do not count; never the real Civitai.
 */
async function doctor(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const home = freshDir('home');
  const r = await runCli(['doctor', ...args], {
    HOME: home,
    JUPYTER_DATA_DIR: join(home, 'jupyter-data'),
    JUPYTER_PATH: freshDir('empty-jupyter-path'),
    CIVITAI_BASE_URL: fake.url,
    CIVITAI_FALLBACK_BASE_URLS: '',
    CIVITAI_TOKEN: '',
    MODELDECK_CACHE_DIR: join(home, 'cache'),
    MODELDECK_COLAB: '0',
    ...env,
  });
  outputs.push(r.stdout, r.stderr);
  return r;
}

async function doctorJson(args: string[], env: Record<string, string> = {}): Promise<{ run: CliRun; results: CheckResult[]; byCheck: Record<string, CheckResult> }> {
  const run = await doctor(['--json', ...args], env);
  const results = JSON.parse(run.stdout) as CheckResult[];
  return { run, results, byCheck: Object.fromEntries(results.map((r) => [r.check, r])) };
}

/** A prefix holding a kernelspec made by `modeldeck kernel install --prefix`. */
async function installedPrefix(): Promise<string> {
  const prefix = freshDir('prefix');
  const r = await runCli(['kernel', 'install', '--prefix', prefix]);
  expect(r.code).toBe(0);
  return prefix;
}

/** A prefix holding a hand-written modeldeck kernelspec with this argv. */
function handMadePrefix(argv: string[]): string {
  const prefix = freshDir('prefix');
  const dir = join(prefix, 'share', 'jupyter', 'kernels', 'modeldeck');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kernel.json'), JSON.stringify({ argv, display_name: 'TypeScript (modeldeck)', language: 'typescript' }));
  return prefix;
}

const jupyterPathOf = (prefix: string) => join(prefix, 'share', 'jupyter');

describe('modeldeck doctor (CLI)', () => {
  test('--json prints one array of {check, status, detail, fix?}, every check once, in order', async () => {
    const { run, results } = await doctorJson(['--offline']);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(results.map((r) => r.check)).toEqual(CHECKS);
    for (const r of results) {
      expect(Object.keys(r).sort()).toEqual(r.fix === undefined ? ['check', 'detail', 'status'] : ['check', 'detail', 'fix', 'status']);
      expect(STATUSES).toContain(r.status);
      expect(typeof r.detail).toBe('string');
      expect(r.detail).not.toContain('\n');
      // Whatever is not fine says what to do.
      if (r.status === 'warning' || r.status === 'problem') expect(typeof r.fix).toBe('string');
    }
  });

  test('a kernelspec installed with --prefix and found through JUPYTER_PATH is ok; everything else here is fine too (exit 0)', async () => {
    const prefix = await installedPrefix();
    const { run, byCheck } = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(prefix), CIVITAI_TOKEN: TOKEN });
    expect(byCheck.kernelspec.status).toBe('ok');
    expect(byCheck.kernelspec.detail).toContain(join(prefix, 'share', 'jupyter', 'kernels', 'modeldeck', 'kernel.json'));
    expect(byCheck.kernelspec.detail).toContain(process.version);
    expect(byCheck.node.status).toBe('ok');
    expect(byCheck.tslab).toMatchObject({ status: 'ok' });
    expect(byCheck.tslab.detail).toContain('1.0.22');
    expect(byCheck['comm-self-test'].status).toBe('ok');
    expect(run.code).toBe(0);
  });

  test('labextension: installed by jupyter install and found through JUPYTER_PATH is ok; another version is a problem; none is a warning', async () => {
    const prefix = join(tmp.path, `jupyter-prefix-${++n}`);
    expect((await runCli(['jupyter', 'install', '--prefix', prefix])).code).toBe(0);
    const ext = join(prefix, 'share', 'jupyter', 'labextensions', 'modeldeck');
    const ok = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(prefix) });
    expect(ok.byCheck.labextension).toMatchObject({ status: 'ok' });
    expect(ok.byCheck.labextension.detail).toContain(ext);
    const pkgFile = join(ext, 'package.json');
    writeFileSync(pkgFile, JSON.stringify({ ...JSON.parse(readFileSync(pkgFile, 'utf8')), version: '0.0.1' }));
    const old = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(prefix) });
    expect(old.byCheck.labextension).toMatchObject({ status: 'problem', fix: expect.stringContaining('modeldeck jupyter install --user') });
    expect(old.byCheck.labextension.detail).toMatch(/version 0\.0\.1; this modeldeck is \d/);
    expect(old.run.code).toBe(1);
    const none = await doctorJson(['--offline']);
    expect(none.byCheck.labextension).toMatchObject({ status: 'warning', fix: expect.stringContaining('modeldeck jupyter install --user') });
  });

  test('no kernelspec: a problem whose fix is the install command, exit 1; the human form is one line per check', async () => {
    const { run, byCheck } = await doctorJson(['--offline']);
    expect(byCheck.kernelspec.status).toBe('problem');
    expect(byCheck.kernelspec.fix).toContain('modeldeck kernel install --user');
    expect(run.code).toBe(1);

    const human = await doctor(['--offline']);
    expect(human.code).toBe(1);
    const lines = human.stdout.trim().split('\n');
    expect(lines).toHaveLength(CHECKS.length + 1);
    const line = lines.find((l) => /^problem\s+kernelspec\s/.test(l));
    expect(line).toContain('-> fix: modeldeck kernel install --user');
    expect(lines[lines.length - 1]).toMatch(/^1 problem, \d+ warnings?\.$/);
  });

  test('a kernelspec whose launcher does not exist is a problem', async () => {
    const launcher = join(tmp.path, 'gone', 'lib', 'kernel', 'launch.js');
    const prefix = handMadePrefix([process.execPath, launcher, '{connection_file}']);
    const { run, byCheck } = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(prefix) });
    expect(byCheck.kernelspec.status).toBe('problem');
    expect(byCheck.kernelspec.detail).toContain(`its launcher ${launcher} does not exist`);
    expect(byCheck.kernelspec.fix).toContain('modeldeck kernel install');
    expect(run.code).toBe(1);
  });

  test('a kernelspec made from a temporary npx cache: a warning while it exists, a problem that says why once npm cleared it', async () => {
    const npxLauncher = join(tmp.path, 'npm', '_npx', '0123abcd', 'node_modules', 'modeldeck', 'lib', 'kernel', 'launch.js');
    mkdirSync(join(npxLauncher, '..'), { recursive: true });
    writeFileSync(npxLauncher, '');
    const live = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(handMadePrefix([process.execPath, npxLauncher, '{connection_file}'])) });
    expect(live.byCheck.kernelspec.status).toBe('warning');
    expect(live.byCheck.kernelspec.detail).toContain('temporary npx cache');
    expect(live.byCheck.kernelspec.fix).toContain('npm install modeldeck');

    const cleared = join(tmp.path, 'npm', '_npx', 'ffff0000', 'node_modules', 'modeldeck', 'lib', 'kernel', 'launch.js');
    const gone = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(handMadePrefix([process.execPath, cleared, '{connection_file}'])) });
    expect(gone.byCheck.kernelspec.status).toBe('problem');
    expect(gone.byCheck.kernelspec.detail).toContain('npx cache, which npm has since cleared');
  });

  test("a kernelspec whose node is missing or too old is a problem", async () => {
    const missing = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(handMadePrefix([join(tmp.path, 'no-node'), __filename, '{connection_file}'])) });
    expect(missing.byCheck.kernelspec.status).toBe('problem');
    expect(missing.byCheck.kernelspec.detail).toContain('does not exist or is not executable');

    const oldNode = join(freshDir('old-node'), 'node');
    writeFileSync(oldNode, '#!/bin/sh\necho v18.19.0\n');
    chmodSync(oldNode, 0o755);
    const old = await doctorJson(['--offline'], { JUPYTER_PATH: jupyterPathOf(handMadePrefix([oldNode, __filename, '{connection_file}'])) });
    expect(old.byCheck.kernelspec.status).toBe('problem');
    expect(old.byCheck.kernelspec.detail).toContain('is v18.19.0; modeldeck needs >=20.18');
  });

  test('CIVITAI_TOKEN set: said so, and no part of it reaches stdout or stderr; unset: a warning', async () => {
    const set = await doctorJson([], { CIVITAI_TOKEN: TOKEN });
    expect(set.byCheck['civitai-token']).toEqual({ check: 'civitai-token', status: 'ok', detail: 'CIVITAI_TOKEN is set' });
    const human = await doctor([], { CIVITAI_TOKEN: TOKEN });
    expect(human.stdout).toMatch(/^ok\s+civitai-token\s+CIVITAI_TOKEN is set$/m);
    for (const out of [set.run.stdout, set.run.stderr, human.stdout, human.stderr]) {
      expect(out).not.toContain(TOKEN);
      expect(out).not.toContain(TOKEN.slice(0, 8));
      expect(out).not.toContain(TOKEN.slice(-8));
    }

    const unset = await doctorJson(['--offline']);
    expect(unset.byCheck['civitai-token'].status).toBe('warning');
    expect(unset.byCheck['civitai-token'].fix).toContain('CIVITAI_TOKEN');
  });

  test('Civitai reachable against the fake: ok, after exactly one GET /api/v1/models?limit=1', async () => {
    const { byCheck } = await doctorJson([]);
    expect(byCheck['civitai-base-url']).toMatchObject({ status: 'ok', detail: `${fake.url} (from CIVITAI_BASE_URL)` });
    expect(byCheck['civitai-reachable'].status).toBe('ok');
    expect(byCheck['civitai-reachable'].detail).toContain(new URL(fake.url).host);
    expect(fake.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v1/models?limit=1']);
  });

  test('Civitai on a closed port: a problem with the reason, exit 1', async () => {
    const port = await closedPort();
    const { run, byCheck } = await doctorJson([], { CIVITAI_BASE_URL: `http://127.0.0.1:${port}` });
    expect(byCheck['civitai-reachable'].status).toBe('problem');
    expect(byCheck['civitai-reachable'].detail).toMatch(/cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(byCheck['civitai-reachable'].fix).toContain('network');
    expect(run.code).toBe(1);
  });

  test('Civitai that answers with an error status: a problem naming it', async () => {
    fake.inject({ kind: 'status', status: 503 }, { route: 'models' });
    const { byCheck } = await doctorJson([]);
    expect(byCheck['civitai-reachable'].status).toBe('problem');
    expect(byCheck['civitai-reachable'].detail).toContain('HTTP 503');
    expect(fake.count('models')).toBe(1);
  });

  test('--offline asks nothing of Civitai and says the check was skipped', async () => {
    const { byCheck } = await doctorJson(['--offline']);
    expect(byCheck['civitai-reachable']).toEqual({ check: 'civitai-reachable', status: 'info', detail: 'not checked (--offline)' });
    expect(fake.count()).toBe(0);
  });

  test('an unusable CIVITAI_BASE_URL is a problem and its value is not echoed', async () => {
    const { run, byCheck } = await doctorJson([], { CIVITAI_BASE_URL: 'ftp://secret-host.example/x' });
    expect(byCheck['civitai-base-url'].status).toBe('problem');
    expect(byCheck['civitai-reachable'].status).toBe('problem');
    expect(run.stdout).not.toContain('secret-host');
    expect(run.code).toBe(1);
  });

  test('Colab (MODELDECK_COLAB=1) without a Drive mount: colab said, drive a warning with the mount call', async () => {
    const { byCheck } = await doctorJson(['--offline'], { MODELDECK_COLAB: '1' });
    expect(byCheck.colab.detail).toMatch(/^on Colab/);
    // This machine has no /content/drive; were it mounted, the line would be ok.
    expect(['warning', 'ok']).toContain(byCheck.drive.status);
    if (byCheck.drive.status === 'warning') expect(byCheck.drive.fix).toContain("drive.mount('/content/drive')");
  });
});

describe('doctor checks', () => {
  test('node: >= engines is ok, older is a problem with a fix', () => {
    expect(checkNode('v20.18.0', '>=20.18').status).toBe('ok');
    expect(checkNode('v22.1.0', '>=20.18').status).toBe('ok');
    const old = checkNode('v20.17.9', '>=20.18');
    expect(old.status).toBe('problem');
    expect(old.fix).toContain('Node 20.18');
    expect(atLeast('v18.20.4', '20.18')).toBe(false);
    expect(atLeast('20.18', '20.18')).toBe(true);
  });

  test('tslab: absent or another version is a problem; the self-test names what is missing', () => {
    expect(checkTslab(null).status).toBe('problem');
    expect(checkTslab({ file: '/x/node_modules/tslab/dist/jupyter.js', version: '1.0.22' }).status).toBe('ok');
    const other = checkTslab({ file: '/x/node_modules/tslab/dist/jupyter.js', version: '1.1.0' });
    expect(other).toMatchObject({ status: 'problem' });
    expect(other.detail).toContain('tslab 1.1.0');
    expect(other.fix).toContain('tslab@1.0.22');

    const changed = checkCommSelfTest({ file: '/x/tslab/dist/jupyter.js', version: '9.9.9' }, () => ({ ZmqServer: class {} }));
    expect(changed.status).toBe('problem');
    expect(changed.detail).toContain('ZmqServer.prototype.handleShellMessage');
    const broken = checkCommSelfTest({ file: '/x/tslab/dist/jupyter.js', version: '1.0.22' }, () => {
      throw new Error('Cannot find module zeromq\nRequire stack: ...');
    });
    expect(broken).toMatchObject({ status: 'problem', detail: 'failed against tslab 1.0.22: Cannot find module zeromq' });
  });

  test('kernel search path: JUPYTER_PATH first, then the user dir, Python prefixes, system dirs; no duplicates', () => {
    const dirs = kernelSearchDirs({ JUPYTER_PATH: ['/a', '/b'].join(delimiter), JUPYTER_DATA_DIR: '/data', HOME: '/h' }, ['/usr', '/opt/py']);
    expect(dirs).toEqual(['/a/kernels', '/b/kernels', '/data/kernels', '/usr/share/jupyter/kernels', '/opt/py/share/jupyter/kernels', '/usr/local/share/jupyter/kernels']);
    expect(inNpxCache('/root/.npm/_npx/1a2b/node_modules/modeldeck/lib/kernel/launch.js')).toBe(true);
    expect(inNpxCache('/proj/node_modules/modeldeck/lib/kernel/launch.js')).toBe(false);
  });

  test('a kernel.json that is not JSON, or has no usable argv, is a problem', async () => {
    const prefix = freshDir('prefix');
    const dir = join(prefix, 'share', 'jupyter', 'kernels', 'modeldeck');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kernel.json'), '{ not json');
    const env = { JUPYTER_PATH: jupyterPathOf(prefix), JUPYTER_DATA_DIR: freshDir('data') };
    expect(await checkKernelSpec({ env })).toMatchObject({ status: 'problem', detail: expect.stringContaining('not valid JSON') });
    writeFileSync(join(dir, 'kernel.json'), JSON.stringify({ argv: 'node launch.js' }));
    expect(await checkKernelSpec({ env })).toMatchObject({ status: 'problem', detail: expect.stringContaining('argv is not a list') });
  });

  test('the first kernelspec on the path is the one checked; later ones are named as unused', async () => {
    const good = await installedPrefix();
    const broken = handMadePrefix([process.execPath, '/nowhere/launch.js', '{connection_file}']);
    const env = { JUPYTER_PATH: [jupyterPathOf(good), jupyterPathOf(broken)].join(delimiter), JUPYTER_DATA_DIR: freshDir('data') };
    const r = await checkKernelSpec({ env });
    expect(r.status).toBe('ok');
    expect(r.detail).toContain('(not used: the first one wins)');
  });

  test('drive: ok when mounted; off Colab its absence is info; on Colab a warning', async () => {
    const mounted = mkdtempSync(join(tmp.path, 'MyDrive-'));
    expect(await checkDrive(false, [mounted])).toMatchObject({ status: 'ok' });
    expect(await checkDrive(true, [join(tmp.path, 'no-drive')])).toMatchObject({ status: 'warning' });
    const off = await checkDrive(false, [join(tmp.path, 'no-drive')]);
    expect(off.status).toBe('info');
    expect(off.fix).toBeUndefined();
  });

  test('token and base URL from the environment', () => {
    expect(checkToken({ CIVITAI_TOKEN: '   ' }).status).toBe('warning');
    expect(checkToken({ CIVITAI_TOKEN: TOKEN }).detail).not.toContain(TOKEN);
    expect(checkBaseUrl({}).result.detail).toBe('https://civitai.com (the default; fallback https://civitai.red)');
    expect(checkBaseUrl({ CIVITAI_BASE_URL: 'http://127.0.0.1:9/' }).result.detail).toBe('http://127.0.0.1:9 (from CIVITAI_BASE_URL)');
  });

  test('exit code: 1 when any check is a problem, else 0', () => {
    const r = (status: CheckResult['status']): CheckResult => ({ check: 'x', status, detail: '' });
    expect(exitCodeOf([r('ok'), r('info'), r('warning')])).toBe(0);
    expect(exitCodeOf([r('ok'), r('problem')])).toBe(1);
  });

  test('no output of any run above holds the token', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const o of outputs) expect(o).not.toContain(TOKEN);
  });
});
