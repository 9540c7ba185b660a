// Sidecar and preview writes on a simulated Google Drive mount (real FUSE, tests/drive-mount) that
// fails creates, writes and renames for a moment: every write is tried again, no half-written file
// ever has a sidecar's name, a write that keeps failing is one line and the scan goes on. And the
// previews of a folder list it no more than the walk did, counted by the mount.
import { mkdirSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Library, type ScanReport } from '../src/core/library';
import { FakeCivitai, tinyJpeg } from './fake-civitai';
import { mountDrive, type DriveConfig, type DriveMount } from './helpers/drive-mount';
import { loraBytes, register, writeModel, type MadeFile } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-drive-writes-');
let fake: FakeCivitai;
let drive: DriveMount;
let serial = 0;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  drive = await mountDrive({ attrTimeout: 0.1 });
});
afterAll(async () => {
  await drive?.unmount();
  await fake?.stop();
});
afterEach(async () => {
  await drive?.configure({ writeFaults: [] });
});

function civitai() {
  return { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, `cache-${++serial}`), maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 30_000 };
}

const FOLDER = 'models/Lora';

function makeLibrary(count: number): { name: string; root: string; files: MadeFile[]; source: string } {
  const name = `lib-${++serial}`;
  const files = Array.from({ length: count }, (_, i) => writeModel(join(drive.source, name), `${FOLDER}/lora ${i}.safetensors`, loraBytes({ ss_output_name: `w${serial}-${i}` }, 4096)));
  const when = new Date('2025-06-01T12:00:00Z');
  for (const f of files) {
    utimesSync(f.path, when, when);
    register(fake, f);
  }
  return { name, root: join(drive.mountpoint, name), files, source: join(drive.source, name, FOLDER) };
}

async function scanWith(root: string, faults: DriveConfig['writeFaults'], tries = 4): Promise<ScanReport> {
  await drive.reset();
  await drive.configure({ writeFaults: faults });
  const lib = await Library.open([root], { civitai: civitai() });
  try {
    return await lib.scan({ retry: { baseDelayMs: 20, maxDelayMs: 100, tries }, previews: true });
  } finally {
    await lib.close();
  }
}

const stem = (f: MadeFile) => f.rel.slice(f.rel.lastIndexOf('/') + 1).replace(/\.safetensors$/, '');

/** What a reader finds in the real folder: every sidecar whole (parses), no temporary file left. */
function sidecarsIn(source: string, f: MadeFile): { info?: Record<string, unknown>; json?: Record<string, unknown>; preview?: Buffer } {
  const names = readdirSync(source);
  const read = (suffix: string) => (names.includes(stem(f) + suffix) ? readFileSync(join(source, stem(f) + suffix)) : undefined);
  const info = read('.civitai.info');
  const json = read('.json');
  return { info: info && JSON.parse(info.toString('utf8')), json: json && JSON.parse(json.toString('utf8')), preview: read('.preview.png') };
}

const tempsIn = (source: string) => readdirSync(source).filter((n) => n.endsWith('.tmp'));

test('creates, half-done writes and renames failing for a moment (ENOTCONN, EIO, ESTALE, EAGAIN): every sidecar and preview written whole, no warning, no temporary file left', async () => {
  const lib = makeLibrary(3);
  // The first sidecar written meets a failed create, two half-done writes and a failed rename
  // (its 5th attempt works, of 6); the others one failed rename each.
  const report = await scanWith(
    lib.root,
    [
      { op: 'create', endsWith: '.tmp', errno: 'ESTALE', times: 1 },
      { op: 'write', endsWith: '.tmp', errno: 'ENOTCONN', times: 2, partial: true },
      { op: 'rename', endsWith: '.civitai.info', errno: 'EIO', times: 2 },
      { op: 'rename', endsWith: '.json', errno: 'EAGAIN', times: 1 },
      { op: 'rename', endsWith: '.preview.png', errno: 'ENOTCONN', times: 2 },
    ],
    6,
  );
  const counters = await drive.counters();

  // Every spec fired: 1 + 2 + 2 + 1 + 2 failed operations.
  expect(counters.writeFaults).toHaveLength(8);
  expect(new Set(counters.writeFaults.map((w) => w.errno))).toEqual(new Set(['ESTALE', 'ENOTCONN', 'EIO', 'EAGAIN']));
  expect(report.warnings).toEqual([]);
  expect(report.identified).toBe(3);
  expect(report.previewsWritten).toBe(3);
  for (const f of lib.files) {
    const { info, json, preview } = sidecarsIn(lib.source, f);
    expect(info?.id).toEqual(expect.any(Number));
    expect((info?.files as { hashes: { SHA256: string } }[]).some((x) => x.hashes.SHA256 === f.SHA256)).toBe(true);
    expect(json).toEqual(expect.objectContaining({ 'activation text': 'trigger' }));
    // The whole image the fake's image server sent (its first image is a JPEG).
    expect(preview?.equals(tinyJpeg())).toBe(true);
  }
  expect(tempsIn(lib.source)).toEqual([]);
});

test('a sidecar write that keeps failing is one line for that model; the other models and the rest of its sidecars are written; its name never holds a partial file', async () => {
  const lib = makeLibrary(3);
  const victim = lib.files[1];
  const report = await scanWith(lib.root, [
    // More failures than tries (4): every rename onto the victim's .civitai.info fails.
    { op: 'rename', endsWith: `${stem(victim)}.civitai.info`, errno: 'ENOTCONN', times: 100 },
  ]);
  const counters = await drive.counters();

  expect(counters.writeFaults.length).toBe(4);
  expect(report.identified).toBe(3);
  expect(report.warnings).toHaveLength(1);
  expect(report.warnings[0].path).toBe(join(lib.root, victim.rel));
  expect(report.warnings[0].message).not.toMatch(/\n/);
  expect(report.warnings[0].message).toMatch(/lora 1\.civitai\.info: cannot write \(the mount holding this file is not connected\) \(gave up after 4 tries\)$/);
  const mine = sidecarsIn(lib.source, victim);
  expect(mine.info).toBeUndefined();
  expect(mine.json).toEqual(expect.objectContaining({ 'activation text': 'trigger' }));
  expect(mine.preview).toBeDefined();
  for (const f of [lib.files[0], lib.files[2]]) expect(sidecarsIn(lib.source, f).info?.id).toEqual(expect.any(Number));
  expect(tempsIn(lib.source)).toEqual([]);
});

test('previews list their folder no more than the walk did: one readdir of the folder for a whole scan with several previews', async () => {
  const lib = makeLibrary(5);
  // A second folder, so "once per folder" is seen for each of two.
  const other = writeModel(join(drive.source, lib.name), 'models/Other/extra.safetensors', loraBytes({ ss_output_name: `x${serial}` }, 4096));
  register(fake, other);
  mkdirSync(join(drive.source, lib.name, 'models/Other'), { recursive: true });
  const report = await scanWith(lib.root, []);
  const counters = await drive.counters();

  expect(report.warnings).toEqual([]);
  expect(report.previewsWritten).toBe(6);
  expect(counters.readdirs[`/${lib.name}/${FOLDER}`]).toBe(1);
  expect(counters.readdirs[`/${lib.name}/models/Other`]).toBe(1);
  for (const f of lib.files) expect(sidecarsIn(lib.source, f).preview).toBeDefined();
});
