/**
 * notebooks/quickstart.ipynb executed top to bottom by Jupyter itself (Debian's
 * nbconvert/nbclient, installed by .ci/run), with the `modeldeck` kernel that
 * `modeldeck kernel install` writes, against the fake Civitai.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { runCli } from './helpers/cli';
import { loraBytes, register, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const repo = join(__dirname, '..');
const tmp = useTmpDir();
let fake: FakeCivitai;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
});
afterAll(() => fake.stop());

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

test('quickstart.ipynb runs from top to bottom in the modeldeck kernel', async () => {
  const jupyterDirs = join(tmp.path, 'jupyter');
  const install = await runCli(['kernel', 'install', '--prefix', jupyterDirs]);
  expect(install.code).toBe(0);
  // A user's project with modeldeck installed, the notebook in it, and a library of models.
  const project = join(tmp.path, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(project, 'node_modules', 'modeldeck'));
  copyFileSync(join(repo, 'notebooks', 'quickstart.ipynb'), join(project, 'quickstart.ipynb'));
  const library = join(tmp.path, 'models');
  const known = writeModel(library, 'Lora/detail.safetensors', loraBytes());
  writeModel(library, 'Lora/mine.safetensors', loraBytes());
  register(fake, known, { name: 'Notebook Detail', trainedWords: ['nb_trigger'] });

  const env = {
    ...process.env,
    JUPYTER_PATH: join(jupyterDirs, 'share', 'jupyter'),
    JUPYTER_CONFIG_DIR: join(tmp.path, 'jupyter-config'),
    JUPYTER_DATA_DIR: join(tmp.path, 'jupyter-data'),
    JUPYTER_RUNTIME_DIR: join(tmp.path, 'jupyter-runtime'),
    MODELDECK_LIBRARY: library,
    CIVITAI_BASE_URL: fake.url,
    CIVITAI_FALLBACK_BASE_URLS: '',
    MODELDECK_CACHE_DIR: join(tmp.path, 'cache'),
  };
  const args = ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=modeldeck', '--ExecutePreprocessor.timeout=600', '--ExecutePreprocessor.startup_timeout=300', '--output', 'executed.ipynb', 'quickstart.ipynb'];
  const run = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('jupyter', args, { cwd: project, env, maxBuffer: 16 << 20 }, (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
  if (run.code !== 0 && /No such file|ENOENT|not found/.test(run.stderr + '')) {
    throw new Error('jupyter nbconvert is not installed: .ci/run installs jupyter-nbconvert and python3-nbclient');
  }
  expect(run.stderr).not.toMatch(/Traceback|CellExecutionError/);
  expect(run.code).toBe(0);

  const executed = JSON.parse(readFileSync(join(project, 'executed.ipynb'), 'utf8'));
  const outputs: Output[][] = executed.cells.filter((c: { cell_type: string }) => c.cell_type === 'code').map((c: { outputs: Output[] }) => c.outputs);
  expect(outputs.flat().filter((o) => o.output_type === 'error')).toEqual([]);
  const text = (os: Output[]) => os.map((o) => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? ''))).join('');
  // The show() cell displays the widget.
  expect(outputs[1].some((o) => o.output_type === 'display_data' && o.data?.['application/vnd.jupyter.widget-view+json'])).toBe(true);
  expect(text(outputs[2])).toContain('2 files: 1 on Civitai, 1 not, 2 hashed, 0 warnings');
  expect(text(outputs[3])).toContain('Notebook Detail');
  expect(text(outputs[3])).toContain('nb_trigger');
  expect(text(outputs[4])).toMatch(/SHA256: '[0-9A-F]{64}'/);
});

test('colab.ipynb runs from its setup cell to the end in a Python kernel (the Colab-only steps skipped)', async () => {
  // A project where `npm install modeldeck` already happened, and a library of models.
  const project = join(tmp.path, 'colab-project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(project, 'node_modules', 'modeldeck'));
  copyFileSync(join(repo, 'notebooks', 'colab.ipynb'), join(project, 'colab.ipynb'));
  const library = join(tmp.path, 'colab-models');
  const known = writeModel(library, 'Lora/colab-known.safetensors', loraBytes());
  writeModel(library, 'Lora/colab-mine.safetensors', loraBytes());
  register(fake, known, { name: 'Colab Known' });
  const source = readFileSync(join(repo, 'notebooks', 'colab.ipynb'), 'utf8');
  expect(source).not.toMatch(/stable-diffusion-webui|sd-webui/);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_CONFIG_DIR: join(tmp.path, 'colab-jupyter-config'),
    JUPYTER_DATA_DIR: join(tmp.path, 'colab-jupyter-data'),
    JUPYTER_RUNTIME_DIR: join(tmp.path, 'colab-jupyter-runtime'),
    MODELDECK_PROJECT: project,
    MODELDECK_MODELS: library,
    CIVITAI_BASE_URL: fake.url,
    CIVITAI_FALLBACK_BASE_URLS: '',
    CIVITAI_TOKEN: '',
    MODELDECK_CACHE_DIR: join(tmp.path, 'colab-cache'),
  };
  delete env.COLAB_RELEASE_TAG;
  const args = ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=python3', '--ExecutePreprocessor.timeout=600', '--ExecutePreprocessor.startup_timeout=300', '--output', 'executed.ipynb', 'colab.ipynb'];
  const run = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('jupyter', args, { cwd: project, env, maxBuffer: 16 << 20 }, (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr })),
  );
  expect(run.stderr).not.toMatch(/Traceback|CellExecutionError/);
  expect(run.code).toBe(0);
  const executed = JSON.parse(readFileSync(join(project, 'executed.ipynb'), 'utf8'));
  const byId = (id: string): Output[] => executed.cells.find((c: { id: string }) => c.id === id).outputs;
  const text = (os: Output[]) => os.map((o) => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? ''))).join('');
  expect(executed.cells.flatMap((c: { outputs?: Output[] }) => c.outputs ?? []).filter((o: Output) => o.output_type === 'error')).toEqual([]);
  expect(text(byId('setup'))).toMatch(/modeldeck \S+ ready/);
  expect(text(byId('setup'))).toContain('Civitai token: not set');
  expect(byId('show').some((o) => o.output_type === 'display_data' && (o.data?.['application/vnd.jupyter.widget-view+json'] as { model_id?: string })?.model_id)).toBe(true);
  expect(text(byId('scan'))).toContain('2 files: 1 on Civitai, 1 not, 2 hashed');
  expect(text(byId('models'))).toContain('Colab Known');
  expect(text(byId('cli'))).toContain('colab-known.safetensors');
});
