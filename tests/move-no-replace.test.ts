// A move never replaces a file that appears at its target after the check: the file is planted in the
// race window by the file system itself (the simulated Drive mount writes it right after the lookup that
// found nothing), then the move goes on. On one file system the move is link + unlink (EEXIST decides);
// where links are refused (as on Drive) it falls back to rename after one more check.
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { moveOne } from '../src/core/library/file-moves';
import { renameNoReplace } from '../src/core/library/no-replace';
import { mountDrive, type DriveMount } from './helpers/drive-mount';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-noreplace-');
let drive: DriveMount;
let serial = 0;

beforeAll(async () => {
  // No attribute cache: every stat reaches the mount, as it must for the plant to follow the check.
  drive = await mountDrive({ attrTimeout: 0 });
});
afterAll(async () => {
  await drive?.unmount();
});
afterEach(async () => {
  await drive.configure({ plantOnMiss: [], refuseLinks: false });
  await drive.reset();
});

/** A folder in the mount's source with one model file; returns its names on both sides. */
function folder(): { name: string; src: string; mnt: string } {
  const name = `d-${++serial}`;
  mkdirSync(join(drive.source, name));
  writeFileSync(join(drive.source, name, 'a.safetensors'), 'the model');
  return { name, src: join(drive.source, name), mnt: join(drive.mountpoint, name) };
}

test('a file planted at the target right after the check is kept, and the model stays where it was', async () => {
  const d = folder();
  await drive.configure({ plantOnMiss: [{ path: `/${d.name}/b.safetensors`, afterMisses: 1, content: 'someone else' }] });
  await expect(moveOne(join(d.mnt, 'a.safetensors'), join(d.mnt, 'b.safetensors'))).rejects.toMatchObject({ code: 'exists' });
  // The plant happened (else this test would show nothing), and neither file was lost.
  expect((await drive.counters()).planted).toBe(1);
  expect(readFileSync(join(d.src, 'b.safetensors'), 'utf8')).toBe('someone else');
  expect(readFileSync(join(d.src, 'a.safetensors'), 'utf8')).toBe('the model');
});

test('with no plant the move is a link then an unlink: same inode, the old name gone', async () => {
  const d = folder();
  const ino = statSync(join(d.src, 'a.safetensors')).ino;
  await moveOne(join(d.mnt, 'a.safetensors'), join(d.mnt, 'b.safetensors'));
  expect(existsSync(join(d.src, 'a.safetensors'))).toBe(false);
  expect(statSync(join(d.src, 'b.safetensors')).ino).toBe(ino);
  expect(readFileSync(join(d.src, 'b.safetensors'), 'utf8')).toBe('the model');
});

test('where links are refused the move falls back to rename, still checked just before it', async () => {
  const d = folder();
  await drive.configure({ refuseLinks: true });
  expect(await renameNoReplace(join(d.mnt, 'a.safetensors'), join(d.mnt, 'b.safetensors'))).toBe('renamed');
  expect(readFileSync(join(d.src, 'b.safetensors'), 'utf8')).toBe('the model');
  // A file planted after moveOne's own check is seen by the fallback's second check.
  writeFileSync(join(d.src, 'c.safetensors'), 'the model');
  await drive.configure({ refuseLinks: true, plantOnMiss: [{ path: `/${d.name}/e.safetensors`, afterMisses: 1, content: 'someone else' }] });
  await expect(moveOne(join(d.mnt, 'c.safetensors'), join(d.mnt, 'e.safetensors'))).rejects.toMatchObject({ code: 'exists' });
  expect((await drive.counters()).planted).toBe(1);
  expect(readFileSync(join(d.src, 'e.safetensors'), 'utf8')).toBe('someone else');
  expect(readFileSync(join(d.src, 'c.safetensors'), 'utf8')).toBe('the model');
});

test('on a local disk: linked on one file system, cross-device to another one', async () => {
  const dir = join(tmp.path, 'local');
  mkdirSync(dir);
  writeFileSync(join(dir, 'x'), 'x');
  writeFileSync(join(dir, 'taken'), 'keep me');
  await expect(renameNoReplace(join(dir, 'x'), join(dir, 'taken'))).rejects.toMatchObject({ code: 'exists' });
  expect(readFileSync(join(dir, 'taken'), 'utf8')).toBe('keep me');
  expect(await renameNoReplace(join(dir, 'x'), join(dir, 'y'))).toBe('linked');
  expect(readFileSync(join(dir, 'y'), 'utf8')).toBe('x');
  if (existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(dir).dev) {
    const shm = mkdtempSync(join('/dev/shm', 'mdk-noreplace-'));
    try {
      expect(await renameNoReplace(join(dir, 'y'), join(shm, 'y'))).toBe('cross-device');
      expect(existsSync(join(dir, 'y'))).toBe(true);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  }
});
