/**
 * tslab 1.0.22 type-checks notebook cells with its own TypeScript 5.0, so the
 * declarations modeldeck ships must compile there, not only under the 5.9 we
 * build with.
 */
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTmpDir } from './helpers/tmpdir';

const root = join(__dirname, '..');
const tmp = useTmpDir();

/** lib/widget is the browser bundle's build, not loaded by Node or tslab. */
const BROWSER_BUILD = join(root, 'lib', 'widget');

function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === BROWSER_BUILD ? [] : declarations(path);
    return e.name.endsWith('.d.ts') ? [path] : [];
  });
}

test("every shipped declaration type-checks with tslab's TypeScript 5.0", async () => {
  const files = declarations(join(root, 'lib'));
  expect(files.length).toBeGreaterThan(10);
  const check = join(tmp.path, 'check.ts');
  const imports = files.map((f, i) => `import * as m${i} from ${JSON.stringify(f.replace(/\.d\.ts$/, ''))};\nvoid m${i};`);
  writeFileSync(check, imports.join('\n') + '\n');
  const tsc = require.resolve('@tslab/typescript-for-tslab/lib/tsc.js');
  const version = require('@tslab/typescript-for-tslab/package.json').version as string;
  expect(version).toMatch(/^5\.0\./);
  const args = [tsc, '--noEmit', '--strict', '--target', 'es2020', '--module', 'commonjs', '--moduleResolution', 'node', '--types', 'node', '--esModuleInterop', '--outDir', tmp.path, check];
  const result = await new Promise<{ code: number; out: string }>((resolve) =>
    execFile(process.execPath, args, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr })),
  );
  expect(result.out).toBe('');
  expect(result.code).toBe(0);
});
