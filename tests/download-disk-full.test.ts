// A download that fills the disk: the library root is on a real FUSE mount (tests/drive-mount) whose writes to the
// `.part` fail with a real ENOSPC once it reaches 1 MiB (the write crossing that point stores what fits and returns
// a short count, as write(2) does on a full disk). `get` over real HTTP from the fake storage must say so in one
// line naming the `.part`, keep it resumable, give no file its final name, and record nothing in the index; once
// space is free, `get` again continues it with a Range and the file verifies.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeCivitai } from './fake-civitai';
import type { FakeStorage } from './fake-civitai/storage';
import { runCli } from './helpers/cli';
import { startDownloadFakes, type DownloadFakes } from './helpers/download-fakes';
import { mountDrive, type DriveMount } from './helpers/drive-mount';
import { loraBytes, sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-disk-full-');
let fakes: DownloadFakes;
let fake: FakeCivitai;
let storage: FakeStorage;
let drive: DriveMount;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  fakes = await startDownloadFakes(tmp.path);
  ({ fake, storage } = fakes);
  drive = await mountDrive({ attrTimeout: 0.1 });
  env = fakes.env;
});
afterAll(async () => {
  await drive?.unmount();
  await fakes?.stop();
});

test('ENOSPC mid-download: one line naming the .part, the .part kept, no final file, no index entry; get again resumes to a verified file', async () => {
  const FULL_AT = 1024 * 1024;
  const bytes = loraBytes({}, 3 * 1024 * 1024);
  const name = 'filled.safetensors';
  const { versionId } = fake.addVersion({ modelName: 'Filled', type: 'LORA', baseModel: 'SD 1.5', files: [{ name, hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
  mkdirSync(join(drive.mountpoint, 'lib'));
  const root = join(drive.mountpoint, 'lib');
  const final = join(root, 'models/Lora', name);
  await drive.configure({ writeFaults: [{ op: 'write', endsWith: `/${name}.part`, errno: 'ENOSPC', fromByte: FULL_AT, times: 100_000 }] });

  const full = await runCli(['get', '--no-previews', '--to', root, String(versionId)], env);
  expect(full.code).toBe(1);
  expect(full.stdout).toBe('');
  expect(full.stderr.trim().split('\n')).toEqual([
    `modeldeck: disk full writing ${final}.part: free some space and run get again to continue (the bytes so far are kept; delete the .part to give up)`,
  ]);
  // The mount really refused writes with ENOSPC (not some other failure that happens to print the same).
  expect((await drive.counters()).writeFaults.some((w) => w.errno === 'ENOSPC' && w.path.endsWith(`${name}.part`))).toBe(true);
  expect(existsSync(final)).toBe(false);
  expect(existsSync(`${final}.part`)).toBe(true);
  const state = JSON.parse(readFileSync(`${final}.part.json`, 'utf8')) as { done: [number, number][]; size: number };
  expect(state.size).toBe(bytes.length);
  const kept = state.done.reduce((n, [a, b]) => n + (b - a), 0);
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThanOrEqual(FULL_AT);
  expect((await runCli(['ls', '--json', root], env)).stdout.trim()).toBe('');

  // Space freed: get again asks only for what is missing and the file verifies.
  await drive.configure({ writeFaults: [] });
  const from = storage.requests.length;
  const served = storage.bytesServed;
  const again = await runCli(['get', '--json', '--no-previews', '--to', root, String(versionId)], env);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  const done = again.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.event === 'done');
  expect(done).toMatchObject({ status: 'downloaded', path: final, verifiedBy: 'civitai', resumedFrom: kept });
  expect(readFileSync(final).equals(bytes)).toBe(true);
  expect(storage.requests.slice(from)[0].range).toBe(`bytes=${kept}-${bytes.length - 1}`);
  expect(storage.bytesServed - served).toBe(bytes.length - kept);
  expect(existsSync(`${final}.part`)).toBe(false);
  const ls = (await runCli(['ls', '--json', root], env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(ls.map((m) => m.path)).toEqual([`models/Lora/${name}`]);
});
