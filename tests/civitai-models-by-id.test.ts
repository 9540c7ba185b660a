// Many models by id (`GET /models?ids=`), against the fake Civitai over real HTTP:
// 100 ids a request, pages followed, fallback hosts for ids left out, the cache,
// and a failed request that loses only its own ids.
import { CivitaiClient, CivitaiError, type CivitaiOptions } from '../src/core/civitai';
import { FakeCivitai } from './fake-civitai';
import { closedPort, fastOptions, TOKEN } from './helpers/civitai';

let fake: FakeCivitai;
let red: FakeCivitai;
const clients: CivitaiClient[] = [];

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
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

let serial = 0;
/** `n` models on `on`, each with one version; returns their ids. */
function models(n: number, on: FakeCivitai = fake, extra: { nsfw?: boolean } = {}): number[] {
  return Array.from({ length: n }, () => {
    const tag = (++serial).toString(16).padStart(8, '0');
    return on.addVersion({ ...extra, files: [{ name: `m${serial}.safetensors`, hashes: { SHA256: tag.repeat(8) } }] }).modelId;
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
