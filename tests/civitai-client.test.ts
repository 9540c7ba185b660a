// Endpoints, bulk batching, request budgets, the on-disk cache and host fallback,
// many models by id, against the fake Civitai over real HTTP.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CivitaiClient, CivitaiError, type CivitaiOptions, type ResolveInput } from '../src/core/civitai';
import { FakeCivitai } from './fake-civitai';
import { closedPort, fastOptions, FLUX_LORA, TOKEN } from './helpers/civitai';

let fake: FakeCivitai;
let red: FakeCivitai;
const clients: CivitaiClient[] = [];

beforeAll(async () => {
  fake = await new FakeCivitai().start();
  red = await new FakeCivitai({ fixturesDir: null }).start();
});
afterEach(async () => {
  fake.reset();
  red.reset();
  fake.modelsPageSize = undefined;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await fake.stop();
  await red.stop();
});

function client(extra: CivitaiOptions = {}): CivitaiClient {
  const c = new CivitaiClient(fastOptions(fake, extra));
  clients.push(c);
  return c;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex').toUpperCase();
let serial = 0;
/** Registers `n` one-file versions with fresh hashes; returns their SHA256 and AutoV3. */
function register(n: number, on: FakeCivitai = fake): Array<{ SHA256: string; AutoV3: string; versionId: number }> {
  return Array.from({ length: n }, () => {
    const tag = `file-${++serial}-${Math.random()}`;
    const h = { SHA256: sha(tag), AutoV3: sha(`v3-${tag}`).slice(0, 12) };
    const { versionId } = on.addVersion({ files: [{ name: `${tag}.safetensors`, hashes: h }] });
    return { ...h, versionId };
  });
}

describe('bulk endpoints', () => {
  test('250 SHA256 → 3 bulk calls of at most 100, every version found', async () => {
    const files = register(250);
    const versions = await client().getVersionsByHashes(files.map((f) => f.SHA256.toLowerCase()));
    expect(fake.count('by-hash-bulk')).toBe(3);
    expect(fake.count()).toBe(3);
    expect(new Set(versions.map((v) => v.id))).toEqual(new Set(files.map((f) => f.versionId)));
  });

  test('by-hash/ids takes up to 10,000 per call', async () => {
    const files = register(250);
    const matches = await client().getVersionIdsByHashes([...files.map((f) => f.SHA256), sha('nobody')]);
    expect(fake.count('by-hash-ids')).toBe(1);
    expect(matches).toHaveLength(250);
    expect(matches[0]).toEqual({ hash: files[0].SHA256, modelVersionId: files[0].versionId, modelId: expect.any(Number) });
  });

  test('a malformed SHA256 is refused before any request', async () => {
    await expect(client().getVersionsByHashes(['ABC'])).rejects.toThrow(/not a SHA256/);
    expect(fake.count()).toBe(0);
  });
});

describe('resolve: bulk first, single lookups only for what bulk cannot answer', () => {
  test('250 files with SHA256 → 3 requests; unknown files without AutoV3 cost nothing more', async () => {
    const known = register(220);
    const unknown = Array.from({ length: 30 }, (_, i) => ({ SHA256: sha(`unknown-${i}-${Math.random()}`) }));
    const inputs: ResolveInput[] = [...known, ...unknown].map((h, i) => ({ key: `f${i}`, hashes: { SHA256: h.SHA256 } }));
    const results = await client().resolve(inputs);
    expect(fake.count()).toBe(3);
    expect(fake.count('by-hash-bulk')).toBe(3);
    expect(results.filter((r) => r.status === 'found')).toHaveLength(220);
    expect(results.filter((r) => r.status === 'not_found')).toHaveLength(30);
    const first = results[0];
    expect(first.status === 'found' && first.matchedBy).toBe('SHA256');
    expect(first.input.key).toBe('f0');
  });

  test('a metadata-edited file (SHA256 unknown, AutoV3 known) is found by one single lookup, marked AutoV3', async () => {
    const known = register(10);
    const edited = { SHA256: sha(`edited-${Math.random()}`), AutoV3: known[3].AutoV3 };
    const results = await client().resolve([...known.map((h) => ({ hashes: h })), { hashes: edited }]);
    // ceil(11/100) bulk + 1 single for the one miss.
    expect(fake.counts()).toEqual({ 'by-hash-bulk': 1, 'by-hash': 1 });
    const last = results[10];
    expect(last.status).toBe('found');
    if (last.status === 'found') {
      expect(last.matchedBy).toBe('AutoV3');
      expect(last.version.id).toBe(known[3].versionId);
    }
  });

  test('budget: N files → at most ceil(N/100) + one request per miss needing a fallback', async () => {
    const known = register(120);
    const misses = Array.from({ length: 7 }, (_, i) => ({ SHA256: sha(`m${i}${Math.random()}`), AutoV3: sha(`a${i}${Math.random()}`).slice(0, 12) }));
    const results = await client().resolve([...known, ...misses].map((h) => ({ hashes: h })));
    expect(fake.count()).toBeLessThanOrEqual(Math.ceil(127 / 100) + misses.length);
    expect(fake.count('by-hash')).toBe(7);
    expect(results.filter((r) => r.status === 'not_found')).toHaveLength(7);
  });

  test('real fixture hashes resolve, lower-case input included; a hash without SHA256 is asked singly', async () => {
    const results = await client().resolve([
      { hashes: { SHA256: FLUX_LORA.SHA256.toLowerCase() } },
      { hashes: { AutoV2: FLUX_LORA.AutoV2.toLowerCase() } },
    ]);
    expect(results.map((r) => r.status)).toEqual(['found', 'found']);
    expect(fake.counts()).toEqual({ 'by-hash-bulk': 1, 'by-hash': 1 });
    expect(results[1].status === 'found' && results[1].matchedBy).toBe('AutoV2');
  });

  test('a null element in the bulk reply (version without primary file) does not break the batch', async () => {
    const ok = register(2);
    const h = sha(`noprimary-${Math.random()}`);
    fake.addVersion({ noPrimaryFile: true, files: [{ name: 'np.safetensors', hashes: { SHA256: h } }] });
    const results = await client().resolve([{ hashes: ok[0] }, { hashes: { SHA256: h } }, { hashes: ok[1] }]);
    expect(results.map((r) => r.status)).toEqual(['found', 'not_found', 'found']);
  });

  test('the same file in two versions: the oldest published one wins, as on Civitai', async () => {
    const h = sha(`dup-${Math.random()}`);
    const newer = fake.addVersion({ publishedAt: '2025-05-01T00:00:00.000Z', files: [{ name: 'd.safetensors', hashes: { SHA256: h } }] });
    const older = fake.addVersion({ publishedAt: '2024-05-01T00:00:00.000Z', files: [{ name: 'd.safetensors', hashes: { SHA256: h } }] });
    const [r] = await client().resolve([{ hashes: { SHA256: h } }]);
    expect(r.status === 'found' && r.version.id).toBe(older.versionId);
    expect(newer.versionId).not.toBe(older.versionId);
    expect((await client().getVersionByHash(h)).id).toBe(older.versionId);
  });

  test('a service failure marks the files as errors, not as "not found", and caches nothing', async () => {
    const files = register(3);
    fake.inject({ kind: 'status', status: 503 }, { route: 'by-hash-bulk', times: Infinity });
    const c = client();
    const results = await c.resolve(files.map((h) => ({ hashes: h })));
    expect(results.map((r) => r.status)).toEqual(['error', 'error', 'error']);
    fake.reset();
    const again = await c.resolve(files.map((h) => ({ hashes: h })));
    expect(again.map((r) => r.status)).toEqual(['found', 'found', 'found']);
    expect(fake.count('by-hash-bulk')).toBe(1);
  });
});

describe('on-disk cache', () => {
  test('second resolve makes zero requests (found and not found); --refresh asks again', async () => {
    const known = register(5);
    const inputs = [...known.map((h) => ({ hashes: h })), { hashes: { SHA256: sha(`neg-${Math.random()}`), AutoV3: 'ABCDEF012345' } }];
    const opts = fastOptions(fake);
    const first = new CivitaiClient(opts);
    clients.push(first);
    await first.resolve(inputs);
    expect(fake.count()).toBe(2); // 1 bulk + 1 AutoV3 lookup for the miss
    fake.reset();

    // A new client (a new notebook runtime) with the same cache dir.
    const second = new CivitaiClient(opts);
    clients.push(second);
    const again = await second.resolve(inputs);
    expect(fake.count()).toBe(0);
    expect(again.map((r) => r.status)).toEqual(['found', 'found', 'found', 'found', 'found', 'not_found']);
    expect(again.every((r) => r.status !== 'error' && r.cached)).toBe(true);

    const fresh = await second.resolve(inputs, { refresh: true });
    expect(fake.count()).toBe(2);
    expect(fresh.every((r) => r.status !== 'error' && !r.cached)).toBe(true);
  });

  test('"not found" expires after its TTL; found answers keep', async () => {
    const known = register(1);
    const missing = { SHA256: sha(`ttl-${Math.random()}`) };
    const opts = fastOptions(fake, { negativeTtlMs: 100 });
    const c = new CivitaiClient(opts);
    clients.push(c);
    await c.resolve([{ hashes: known[0] }, { hashes: missing }]);
    fake.reset();
    await new Promise((r) => setTimeout(r, 150));
    const again = await c.resolve([{ hashes: known[0] }, { hashes: missing }]);
    expect(again[0].status === 'found' && again[0].cached).toBe(true);
    // Only the expired negative is asked again.
    expect(fake.count()).toBe(1);
    expect(JSON.parse(fake.requests[0].body)).toEqual([missing.SHA256]);
  });

  test('cache files: one per host and hash, written atomically (no temp files left), never holding the token', async () => {
    const known = register(3);
    const opts = fastOptions(fake);
    const c = new CivitaiClient(opts);
    clients.push(c);
    await c.resolve([...known.map((h) => ({ hashes: h })), { hashes: { SHA256: sha(`x${Math.random()}`) } }]);
    const hostDir = join(opts.cacheDir!, 'by-hash', new URL(fake.url).host.replace(':', '_'));
    const names = readdirSync(hostDir);
    expect(names).toHaveLength(4);
    expect(names.every((n) => /^[0-9A-F]{64}\.json$/.test(n))).toBe(true);
    for (const n of names) {
      const text = readFileSync(join(hostDir, n), 'utf8');
      expect(text).not.toContain(TOKEN);
      expect(() => JSON.parse(text)).not.toThrow();
    }
    const negative = JSON.parse(readFileSync(join(hostDir, names.find((n) => !known.some((k) => n.startsWith(k.SHA256)))!), 'utf8'));
    expect(negative.found).toBe(false);
  });

  test('a corrupt cache file is ignored, not fatal', async () => {
    const [k] = register(1);
    const opts = fastOptions(fake);
    const c = new CivitaiClient(opts);
    clients.push(c);
    await c.resolve([{ hashes: k }]);
    const file = c.cache.pathFor(new URL(fake.url).host, k.SHA256);
    writeFileSync(file, '{"format":1,"found":tr');
    fake.reset();
    const [r] = await c.resolve([{ hashes: k }]);
    expect(r.status === 'found' && !r.cached).toBe(true);
    expect(fake.count('by-hash-bulk')).toBe(1);
  });
});

describe('host fallback', () => {
  test('a version that 404s on the main host is fetched from the fallback host', async () => {
    const [onRed] = register(1, red);
    const c = client({ fallbackBaseUrls: [red.url] });
    const v = await c.getVersion(onRed.versionId);
    expect(fake.count('model-version')).toBe(1);
    expect(red.count('model-version')).toBe(1);
    // Page on the site that has it; download rebuilt on the configured main host.
    expect(v.pageUrl).toBe(`${red.url}/models/${v.modelId}?modelVersionId=${v.id}`);
    expect(v.downloadUrl).toBe(`${fake.url}/api/download/models/${v.id}`);
    expect(v.files[0].downloadUrl.startsWith(`${fake.url}/`)).toBe(true);
    expect((await c.getVersionByHash(onRed.SHA256)).id).toBe(onRed.versionId);
  });

  test('resolve: bulk on the main host, then one lookup on the fallback host per miss', async () => {
    const [onRed] = register(1, red);
    const onMain = register(2);
    const results = await client({ fallbackBaseUrls: [red.url] }).resolve([...onMain, onRed].map((h) => ({ hashes: { SHA256: h.SHA256 } })));
    expect(results.map((r) => r.status)).toEqual(['found', 'found', 'found']);
    expect(results[2].status === 'found' && results[2].host).toBe(red.url);
    expect(fake.counts()).toEqual({ 'by-hash-bulk': 1 });
    expect(red.counts()).toEqual({ 'by-hash': 1 });
  });

  test('not on any host: NotFound naming both hosts', async () => {
    const c = client({ fallbackBaseUrls: [red.url] });
    await expect(c.getVersion(123456789)).rejects.toThrow(new RegExp(`${new URL(fake.url).host} or ${new URL(red.url).host}`));
  });

  test('a failure other than 404 on the main host is not hidden by the fallback', async () => {
    fake.inject({ kind: 'status', status: 401, body: { error: 'Unauthorized' } }, { route: 'model-version' });
    await expect(client({ fallbackBaseUrls: [red.url] }).getVersion(FLUX_LORA.versionId)).rejects.toThrow(/unauthorized|Unauthorized/);
    expect(red.count()).toBe(0);
  });
});

describe('other endpoints', () => {
  test('getModel: the fixture model with all versions', async () => {
    const m = await client().getModel(4201);
    expect(m.name).toMatch(/Realistic Vision/);
    expect(m.versions.length).toBeGreaterThan(5);
    expect(fake.requests[0].url).toBe('/api/v1/models/4201');
  });

  test('getModels: 150 ids → 2 calls (100 + 50), nsfw=true so mature models are not dropped', async () => {
    const mature = fake.addVersion({ nsfw: true, nsfwLevel: 28, files: [{ name: 'm.safetensors', hashes: { SHA256: sha(`mature${Math.random()}`) } }] });
    const ids = [4201, 58390, mature.modelId, ...Array.from({ length: 147 }, (_, i) => 50_000_000 + i)];
    const models = await client().getModels(ids);
    expect(fake.count('models')).toBe(2);
    const urls = fake.requests.map((r) => new URL(r.url, 'http://x'));
    expect(urls.map((u) => u.searchParams.get('ids')!.split(',').length)).toEqual([100, 50]);
    expect(urls.every((u) => u.searchParams.get('nsfw') === 'true')).toBe(true);
    expect(models.map((m) => m.id).sort()).toEqual([4201, 58390, mature.modelId].sort());
  });

  test('getImages: PG only by default, every level on request', async () => {
    const { versionId } = fake.addVersion({ nsfw: true, images: 3, files: [{ name: 'i.safetensors', hashes: { SHA256: sha(`img${Math.random()}`) } }] });
    expect(await client().getImages(versionId)).toHaveLength(0);
    const all = await client().getImages(versionId, { nsfw: true });
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({ nsfw: true, nsfwLevel: 4 });
    expect(all[0].url.startsWith(fake.url)).toBe(true);
    const fixture = await client().getImages(FLUX_LORA.versionId, { nsfw: true });
    expect(fixture).toHaveLength(1);
  });
});

describe('many models by id (GET /models?ids=): batching, paging on the configured host, fallback, cache, failures', () => {
  let modelSerial = 0;
  /** `n` models on `on`, each with one version; returns their ids. */
  function models(n: number, on: FakeCivitai = fake, extra: { nsfw?: boolean } = {}): number[] {
    return Array.from({ length: n }, () => {
      const tag = (++modelSerial).toString(16).padStart(8, '0');
      return on.addVersion({ ...extra, files: [{ name: `m${modelSerial}.safetensors`, hashes: { SHA256: tag.repeat(8) } }] }).modelId;
    });
  }

  const idsAsked = (f: FakeCivitai) => f.requests.filter((r) => r.route === 'models').map((r) => new URL(r.url, 'http://x').searchParams.get('ids')!.split(',').length);

  test('150 ids: 2 requests (100 + 50), nsfw=true so mature models are not left out, whole parsed models back', async () => {
    const ids = [...models(149), ...models(1, fake, { nsfw: true })];
    const r = await client().getModelsById(ids);
    expect(idsAsked(fake)).toEqual([100, 50]);
    expect(fake.requests.every((q) => new URL(q.url, 'http://x').searchParams.get('nsfw') === 'true')).toBe(true);
    expect(fake.requests[0].authorization).toBe(`Bearer ${TOKEN}`);
    expect([...r.models.keys()].sort()).toEqual([...ids].sort());
    const m = r.models.get(ids[0])!;
    expect(m).toMatchObject({ id: ids[0], type: 'LORA', creator: 'modeldeck-test', tags: [], allowCommercialUse: ['Image'] });
    expect(m.versions[0].files[0].primary).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.failed).toEqual([]);
  });

  test('a server that pages smaller than asked: every page is followed, on the configured host', async () => {
    fake.modelsPageSize = 40;
    const ids = models(120);
    const r = await client().getModelsById(ids);
    expect(r.models.size).toBe(120);
    // 100 ids: pages of 40, 40, 20; then 20 ids: one page.
    expect(fake.count('models')).toBe(4);
    const cursors = fake.requests.map((q) => new URL(q.url, 'http://x').searchParams.get('cursor'));
    expect(cursors).toEqual([null, '40', '80', null]);
  });

  test('a nextPage naming another host is read for its query only: the next request still goes to the base', async () => {
    const ids = models(2);
    const first = await (await fetch(`${fake.url}/api/v1/models?ids=${ids[0]}&nsfw=true`)).json();
    fake.reset();
    first.metadata = { nextCursor: '1', nextPage: `http://elsewhere.invalid/api/v1/models?ids=${ids.join(',')}&limit=100&nsfw=true&cursor=1` };
    fake.inject({ kind: 'body', body: first }, { route: 'models' });
    const r = await client().getModelsById(ids);
    expect([...r.models.keys()].sort()).toEqual([...ids].sort());
    expect(fake.count('models')).toBe(2);
    expect(new URL(fake.requests[1].url, 'http://x').searchParams.get('cursor')).toBe('1');
  });

  test('one failed request loses only its ids; the next call asks only for those', async () => {
    const ids = models(150);
    const c = client();
    fake.inject({ kind: 'status', status: 400, body: { error: 'bad request' } }, { route: 'models' });
    const r = await c.getModelsById(ids);
    expect(r.models.size).toBe(50);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0].ids).toEqual(ids.slice(0, 100));
    expect(r.failed[0].error).toBeInstanceOf(CivitaiError);
    expect(r.failed[0].error.message).not.toContain(TOKEN);
    expect(r.missing).toEqual([]);
    fake.reset();
    const again = await c.getModelsById(ids);
    expect(again.models.size).toBe(150);
    expect(idsAsked(fake)).toEqual([100]);
  });

  test('cached: nothing is sent for models (or "not found" ids) already answered; refresh asks again', async () => {
    const ids = [...models(3), 2_000_000_001];
    const c = client();
    const first = await c.getModelsById(ids);
    expect(first.missing).toEqual([2_000_000_001]);
    fake.reset();
    const cached = await c.getModelsById(ids);
    expect(fake.count()).toBe(0);
    expect(cached.models.size).toBe(3);
    expect(cached.missing).toEqual([2_000_000_001]);
    // Another client on the same cache directory: the cache is on disk.
    const other = client({ cacheDir: c.config.cacheDir });
    expect((await other.getModelsById(ids)).models.size).toBe(3);
    expect(fake.count()).toBe(0);
    await c.getModelsById(ids, { refresh: true });
    expect(idsAsked(fake)).toEqual([4]);
  });

  test('ids the base host leaves out are asked on the fallback host, and only those', async () => {
    const here = models(2);
    const onlyRed = models(1, red);
    const r = await client({ fallbackBaseUrls: [red.url] }).getModelsById([...here, ...onlyRed, 2_000_000_002]);
    expect(r.models.size).toBe(3);
    expect(r.models.get(onlyRed[0])!.id).toBe(onlyRed[0]);
    expect(idsAsked(fake)).toEqual([4]);
    expect(red.requests.map((q) => new URL(q.url, 'http://x').searchParams.get('ids'))).toEqual([`${onlyRed[0]},2000000002`]);
    expect(r.missing).toEqual([2_000_000_002]);
  });

  test('an offline host fails every chunk at once after the first, each with its ids; bad ids are a one-line error', async () => {
    const c = new CivitaiClient(fastOptions(fake, { baseUrl: `http://127.0.0.1:${await closedPort()}` }));
    clients.push(c);
    const ids = Array.from({ length: 250 }, (_, i) => 3_000_000 + i);
    const r = await c.getModelsById(ids);
    expect(r.models.size).toBe(0);
    expect(r.failed.map((f) => f.ids.length)).toEqual([100, 100, 50]);
    expect(r.failed.every((f) => f.error.code === 'civitai_offline')).toBe(true);
    // The first chunk is tried twice (an unreachable host is retried once); the others not at all.
    expect(c.requestCount).toBe(2);
    await expect(c.getModelsById([1, -2])).rejects.toThrow(/^not a Civitai model id: -2$/);
  });
});
