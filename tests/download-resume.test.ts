// kill -9 of a real `modeldeck get` at about half of a large file, then `get` again: it completes, verifies, and the
// resumed run asked the storage host for at most 5% of the file beyond what was missing. The bytes the killed process
// never read (its sockets' buffers: megabytes per connection on loopback, more when the machine is loaded and the
// reader lags) are not counted: no client can keep what it never received, and they depend on the machine, not on the
// resume. The whole-file figure (1 GiB, 1.06% re-fetched) is bench:download's.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { FakeStorage } from './fake-civitai/storage';
import { BIN, runCli } from './helpers/cli';
import { loraBytes, sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir();
let fake: FakeCivitai;
let storage: FakeStorage;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  storage = await new FakeStorage().start();
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  fake.storage = storage;
  env = {
    CIVITAI_BASE_URL: fake.url,
    CIVITAI_FALLBACK_BASE_URLS: '',
    MODELDECK_ALLOWED_ORIGINS: storage.url,
    MODELDECK_CACHE_DIR: join(tmp.path, 'cache'),
    MODELDECK_DOWNLOAD_RETRY_MS: '20',
  };
});
afterAll(async () => {
  await Promise.all([fake?.stop(), storage?.stop()]);
});

test('kill -9 at about half, then get again: completes, verifies, at most 5% re-fetched', async () => {
  const root = join(tmp.path, 'lib');
  mkdirSync(root);
  const bytes = loraBytes({}, 160 * 1024 * 1024);
  const ids = fake.addVersion({ modelName: 'Big', type: 'LORA', baseModel: 'SD 1.5', files: [{ name: 'big.safetensors', hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
  // Capped per connection, so the process is killed mid-file whatever the machine's speed.
  storage.faults.bytesPerSecond = 20 * 1024 * 1024;

  const child = spawn(process.execPath, [BIN, 'get', '--json', '--no-previews', '--connections', '4', '--to', root, String(ids.versionId)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let killedAt = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (line.event === 'progress' && line.received >= bytes.length / 2 && !killedAt) {
            killedAt = line.received;
            child.kill('SIGKILL');
          }
        }
      });
      child.on('exit', () => (killedAt ? resolve() : reject(new Error('get ended before half of the file'))));
    });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  const final = join(root, 'models/Lora/big.safetensors');
  expect(existsSync(final)).toBe(false);
  expect(existsSync(`${final}.part`)).toBe(true);

  storage.faults = {};
  const servedBefore = storage.bytesServed;
  const again = await runCli(['get', '--json', '--no-previews', '--to', root, String(ids.versionId)], env);
  expect(again.stderr).toBe('');
  const done = again.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.event === 'done');
  expect(done).toMatchObject({ status: 'downloaded', verifiedBy: 'civitai', hashes: { SHA256: sha256(bytes) } });
  expect(done.resumedFrom).toBeGreaterThan(bytes.length / 3);
  expect(readFileSync(final).equals(bytes)).toBe(true);
  const missing = bytes.length - done.resumedFrom;
  expect(storage.bytesServed - servedBefore).toBeGreaterThanOrEqual(missing);
  expect(storage.bytesServed - servedBefore - missing).toBeLessThanOrEqual(bytes.length * 0.05);
}, 180_000);
