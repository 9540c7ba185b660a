/**
 * Security item 6: a FIFO (named pipe) planted as a sidecar or a preview. Opening
 * one for reading blocks until a writer appears, so it used to hang the scan and
 * tie up one of libuv's four fs threads in the kernel. Real FIFOs (mkfifo) on disk;
 * each check is run in a separate process that must finish on its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Library } from '../../src/core/library';
import { readPreview } from '../../src/kernel/widget/previews';
import { FakeCivitai } from '../fake-civitai';
import { runCli } from '../helpers/cli';
import { loraBytes, register, writeModel } from '../helpers/library';
import { useTmpDir } from '../helpers/tmpdir';

const tmp = useTmpDir('mdk-sec-fifo-');
let fake: FakeCivitai;
beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
});
afterAll(() => fake.stop());

test('FIFO sidecars (.civitai.info, .json, .metadata.json) are refused unopened; the scan identifies the model and ends', async () => {
  const root = join(tmp.path, 'lib');
  const a = writeModel(root, 'Lora/a.safetensors', loraBytes());
  register(fake, a, { name: 'Piped', images: 0 });
  for (const name of ['a.civitai.info', 'a.json', 'a.metadata.json']) execFileSync('mkfifo', [join(root, 'Lora', name)]);
  const r = await runCli(['scan', '--json', root], { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache') });
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report.identified).toBe(1);
  const messages = report.warnings.map((w: { message: string }) => w.message);
  for (const name of ['a.civitai.info', 'a.json', 'a.metadata.json']) {
    expect(messages).toContain(`${name}: a FIFO (named pipe), not a regular file, ignored`);
  }
});

test('a FIFO planted under a model name is reported, not opened', async () => {
  const root = join(tmp.path, 'lib2');
  mkdirSync(join(root, 'Lora'), { recursive: true });
  writeModel(root, 'Lora/real.safetensors', loraBytes());
  const lib = await Library.open([root], { civitai: false });
  try {
    await lib.scan({ offline: true });
    // Swapped in after the scan saw a regular file there (the race a stat-then-open leaves open).
    execFileSync('sh', ['-c', `rm "${join(root, 'Lora/real.safetensors')}" && mkfifo "${join(root, 'Lora/real.safetensors')}"`]);
    const { hashFile } = await import('../../src/core/hash');
    await expect(hashFile(join(root, 'Lora/real.safetensors'))).rejects.toThrow(/a FIFO \(named pipe\), not a regular file/);
  } finally {
    await lib.close();
  }
});

test("the kernel's preview reader refuses a FIFO preview instead of blocking", async () => {
  const root = join(tmp.path, 'lib3');
  const m = writeModel(root, 'Lora/p.safetensors', loraBytes());
  execFileSync('mkfifo', [join(root, 'Lora', 'p.preview.png')]);
  const lib = await Library.open([root], { civitai: false });
  try {
    await lib.scan({ offline: true });
    const model = { ...lib.get(m.rel)!, preview: 'Lora/p.preview.png' };
    expect(await readPreview(model)).toEqual({ ok: false, error: 'preview refused (a FIFO (named pipe), not a regular file)' });
  } finally {
    await lib.close();
  }
});
