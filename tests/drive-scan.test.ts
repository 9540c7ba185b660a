// A library on a simulated Google Drive mount (real FUSE, tests/drive-mount): faults in the middle
// of files, a disconnect during a scan, a file that shrinks while it is hashed, and the opens a scan
// makes, counted by the mount itself. Identification through the fake Civitai over real HTTP.
import { mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_SIZE } from '../src/core/hash';
import { Library, type ScanProgress, type ScanReport } from '../src/core/library';
import { DISCONNECTED_MESSAGE } from '../src/core/library/drive-guard';
import { FakeCivitai } from './fake-civitai';
import { mountDrive, type DriveCounters, type DriveMount } from './helpers/drive-mount';
import { loraBytes, register, writeModel, type MadeFile } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';
import { WAIT_MS } from './helpers/wait';

const tmp = useTmpDir('mdk-drive-test-');
const MiB = 1024 * 1024;
let fake: FakeCivitai;
let drive: DriveMount;
let serial = 0;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  // A short attribute cache, so a file cut short in the source folder shows its new size soon.
  drive = await mountDrive({ attrTimeout: 0.1 });
});
afterAll(async () => {
  await drive?.unmount();
  await fake?.stop();
});

function civitai() {
  return { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, `cache-${++serial}`), maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 30_000 };
}

/** A library folder with `count` LoRAs of `extra` bulk bytes, written in the real folder behind the mount and registered with the fake. */
function makeLibrary(count: number, extra: number): { name: string; root: string; files: MadeFile[] } {
  const name = `lib-${++serial}`;
  mkdirSync(join(drive.source, name), { recursive: true });
  const files = Array.from({ length: count }, (_, i) => writeModel(join(drive.source, name), `models/Lora/lora ${i}.safetensors`, loraBytes({ ss_output_name: `l${i}` }, extra)));
  const when = new Date('2025-06-01T12:00:00Z');
  for (const f of files) {
    utimesSync(f.path, when, when);
    register(fake, f);
  }
  return { name, root: join(drive.mountpoint, name), files };
}

/** The mount's key of a model file (mount-relative, leading '/'). */
const key = (lib: { name: string }, f: MadeFile) => `/${lib.name}/${f.rel}`;

async function scan(root: string, options: Parameters<Library['scan']>[0] = {}): Promise<{ report: ScanReport; lib: Library }> {
  const lib = await Library.open([root], { civitai: civitai() });
  try {
    const report = await lib.scan({ retry: { baseDelayMs: 20, maxDelayMs: 200 }, previews: true, ...options });
    return { report, lib };
  } finally {
    await lib.close();
  }
}

test('ENOTCONN, EIO and ESTALE in the middle of several files: every file identified, each fault costs at most one block read again', async () => {
  const lib = makeLibrary(5, 24 * MiB);
  const faulty = lib.files.slice(0, 3);
  await drive.reset();
  await drive.configure({
    faults: [
      { path: key(lib, faulty[0]), offset: 9 * MiB + 5, errno: 'ENOTCONN' },
      { path: key(lib, faulty[1]), offset: 13 * MiB, errno: 'EIO' },
      { path: key(lib, faulty[2]), offset: 20 * MiB + 77, errno: 'ESTALE' },
      { path: key(lib, faulty[2]), offset: 5 * MiB, errno: 'ENOTCONN' },
    ],
  });
  const { report, lib: library } = await scan(lib.root);
  const counters = await drive.counters();
  await drive.configure({ faults: [] });

  expect(counters.injected).toBe(4);
  expect(report.warnings).toEqual([]);
  expect(report.hashed).toBe(5);
  expect(report.identified).toBe(5);
  expect(report.ioRetries).toBeGreaterThanOrEqual(4);
  for (const f of lib.files) {
    const entry = library.get(f.rel)!;
    expect(entry.hashes.SHA256).toBe(f.SHA256);
    expect(entry.civitai.status).toBe('found');
  }
  // Bytes a fault-free file of the same size cost beyond its size (the header probe's share).
  const clean = lib.files.slice(3).map((f) => counters.files[key(lib, f)].bytes - f.bytes.length);
  const overhead = Math.max(...clean);
  expect(Math.min(...clean)).toBeGreaterThanOrEqual(0);
  const specs = [1, 1, 2];
  faulty.forEach((f, i) => {
    const c = counters.files[key(lib, f)];
    expect(counters.faults.some((x) => x.path === key(lib, f))).toBe(true);
    expect(c.bytes).toBeLessThanOrEqual(f.bytes.length + overhead + specs[i] * BLOCK_SIZE);
    // Reopened to go on from the offset (once per failed attempt), never read from the start.
    expect(c.opens).toBeGreaterThan(1);
  });
  for (const f of lib.files.slice(3)) expect(counters.files[key(lib, f)].opens).toBe(1);
});

