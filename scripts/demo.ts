/**
 * `npm run demo`: the whole job on this machine, with no network. It makes a
 * small model library in a temporary folder, starts a fake Civitai on
 * 127.0.0.1 (the one the tests use; the real Civitai is never contacted), and
 * runs the real `modeldeck` command on it, as a user would in a `!` cell.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCivitai } from '../tests/fake-civitai';
import { FakeStorage } from '../tests/fake-civitai/storage';
import { loraBytes, sha256 } from '../tests/helpers/library';
import { registerSampleModels, writeSampleLibrary } from './sample-library';

const repo = join(__dirname, '..', '..', '..');
const bin = join(repo, 'bin', 'modeldeck.js');

/** Runs the command in a child process; asynchronously, since the fake Civitai answers from this one. */
function modeldeck(args: string[], env: NodeJS.ProcessEnv, shown: (a: string) => string): Promise<number> {
  console.log(`\n$ modeldeck ${args.map(shown).join(' ')}`);
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'modeldeck-demo-'));
  const library = join(work, 'models');
  const shown = (a: string) => (a.startsWith(work) ? `$DEMO${a.slice(work.length)}` : a);
  const files = writeSampleLibrary(library);
  const fake = await new FakeCivitai({ fixturesDir: join(repo, 'tests', 'fixtures', 'civitai') }).start();
  // Civitai's download storage (signed URLs on another host), faked on another port; allowed as a local mirror would be.
  const storage = await new FakeStorage().start();
  fake.storage = storage;
  const env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(work, 'cache'), MODELDECK_ALLOWED_ORIGINS: storage.url };
  try {
    registerSampleModels(fake, files);
    const detail = files['Lora/add_detail.safetensors'];
    console.log(`A sample library of ${Object.keys(files).length} files in $DEMO/models (DEMO=${work}); a fake Civitai at ${fake.url}`);

    console.log('\n== 1. Scan: hash what is new (one read per file), identify in bulk, write sidecars and previews');
    await modeldeck(['scan', library], env, shown);
    console.log('\nFiles beside the LoRAs now (for A1111, Forge, ComfyUI-Lora-Manager, qDiffusion):');
    for (const name of readdirSync(join(library, 'Lora')).sort()) console.log(`  Lora/${name}`);

    console.log('\n== 2. What the library knows');
    await modeldeck(['ls', library], env, shown);
    await modeldeck(['info', detail.path], env, shown);

    console.log('\n== 3. A rescan reads no model bytes and asks Civitai nothing');
    fake.reset();
    await modeldeck(['scan', library], env, shown);
    console.log(`requests to the fake Civitai during the rescan: ${fake.count()}`);

    console.log('\n== 4. Single files: hashes, what a file is, a pasted Civitai URL');
    await modeldeck(['hash', '--hashes', 'all', detail.path], env, shown);
    await modeldeck(['probe', files['Stable-diffusion/old_model.ckpt'].path, files['embeddings/bad_hands.safetensors'].path], env, shown);
    await modeldeck(['lookup', 'https://civitai.com/models/7808/easynegative'], env, shown);

    console.log('\n== 5. Get a model from a pasted link: into the folder for its kind, verified, identified, indexed');
    const bytes = loraBytes({}, 4 * 1024 * 1024);
    const got = fake.addVersion({
      modelName: 'Film Grain',
      name: 'v3',
      type: 'LORA',
      baseModel: 'SDXL 1.0',
      trainedWords: ['film grain'],
      files: [{ name: 'film_grain_xl.safetensors', hashes: { SHA256: sha256(bytes) }, content: bytes, primary: true }],
    });
    const link = `https://civitai.com/models/${got.modelId}`;
    await modeldeck(['get', '--to', library, link], env, shown);
    console.log('\nThe same link again: the file is already in the library, so nothing is downloaded');
    await modeldeck(['get', '--to', library, link], env, shown);
  } finally {
    await Promise.all([fake.stop(), storage.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
