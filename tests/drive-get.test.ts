// `modeldeck get` writing into a simulated Google Drive mount (real FUSE, tests/drive-mount) whose
// writes fail for a moment (ENOTCONN, EIO, ESTALE, some after storing half their bytes): the
// download goes on, on a descriptor opened afresh, and ends verified and identified; a mount that
// keeps failing ends in one line with the .part kept, and `get` again completes it.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeCivitai } from './fake-civitai';
import type { FakeStorage } from './fake-civitai/storage';
import { runCli } from './helpers/cli';
import { startDownloadFakes, type DownloadFakes } from './helpers/download-fakes';
import { mountDrive, type DriveMount } from './helpers/drive-mount';
import { loraBytes, sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-drive-get-');
let fakes: DownloadFakes;
let fake: FakeCivitai;
let storage: FakeStorage;
let drive: DriveMount;
let env: NodeJS.ProcessEnv;
let serial = 0;

beforeAll(async () => {
  fakes = await startDownloadFakes(tmp.path);
  ({ fake, storage } = fakes);
  drive = await mountDrive({ attrTimeout: 0.1 });
  await drive.configure({ refuseLinks: true }); // as Drive's mount does: the final rename is a rename
  env = { ...fakes.env, MODELDECK_IO_RETRY_MS: '20' };
});
afterAll(async () => {
  await drive?.unmount();
  await fakes?.stop();
});
afterEach(async () => {
  await drive?.configure({ writeFaults: [] });
});

function addLora(name: string, size: number) {
  const bytes = loraBytes({}, size);
  const ids = fake.addVersion({ modelName: `Model ${name}`, type: 'LORA', baseModel: 'SD 1.5', files: [{ name, hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
  return { bytes, sha: sha256(bytes), ...ids };
}

/** A library folder on the mount: its path through the mount and in the source folder. */
function newRoot(): { root: string; source: string } {
  const name = `lib-${++serial}`;
  mkdirSync(join(drive.source, name), { recursive: true });
  return { root: join(drive.mountpoint, name), source: join(drive.source, name) };
}

const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('writes of the .part failing for a moment: the download completes, verified, identified, written whole', async () => {
  const { root, source } = newRoot();
  const m = addLora('drive lora.safetensors', 12 * 1024 * 1024);
  await drive.reset();
  await drive.configure({
    writeFaults: [
      { op: 'write', endsWith: '.safetensors.part', errno: 'ENOTCONN', times: 2, partial: true },
      { op: 'write', endsWith: '.safetensors.part', errno: 'EIO', times: 1 },
      { op: 'write', endsWith: '.safetensors.part', errno: 'ESTALE', times: 1, partial: true },
      // The verified .part renamed to its final name, and the sidecars' renames.
      { op: 'rename', endsWith: '/drive lora.safetensors', errno: 'ENOTCONN', times: 2 },
      { op: 'rename', endsWith: '.civitai.info', errno: 'EIO', times: 1 },
    ],
  });
  const got = await runCli(['get', '--json', '--connections', '2', '--to', root, String(m.versionId)], env);
  expect(got.stderr).toBe('');
  expect(got.code).toBe(0);
  const counters = await drive.counters();
  // Every fault was met (so the download really went through them).
  expect(counters.writeFaults.map((f) => f.errno).sort()).toEqual(['EIO', 'EIO', 'ENOTCONN', 'ENOTCONN', 'ENOTCONN', 'ENOTCONN', 'ESTALE']);
  // Written on descriptors opened afresh after faults: the create, the first open, then reopens.
  // (The hash's read-back of the .part comes from the page cache: the mount saw no read of it.)
  expect(counters.files[`/${root.split('/').pop()}/models/Lora/drive lora.safetensors.part`].opens).toBeGreaterThanOrEqual(3);
  const done = lines(got.stdout).find((l) => l.event === 'done');
  expect(done).toMatchObject({ status: 'downloaded', verifiedBy: 'civitai' });
  expect(done.civitai).toMatchObject({ status: 'found' });
  // The file in the real folder behind the mount: whole, under its final name, no .part left.
  const placed = join(source, 'models/Lora/drive lora.safetensors');
  expect(readFileSync(placed).equals(m.bytes)).toBe(true);
  expect(readdirSync(join(source, 'models/Lora')).filter((n) => n.includes('.part'))).toEqual([]);
});

test('a mount that keeps failing: one line, the .part kept, no final file; get again completes it', async () => {
  const { root, source } = newRoot();
  const m = addLora('flaky lora.safetensors', 12 * 1024 * 1024);
  await drive.reset();
  await drive.configure({ writeFaults: [{ op: 'write', endsWith: '.safetensors.part', errno: 'ENOTCONN', times: 1000 }] });
  const failed = await runCli(['get', '--to', root, String(m.versionId)], { ...env, MODELDECK_IO_TRIES: '3' });
  expect(failed.code).not.toBe(0);
  const message = failed.stderr.trim();
  expect(message.split('\n')).toHaveLength(1);
  expect(message).toMatch(/^modeldeck: writing flaky lora\.safetensors\.part: the folder's mount kept failing \(ENOTCONN, 3 tries\); the \.part is kept: .*run get again to resume$/);
  const folder = join(source, 'models/Lora');
  expect(existsSync(join(folder, 'flaky lora.safetensors'))).toBe(false);
  expect(existsSync(join(folder, 'flaky lora.safetensors.part'))).toBe(true);

  await drive.configure({ writeFaults: [] });
  const again = await runCli(['get', '--json', '--to', root, String(m.versionId)], env);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  expect(readFileSync(join(folder, 'flaky lora.safetensors')).equals(m.bytes)).toBe(true);
});