test('one open per new file on the first scan, none of a model file on the rescan; one listing per folder', async () => {
  const lib = makeLibrary(4, 2 * MiB);
  await drive.reset();
  const first = await scan(lib.root, { previews: false });
  const c1: DriveCounters = await drive.counters();
  expect(first.report.warnings).toEqual([]);
  expect(first.report.identified).toBe(4);
  for (const f of lib.files) expect(c1.files[key(lib, f)].opens).toBe(1);
  // The walk's listing serves the sidecar reading: the model folder is listed once.
  const loraDir = `/${lib.name}/models/Lora`;
  expect(c1.readdirs[loraDir]).toBe(1);

  await drive.reset();
  const again = await scan(lib.root);
  const c2 = await drive.counters();
  expect(again.report.unchanged).toBe(4);
  expect(again.report.hashed).toBe(0);
  for (const f of lib.files) expect(c2.files[key(lib, f)]?.opens ?? 0).toBe(0);
  for (const f of lib.files) expect(c2.files[key(lib, f)]?.bytes ?? 0).toBe(0);
});

test('a disconnect of several seconds during a scan pauses it with the fix, and the scan completes', async () => {
  const lib = makeLibrary(6, 20 * MiB);
  // Slow enough that the scan is still reading when the drive goes away.
  await drive.configure({ bandwidthMBps: 40 });
  const pauses: string[] = [];
  let disconnected: Promise<void> | null = null;
  let resolveStarted!: () => void;
  const started = new Promise<void>((r) => (resolveStarted = r));
  const onProgress = (p: ScanProgress) => {
    if (p.paused) pauses.push(p.paused);
    if (p.bytesHashed > 8 * MiB && !disconnected) {
      disconnected = drive.disconnect(3);
      resolveStarted();
    }
  };
  try {
    const run = scan(lib.root, { onProgress });
    await started;
    const { report, lib: library } = await run;
    expect(pauses).toContain(DISCONNECTED_MESSAGE);
    expect(report.pauses).toBeGreaterThanOrEqual(1);
    expect(report.warnings).toEqual([]);
    expect(report.hashed).toBe(6);
    expect(report.identified).toBe(6);
    for (const f of lib.files) expect(library.get(f.rel)!.hashes.SHA256).toBe(f.SHA256);
  } finally {
    await drive.configure({ bandwidthMBps: 0 });
  }
});

test('a file that shrinks while it is hashed is reported and gets no hash; the next scan hashes what is there', async () => {
  const lib = makeLibrary(2, 20 * MiB);
  const victim = lib.files[0];
  await drive.configure({ shrink: [{ path: key(lib, victim), afterBytes: 12 * MiB, toSize: 6 * MiB }] });
  const { report, lib: library } = await scan(lib.root);
  await drive.configure({ shrink: [] });
  expect(report.warnings).toHaveLength(1);
  expect(report.warnings[0].path).toBe(join(lib.root, victim.rel));
  expect(report.warnings[0].message).toMatch(/got shorter while it was being read/);
  expect(library.get(victim.rel)!.hashes.SHA256).toBeUndefined();
  expect(library.get(lib.files[1].rel)!.hashes.SHA256).toBe(lib.files[1].SHA256);

  const next = await scan(lib.root);
  // What is left is a cut-off safetensors file: its header says so, and its whole-file hashes are what is there.
  expect(next.report.warnings.map((w) => w.message).join('\n')).toMatch(/truncated file/);
  const { createHash } = await import('node:crypto');
  const expected = createHash('sha256').update(victim.bytes.subarray(0, 6 * MiB)).digest('hex').toUpperCase();
  expect(next.lib.get(victim.rel)!.hashes.SHA256).toBe(expected);
});

test('watch mode keeps working after a disconnect: a model added while the drive was away is scanned and identified, none is dropped', async () => {
  const lib = makeLibrary(2, 1 * MiB);
  const library = await Library.open([lib.root], { civitai: civitai() });
  const reports: ScanReport[] = [];
  const errors: Error[] = [];
  let wake = () => {};
  const until = (ok: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such scan within ${WAIT_MS} ms: ${JSON.stringify(reports.map((r) => [r.added, r.removed]))} ${errors.join('; ')}`)), WAIT_MS);
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        resolve();
      };
      wake = check;
      check();
    });
  const watcher = library.watch({
    poll: true,
    pollIntervalMs: 100,
    scan: { retry: { baseDelayMs: 20, maxDelayMs: 200 }, previews: false },
    onScan: (r) => {
      reports.push(r);
      wake();
    },
    onError: (e) => errors.push(e),
  });
  try {
    await watcher.ready;
    await until(() => reports.some((r) => r.identified === 2));
    await drive.disconnect(2);
    const late = writeModel(join(drive.source, lib.name), 'models/Lora/late.safetensors', loraBytes({ ss_output_name: 'late' }));
    register(fake, late);
    await until(() => library.get(late.rel)?.civitai.status === 'found');
    expect(reports.every((r) => r.removed === 0)).toBe(true);
    for (const f of [...lib.files, late]) expect(library.get(f.rel)!.hashes.SHA256).toBe(f.SHA256);
  } finally {
    await watcher.close();
    await library.close();
  }
});
