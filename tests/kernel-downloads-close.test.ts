// The panel's download queue when its library closes: over real HTTP to the fake Civitai and its fake storage (a
// per-connection cap keeps the download running), one download running and one queued; `lib.close()` cancels both
// and resolves only once the running one has let go of its `.part`: no descriptor of this process is left on it, so
// nothing can write into the root afterwards. The `.part` stays for a retry, nothing has the final name, the index
// has no entry, the queue refuses new work, and the shared library manager opens a fresh library next time.
import { existsSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { getManager, Library } from '../src/core/library';
import { DownloadQueue } from '../src/kernel/widget/downloads';
import type { DownloadItem } from '../src/kernel/protocol';
import { FakeCivitai } from './fake-civitai';
import { FakeStorage } from './fake-civitai/storage';
import { loraBytes, sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir();
let fake: FakeCivitai;
let storage: FakeStorage;
const savedOrigins = process.env.MODELDECK_ALLOWED_ORIGINS;

beforeAll(async () => {
  storage = await new FakeStorage().start();
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  fake.storage = storage;
  // How a user allows a local mirror: the library's outbound policy reads it when it opens.
  process.env.MODELDECK_ALLOWED_ORIGINS = storage.url;
});
afterAll(async () => {
  if (savedOrigins === undefined) delete process.env.MODELDECK_ALLOWED_ORIGINS;
  else process.env.MODELDECK_ALLOWED_ORIGINS = savedOrigins;
  await Promise.all([fake?.stop(), storage?.stop()]);
});

const civitai = () => ({ baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, 'cache') });

function addLora(name: string, size: number) {
  const bytes = loraBytes({}, size);
  return fake.addVersion({ modelName: `Model ${name}`, type: 'LORA', baseModel: 'SD 1.5', files: [{ name, hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
}

/** Files this process holds open, by path. */
function openFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed while listing
    }
  }
  return out;
}

test('closing the library cancels the running and the queued download, and resolves once no descriptor is left on the .part', async () => {
  const root = join(tmp.path, 'models');
  mkdirSync(root, { recursive: true });
  const running = addLora('running.safetensors', 16 * 1024 * 1024);
  const queued = addLora('queued.safetensors', 1024 * 1024);
  storage.faults.bytesPerSecond = 1024 * 1024;

  const lib = await Library.open([root], { civitai: civitai() });
  const queue = DownloadQueue.of(lib);
  const job = { origin: 'link' as const, root: lib.roots[0], previews: false, nsfwLevel: 1 };
  const first = queue.add({ ...job, input: String(running.versionId) });
  const second = queue.add({ ...job, input: String(queued.versionId) });
  const item = (id: string) => queue.items().find((i) => i.downloadId === id)!;

  // Bytes are arriving in the .part.
  await new Promise<void>((resolve) => {
    const off = queue.subscribe(() => {
      const it = item(first.downloadId);
      if (it.status === 'downloading' && it.received > 0) {
        off();
        resolve();
      }
    });
  });
  const part = join(lib.roots[0], item(first.downloadId).path!) + '.part';
  expect(openFiles()).toContain(part);
  expect(item(second.downloadId).status).toBe('queued');

  await lib.close();

  expect(item(first.downloadId)).toMatchObject<Partial<DownloadItem>>({ status: 'cancelled', code: 'cancelled' });
  expect(item(second.downloadId)).toMatchObject<Partial<DownloadItem>>({ status: 'cancelled', code: 'cancelled' });
  expect(openFiles()).not.toContain(part);
  expect(existsSync(part)).toBe(true);
  expect(existsSync(part.replace(/\.part$/, ''))).toBe(false);
  // The queued one never started: its version was never asked for a download.
  expect(fake.requests.some((r) => r.route === 'download' && r.url.includes(String(queued.versionId)))).toBe(false);
  expect(() => queue.add({ ...job, input: String(queued.versionId) })).toThrow(/the library is closed/);
  expect(() => queue.retry(first.downloadId)).toThrow(/the library is closed/);

  const again = await Library.open([root], { civitai: false });
  try {
    expect(again.models()).toEqual([]);
  } finally {
    await again.close();
  }
  storage.faults = {};
});

test('the shared library of a set of roots is opened afresh after it was closed', async () => {
  const root = join(tmp.path, 'shared');
  mkdirSync(root, { recursive: true });
  const a = await getManager([root], { civitai: false });
  expect(await getManager([root], { civitai: false })).toBe(a);
  await a.close();
  const b = await getManager([root], { civitai: false });
  expect(b).not.toBe(a);
  await b.close();
});
