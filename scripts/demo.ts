/**
 * `npm run demo`: what modeldeck does today, on a sample library made on the
 * spot, against a fake Civitai on 127.0.0.1 (the real one is never contacted).
 *
 * It runs the real `modeldeck` command, as a user would in a `!` cell:
 *   1. hash every file (one read each, all six Civitai hashes);
 *   2. probe every file (kind, base model, embedded AutoV3; no hashing);
 *   3. look files up on Civitai: by file, by the AutoV3 a LoRA carries in its
 *      header, by a pasted URL, and a file Civitai does not know.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCivitai } from '../tests/fake-civitai';
import { writeSampleLibrary } from './sample-library';

const root = join(__dirname, '..', '..', '..');
const bin = join(root, 'bin', 'modeldeck.js');

/** Runs the command in a child process; asynchronously, since the fake Civitai answers from this one. */
function modeldeck(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  console.log(`\n$ modeldeck ${args.map((a) => (a.startsWith(root) ? a.slice(root.length + 1) : a)).join(' ')}`);
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

async function main(): Promise<void> {
  const library = join(root, '.demo', 'models');
  const files = writeSampleLibrary(library);
  const paths = Object.values(files).map((f) => f.path);
  console.log(`Sample library: ${paths.length} files under .demo/models`);

  console.log('\n== 1. Hashes, from one read of each file (the broken download is reported, the rest go on)');
  await modeldeck(['hash', '--hashes', 'all', ...paths]);

  console.log('\n== 2. What each file is, from its header alone (the .ckpt pickle is never opened)');
  await modeldeck(['probe', ...paths]);

  const fake = await new FakeCivitai({ fixturesDir: join(root, 'tests', 'fixtures', 'civitai') }).start();
  const cache = mkdtempSync(join(tmpdir(), 'modeldeck-demo-cache-'));
  const env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: cache };
  try {
    const detail = files['Lora/add_detail.safetensors'];
    fake.addVersion({
      modelName: 'Detail Booster',
      name: 'v1.0',
      baseModel: 'SD 1.5',
      trainedWords: ['add_detail'],
      files: [{ name: 'add_detail.safetensors', hashes: { SHA256: detail.sha256 }, sizeKB: detail.bytes.length / 1024 }],
    });
    const xl = files['Lora/pony_style_xl.safetensors'];
    const xlHeaderHash = /"sshs_model_hash":"([0-9a-f]{64})"/.exec(xl.bytes.toString('latin1', 0, 2048))![1];
    fake.addVersion({
      modelName: 'Pony Style XL',
      name: 'v2',
      baseModel: 'Pony',
      trainedWords: ['pony style'],
      files: [{ name: 'pony_style_xl.safetensors', hashes: { SHA256: xl.sha256, AutoV3: xlHeaderHash.slice(0, 12) }, sizeKB: xl.bytes.length / 1024 }],
    });

    console.log(`\n== 3. Identify on Civitai (a fake Civitai at ${fake.url})`);
    await modeldeck(['lookup', detail.path], env);
    console.log('\n-- the SDXL LoRA by the AutoV3 in its header, before any hashing:');
    await modeldeck(['lookup', xlHeaderHash.slice(0, 12).toUpperCase()], env);
    console.log('\n-- a pasted Civitai URL (real 2023 data from the fixtures):');
    await modeldeck(['lookup', 'https://civitai.com/models/7808/easynegative'], env);
    console.log('\n-- a file Civitai does not know gets a one-line answer and exit code 1:');
    await modeldeck(['lookup', files['embeddings/bad_hands.safetensors'].path], env);
    console.log('\n-- asked again, the answer comes from the on-disk cache (no request):');
    const before = fake.counts();
    await modeldeck(['lookup', detail.path], env);
    const asked = Object.values(fake.counts()).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
    console.log(`requests to the fake Civitai for that lookup: ${asked}`);
    console.log(`\nrequests to the fake Civitai, by endpoint: ${JSON.stringify(fake.counts())}`);
  } finally {
    await fake.stop();
    rmSync(cache, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
