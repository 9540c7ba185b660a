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
