/**
 * `npm run demo:panel`: the models panel in a browser tab, in one command.
 * Makes the demo's sample library in a temporary folder, starts the fake
 * Civitai on 127.0.0.1 (the real one is never contacted) and runs
 * `modeldeck serve` on the library; open the printed URL and press Scan.
 * Ctrl-C stops the server and removes the folder. Extra arguments go to
 * `modeldeck serve` (e.g. `npm run demo:panel -- --port 9000 --read-only`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCivitai } from '../tests/fake-civitai';
import { registerSampleModels, writeSampleLibrary } from './sample-library';

const repo = join(__dirname, '..', '..', '..');
const bin = join(repo, 'bin', 'modeldeck.js');

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'modeldeck-demo-panel-'));
  const library = join(work, 'models');
  const files = writeSampleLibrary(library);
  const fake = await new FakeCivitai({ fixturesDir: join(repo, 'tests', 'fixtures', 'civitai') }).start();
  try {
    registerSampleModels(fake, files);
    console.log(`A sample library of ${Object.keys(files).length} files in a temporary folder; a fake Civitai at ${fake.url}`);
    const env = { ...process.env, CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(work, 'cache') };
    const child = spawn(process.execPath, [bin, 'serve', library, ...process.argv.slice(2)], { stdio: 'inherit', env });
    // Ctrl-C reaches the child from the terminal too; this covers a SIGINT sent to this process alone.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    process.exitCode = code;
  } finally {
    await fake.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
