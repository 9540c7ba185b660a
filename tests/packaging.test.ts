/**
 * What `npm run build` (run by `pretest`) leaves for the two front ends: the
 * AMD bundle Colab and the html-manager load, and the JupyterLab 4 prebuilt
 * extension with what JupyterLab reads to load it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const pkg = require('../package.json');

test('dist/index.js is an AMD module named modeldeck that leaves @jupyter-widgets/base to the page', () => {
  const bundle = readFileSync(join(root, 'dist', 'index.js'), 'utf8');
  // A licence comment may come first; then the named AMD define, with the base package as a
  // dependency the page provides (a bundled copy would not be listed there).
  expect(bundle).toMatch(/^(\/\*[^]*?\*\/\s*)?define\("modeldeck",\["@jupyter-widgets\/base"\]/);
});

test('labextension/ is a JupyterLab 4 prebuilt extension of this version, with its entry file and install.json', () => {
  const dir = join(root, 'labextension');
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  expect(meta.name).toBe(pkg.name);
  expect(meta.version).toBe(pkg.version);
  const build = meta.jupyterlab._build;
  expect(build).toMatchObject({ extension: './extension', style: './style' });
  expect(existsSync(join(dir, build.load))).toBe(true);
  // The widget base classes come from JupyterLab, never a second copy.
  expect(meta.jupyterlab.sharedPackages['@jupyter-widgets/base']).toEqual({ bundled: false, singleton: true });
  expect(JSON.parse(readFileSync(join(dir, 'install.json'), 'utf8')).packageName).toBe(pkg.name);
});

test('dist/esm/index.js is one self-contained ES module for anywidget: a default export, no imports left', () => {
  const bundle = readFileSync(join(root, 'dist', 'esm', 'index.js'), 'utf8');
  expect(bundle).toMatch(/export\s*\{[^}]*\bas default\b[^}]*\}\s*;?\s*$/);
  // Imported from a blob: URL, it can resolve no bare or relative specifier.
  expect(bundle).not.toMatch(/(^|[;\s])import\s*[\w{*"']/);
  expect(bundle).not.toMatch(/\bimport\(/);
  expect(bundle).not.toMatch(/\brequire\(/);
});

test('the npm package carries the Python package and the stdio host it starts', () => {
  const files: string[] = require('../package.json').files;
  expect(files).toContain('python/');
  for (const f of ['python/modeldeck/__init__.py', 'python/modeldeck/_frames.py', 'python/pyproject.toml', 'lib/hosts/stdio/main.js', 'dist/esm/index.js', 'css/widget.css']) {
    expect(existsSync(join(root, f))).toBe(true);
  }
});
