// `modeldeck updates ROOT --download`: the newer version goes through `get` into the folder of the version it updates;
// `get` refuses a file already in the library (by SHA256) and says where it is.
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { FakeStorage } from './fake-civitai/storage';
import { runCli } from './helpers/cli';
import { loraBytes, sha256, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir();
let fake: FakeCivitai;
let storage: FakeStorage;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  storage = await new FakeStorage().start();
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  fake.storage = storage;
  env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_ALLOWED_ORIGINS: storage.url, MODELDECK_CACHE_DIR: join(tmp.path, 'cache'), MODELDECK_DOWNLOAD_RETRY_MS: '20' };
});
afterAll(async () => {
  await Promise.all([fake?.stop(), storage?.stop()]);
});

test('updates --download puts the new version beside the one it updates, verified and indexed', async () => {
  const root = join(tmp.path, 'lib');
  mkdirSync(root);
  const old = writeModel(root, 'models/Lora/styles/ink v1.safetensors', loraBytes());
  const { modelId } = fake.addVersion({ modelName: 'Ink', name: 'v1', baseModel: 'SD 1.5', publishedAt: '2026-01-01T00:00:00.000Z', files: [{ name: 'ink v1.safetensors', hashes: { SHA256: old.SHA256 }, primary: true }] });
  const scan = await runCli(['scan', '--no-previews', root], env);
  expect(scan.code).toBe(0);
  const newer = loraBytes();
  const v2 = fake.addVersion({ modelId, name: 'v2', baseModel: 'SD 1.5', publishedAt: '2026-02-01T00:00:00.000Z', files: [{ name: 'ink v2.safetensors', hashes: { SHA256: sha256(newer) }, sizeKB: newer.length / 1024, primary: true, content: newer }] });

  // The scan cached the model a day; the new version appeared since.
  const r = await runCli(['updates', '--refresh', '--download', root], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const placed = join(root, 'models/Lora/styles/ink v2.safetensors');
  expect(r.stdout).toContain(`downloaded Ink — v2: ${placed}`);
  expect(readFileSync(placed).equals(newer)).toBe(true);
  const info = JSON.parse((await runCli(['info', '--json', placed], env)).stdout);
  expect(info).toMatchObject({ hashes: { SHA256: sha256(newer) }, civitai: { status: 'found', link: { versionId: v2.versionId } } });

  // Nothing newer now; and get of the version already present downloads nothing.
  const again = await runCli(['updates', '--download', root], env);
  expect(again.stdout).toMatch(/^0 update\(s\)/m);
  const served = storage.bytesServed;
  const get = await runCli(['get', '--to', root, String(v2.versionId)], env);
  expect(get.code).toBe(0);
  expect(get.stdout).toContain(`already in the library: ${placed}`);
  expect(storage.bytesServed).toBe(served);
  expect(existsSync(join(root, 'models/Lora/ink v2.safetensors'))).toBe(false);
});
