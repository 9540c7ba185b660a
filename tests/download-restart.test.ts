// A `.part` left by an earlier run that no longer fits the server's file: `get` must start over cleanly
// (a changed ETag answers the If-Range with the whole file; saved ranges beyond the file's end get a 416),
// and the stale bytes must not end up in the model.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { FakeStorage } from './fake-civitai/storage';
import { runCli } from './helpers/cli';
import { loraBytes, sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir();
let fake: FakeCivitai;
let storage: FakeStorage;
let env: NodeJS.ProcessEnv;
let n = 0;

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

/** A LoRA on the fake, and a root whose `.part` (+ state) an earlier run is said to have left. */
function setUp(part: Buffer, state: (size: number, key: string) => object) {
  const name = `restart-${++n}.safetensors`;
  const bytes = loraBytes({}, 3 * 1024 * 1024);
  const ids = fake.addVersion({ modelName: `Restart ${n}`, type: 'LORA', baseModel: 'SD 1.5', files: [{ name, hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
  const root = join(tmp.path, `lib${n}`);
  mkdirSync(join(root, 'models/Lora'), { recursive: true });
  const target = join(root, 'models/Lora', name);
  writeFileSync(`${target}.part`, part);
  writeFileSync(`${target}.part.json`, JSON.stringify(state(bytes.length, `civitai:${ids.versionId}:${ids.fileIds[0]}`)));
  return { bytes, ids, root, target };
}

test('a changed ETag: the If-Range gets the whole file, the old bytes are dropped, the model verifies', async () => {
  const stale = Buffer.alloc(1024 * 1024, 0xab);
  const s = setUp(stale, (size, key) => ({ v: 1, key, size, etag: '"an-older-file"', done: [[0, stale.length]] }));
  const firstRequest = storage.requests.length;
  const served = storage.bytesServed;
  const r = await runCli(['get', '--json', '--connections', '2', '--to', s.root, String(s.ids.versionId)], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const asked = storage.requests.slice(firstRequest);
  // The resume asked for the rest, conditional on the old ETag, and the server answered with the whole file.
  expect(asked[0]).toMatchObject({ range: `bytes=${stale.length}-${Math.min(s.bytes.length, stale.length + 4 * 1024 * 1024) - 1}`, ifRange: '"an-older-file"', status: 200 });
  expect(readFileSync(s.target).equals(s.bytes)).toBe(true);
  const done = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(done).toMatchObject({ event: 'done', status: 'downloaded', resumedFrom: 0, verifiedBy: 'civitai' });
  expect(storage.bytesServed - served).toBe(s.bytes.length);
  expect(existsSync(`${s.target}.part`)).toBe(false);
  expect(existsSync(`${s.target}.part.json`)).toBe(false);
});

test('saved ranges past the end of the file: a 416, then a clean start without a range', async () => {
  const s = setUp(Buffer.alloc(0), (size, key) => ({ v: 1, key, size: size + 1024 * 1024, done: [[0, size]] }));
  // The .part holds as many (wrong) bytes as the state claims.
  writeFileSync(`${s.target}.part`, Buffer.alloc(s.bytes.length, 0x11));
  const firstRequest = storage.requests.length;
  const r = await runCli(['get', '--json', '--to', s.root, String(s.ids.versionId)], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const asked = storage.requests.slice(firstRequest);
  expect(asked[0]).toMatchObject({ range: expect.stringMatching(new RegExp(`^bytes=${s.bytes.length}-`)), status: 416 });
  expect(asked[1]).toMatchObject({ range: undefined, status: 200 });
  expect(readFileSync(s.target).equals(s.bytes)).toBe(true);
  expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ event: 'done', status: 'downloaded', resumedFrom: 0, verifiedBy: 'civitai' });
});
