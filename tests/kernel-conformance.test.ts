/**
 * Jupyter's own kernel test suite (Debian's python3-jupyter-kernel-test,
 * `jupyter_kernel_test.KernelTests`) against the `modeldeck` kernel as
 * `modeldeck kernel install --prefix` registers it; and, as the control that
 * shows the suite sees the defects the kernel layer fixes, against plain
 * tslab 1.0.22.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli';
import { useTmpDir } from './helpers/tmpdir';

const repo = join(__dirname, '..');
const SUITE = join(__dirname, 'conformance', 'test_modeldeck_kernel.py');
const TSLAB_BIN = join(repo, 'node_modules', 'tslab', 'bin', 'tslab');
// Debian's interpreter, where python3-jupyter-kernel-test is installed (not whatever python3 is first on PATH).
const PYTHON = '/usr/bin/python3';

const tmp = useTmpDir('modeldeck-conformance-');

interface SuiteRun {
  code: number;
  /** Test name -> "ok", "FAIL", "ERROR" or "skipped <reason>". */
  results: Map<string, string>;
  output: string;
}

/** Runs the suite with a private Jupyter path holding the kernelspecs in `prefix`. */
function runSuite(prefix: string, kernelName: string): Promise<SuiteRun> {
  const env = {
    ...process.env,
    JUPYTER_PATH: join(prefix, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: join(prefix, 'data'),
    JUPYTER_CONFIG_DIR: join(prefix, 'config'),
    JUPYTER_RUNTIME_DIR: join(prefix, 'runtime'),
    JUPYTER_NO_CONFIG: '1',
    MODELDECK_KERNEL_UNDER_TEST: kernelName,
  };
  return new Promise((resolve) => {
    execFile(PYTHON, [SUITE], { cwd: prefix, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const output = stdout + stderr;
      const results = new Map<string, string>();
      for (const m of output.matchAll(/^(test_\w+) \(.*?\) \.\.\. (ok|FAIL|ERROR|skipped .*)$/gm)) results.set(m[1], m[2]);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, results, output });
    });
  });
}

test('the modeldeck kernel passes every test jupyter_kernel_test offers a TypeScript kernel; what tslab cannot do is skipped with the reason', async () => {
  const prefix = join(tmp.path, 'modeldeck');
  const installed = await runCli(['kernel', 'install', '--prefix', prefix]);
  expect(installed.code).toBe(0);
  const run = await runSuite(prefix, 'modeldeck');
  const passed = ['test_kernel_info', 'test_execute_stdout', 'test_execute_stderr', 'test_completion', 'test_is_complete', 'test_error', 'test_display_data', 'test_inspect'];
  for (const name of passed) expect({ name, result: run.results.get(name) }).toEqual({ name, result: 'ok' });
  for (const name of ['test_execute_result', 'test_history', 'test_pager', 'test_clear_output']) expect(run.results.get(name)).toMatch(/^skipped .*tslab/);
  expect(run.results.size).toBe(12);
  expect({ code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({ code: 0, output: '' });
});

test('control: plain tslab 1.0.22 fails the suite where the issue says (kernel_info status, error fields)', async () => {
  const prefix = join(tmp.path, 'plain');
  const dir = join(prefix, 'share', 'jupyter', 'kernels', 'plain-tslab');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kernel.json'), JSON.stringify({ argv: [process.execPath, TSLAB_BIN, 'kernel', '--config-path', '{connection_file}'], display_name: 'plain tslab', language: 'typescript' }));
  const run = await runSuite(prefix, 'plain-tslab');
  expect(run.code).not.toBe(0);
  expect(run.results.get('test_kernel_info')).toMatch(/FAIL|ERROR/);
  expect(run.results.get('test_error')).toMatch(/FAIL|ERROR/);
  expect(run.results.get('test_execute_stdout')).toBe('ok');
});
