/**
 * Security items 7 and 11. Terminal escapes in what Civitai answers (names,
 * trained words, file names) and in file names on disk must not reach the
 * terminal from any command; and `info`/`link` take a path relative to the
 * current folder, as every command line does.
 */
import { join } from 'node:path';
import { FakeCivitai } from '../fake-civitai';
import { runCli } from '../helpers/cli';
import { loraBytes, register, writeModel } from '../helpers/library';
import { useTmpDir } from '../helpers/tmpdir';

const tmp = useTmpDir('mdk-sec-term-');
let fake: FakeCivitai;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache') };
});
afterAll(() => fake.stop());

/** OSC (set the window title, hyperlinks), clear screen, cursor movement, a C1 CSI, BEL, a right-to-left override. */
const EVIL = '\u001b]0;pwned\u0007\u001b[2J\u001b[1;1H\u009b31m\u202eevil';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test('no control character from Civitai or a file name reaches stdout or stderr of lookup, scan, ls, info, link', async () => {
  const root = join(tmp.path, 'lib');
  const m = writeModel(root, `Lora/name${EVIL}.safetensors`, loraBytes());
  const { versionId } = register(fake, m, { name: `Model ${EVIL}`, trainedWords: [`word${EVIL}`], baseModel: `SD 1.5${EVIL}`, images: 0 });

  const runs = [
    await runCli(['lookup', m.SHA256], env),
    await runCli(['lookup', '--json', m.SHA256], env),
    await runCli(['lookup', `https://civitai.com/models/1?modelVersionId=${versionId}`], env),
    await runCli(['scan', root], env),
    await runCli(['scan', '--json', root], env),
    await runCli(['ls', root], env),
    await runCli(['ls', '--json', root], env),
    await runCli(['info', m.path], env),
    await runCli(['info', '--json', m.path], env),
    await runCli(['link', m.path, `urn:air:sd1:lora:civitai:1@${versionId}`], env),
    await runCli(['hash', m.path], env),
  ];
  for (const r of runs) {
    expect(r.stdout + r.stderr).not.toMatch(CONTROL);
  }
  // The text is still there for the user to read, only without the controls.
  expect(runs[0].stdout).toContain('Model ]0;pwned[2J[1;1H31mevil');
  expect(JSON.parse(runs[1].stdout).modelName).toBe(`Model ${EVIL}`);
  expect(runs.map((r) => r.code)).toEqual(Array(runs.length).fill(0));
});

test('info and link take a path relative to the current folder', async () => {
  const root = join(tmp.path, 'rel');
  const m = writeModel(root, 'models/Lora/rel.safetensors', loraBytes());
  const scan = await runCli(['scan', '--offline', root], env);
  expect(scan.code).toBe(0);
  const info = await runCli(['info', 'Lora/rel.safetensors'], env, join(root, 'models'));
  expect(info.stderr).toBe('');
  expect(info.stdout.split('\n')[0]).toBe(m.path);
  const fromAbove = await runCli(['info', '--json', 'rel/models/Lora/rel.safetensors'], env, tmp.path);
  expect(JSON.parse(fromAbove.stdout).path).toBe('models/Lora/rel.safetensors');
  // A path that only exists relative to the root (not to the current folder) is not silently taken.
  const wrong = await runCli(['info', 'models/Lora/rel.safetensors'], env, join(root, 'models'));
  expect(wrong.code).toBe(1);
});
