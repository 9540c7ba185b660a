// The fake Civitai itself: that it answers the way reference §10 says the real one does,
// so the client tests above test against something faithful.
import { request } from 'undici';
import { FakeCivitai } from './fake-civitai';
import { FLUX_LORA } from './helpers/civitai';

let fake: FakeCivitai;
beforeAll(async () => {
  fake = await new FakeCivitai({ token: 'dl-token' }).start();
});
afterEach(() => fake.reset());
afterAll(() => fake.stop());

async function get(path: string, init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {}) {
  const res = await request(`${fake.url}${path}`, { method: init.method ?? 'GET', body: init.body, headers: init.headers });
  const buf = Buffer.from(await res.body.arrayBuffer());
  const type = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, headers: res.headers, type, buf, json: type.includes('json') && buf.length ? JSON.parse(buf.toString()) : undefined };
}

test('by-hash body derived from the /models record (§10): modelId, model, air, primary on all files, stats cut, no image id', async () => {
  expect(await get('/api/v1/model-versions/by-hash/0123456789AB')).toMatchObject({ status: 404, json: { error: 'Model not found' } });
  const sha = (await get('/api/v1/models/4201')).json.modelVersions.find((v: { id: number }) => v.id === 105674).files[2].hashes.SHA256;
  const hit = await get(`/api/v1/model-versions/by-hash/${sha.toLowerCase()}`);
  expect(hit.status).toBe(200);
  expect(hit.headers['cache-control']).toBe('public, s-maxage=3600, stale-while-revalidate=1800');
  const v = hit.json;
  expect(v).toMatchObject({ id: 105674, modelId: 4201, model: { name: expect.stringMatching(/Realistic Vision/), type: 'Checkpoint', nsfw: false, poi: false } });
  expect(v.air).toBe('urn:air:sd1:checkpoint:civitai:4201@105674');
  expect(v.files.map((f: { primary: unknown }) => f.primary)).toEqual([true, false, false, false]);
  expect(Object.keys(v.stats).sort()).toEqual(['downloadCount', 'thumbsUpCount']);
  expect(v.images.every((i: { id?: unknown; url: string }) => i.id === undefined && i.url.startsWith(`${fake.url}/image-cdn/`))).toBe(true);
  expect(v).toMatchObject({ uploadType: 'Created', usageControl: 'Download', trainingStatus: null, earlyAccessConfig: null });
  expect(v.files[2].downloadUrl).toBe(`${fake.url}/api/download/models/105674?type=Model&format=PickleTensor&size=full&fp=fp16`);
});

test('/models/:id: primary absent on non-primary files, no image id; 404 and 400 bodies', async () => {
  const m = (await get('/api/v1/models/4201')).json;
  const v = m.modelVersions.find((x: { id: number }) => x.id === 105674);
  expect(v.files.map((f: object) => 'primary' in f)).toEqual([true, false, false, false]);
  expect(v.images[0].id).toBeUndefined();
  expect(await get('/api/v1/models/999999999')).toMatchObject({ status: 404, json: { error: 'No model with id 999999999' } });
  expect((await get('/api/v1/models/abc')).status).toBe(400);
  expect(await get('/api/v1/model-versions/999999999')).toMatchObject({ status: 404, json: { error: 'Model not found' } });
});

test('unknown paths answer an HTML 404 page', async () => {
  const r = await get('/api/v1/models-versions/by-hash/ABC');
  expect(r.status).toBe(404);
  expect(r.type).toMatch(/text\/html/);
  expect(fake.count('unknown')).toBe(1);
});

test('POST by-hash validates its body like Civitai; by-hash/ids answers {modelVersionId, modelId, hash}', async () => {
  const bad = await get('/api/v1/model-versions/by-hash', { method: 'POST', body: JSON.stringify(['abc']) });
  expect(bad.status).toBe(400);
  expect(bad.json.error).toMatch(/^Request must include an array of SHA256 Hashes\./);
  const tooMany = await get('/api/v1/model-versions/by-hash', { method: 'POST', body: JSON.stringify(Array(101).fill(FLUX_LORA.SHA256)) });
  expect(tooMany.status).toBe(400);
  const ok = await get('/api/v1/model-versions/by-hash', { method: 'POST', body: JSON.stringify([FLUX_LORA.SHA256.toLowerCase(), 'F'.repeat(64)]) });
  expect(ok.json.map((v: { id: number }) => v.id)).toEqual([FLUX_LORA.versionId]);
  const ids = await get('/api/v1/model-versions/by-hash/ids', { method: 'POST', body: JSON.stringify([FLUX_LORA.SHA256]) });
  expect(ids.json).toEqual([{ modelVersionId: FLUX_LORA.versionId, modelId: FLUX_LORA.modelId, hash: FLUX_LORA.SHA256 }]);
  expect(fake.counts()).toEqual({ 'by-hash-bulk': 3, 'by-hash-ids': 1 });
});

test('/models: page*limit > 1000 is 429 with the exact message; query+page is 400; nsfw filter; cursor paging', async () => {
  expect(await get('/api/v1/models?limit=100&page=11')).toMatchObject({ status: 429, json: { error: "You've requested too many pages, please use cursors instead" } });
  expect((await get('/api/v1/models?query=x&page=1')).status).toBe(400);
  const { modelId } = fake.addVersion({ nsfw: true, files: [{ name: 'n.safetensors', hashes: { SHA256: 'A'.repeat(64) } }] });
  expect((await get(`/api/v1/models?ids=${modelId}`)).json.items).toHaveLength(0);
  expect((await get(`/api/v1/models?ids=${modelId}&nsfw=true`)).json.items).toHaveLength(1);
  const p1 = (await get('/api/v1/models?limit=2&nsfw=true')).json;
  expect(p1.items).toHaveLength(2);
  expect(p1.metadata.nextCursor).toBe('2');
  expect(p1.metadata.currentPage).toBeUndefined();
  const p2 = (await get(`/api/v1/models?limit=2&nsfw=true&cursor=${p1.metadata.nextCursor}`)).json;
  expect(p2.items[0].id).not.toBe(p1.items[0].id);
  expect((await get('/api/v1/models?limit=2&page=1')).json.metadata).toMatchObject({ currentPage: 1, pageSize: 2 });
});

test('/images: string nsfwLevel, numeric browsingLevel, meta only withMeta', async () => {
  const { versionId } = fake.addVersion({ images: 2, files: [{ name: 'i.safetensors', hashes: { SHA256: 'B'.repeat(64) } }] });
  const page = (await get(`/api/v1/images?modelVersionId=${versionId}`)).json;
  expect(page.items).toHaveLength(2);
  expect(page.items[0]).toMatchObject({ nsfwLevel: 'None', browsingLevel: 1, nsfw: false, meta: null });
  expect((await get(`/api/v1/images?modelVersionId=${versionId}&withMeta=true`)).json.items[0].meta).toMatchObject({ prompt: 'test prompt 0' });
});

test('preview images are real PNG/JPEG bytes', async () => {
  const png = await get('/image-cdn/x/width=450/1.png');
  expect(png.type).toBe('image/png');
  expect(png.buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const jpg = await get('/image-cdn/x/width=450/1.jpeg');
  expect(jpg.type).toBe('image/jpeg');
  expect([...jpg.buf.subarray(0, 2)]).toEqual([0xff, 0xd8]);
  expect([...jpg.buf.subarray(-2)]).toEqual([0xff, 0xd9]);
});

test('downloads: 307 to the file, Content-Disposition name, token honoured (header or ?token=)', async () => {
  const content = Buffer.from('weights');
  const { versionId } = fake.addVersion({ requireAuth: true, files: [{ name: 'w.safetensors', hashes: { SHA256: 'C'.repeat(64) }, content }] });
  const denied = await get(`/api/download/models/${versionId}`);
  expect(denied).toMatchObject({ status: 401, json: { error: 'Unauthorized' } });
  const redirect = await get(`/api/download/models/${versionId}`, { headers: { authorization: 'Bearer dl-token' } });
  expect(redirect.status).toBe(307);
  expect((await get(`/api/download/models/${versionId}?token=dl-token`)).status).toBe(307);
  const file = await get(String(redirect.headers.location));
  expect(file.headers['content-disposition']).toBe('attachment; filename="w.safetensors"');
  expect(file.buf).toEqual(content);
});

test('faults are consumed per route and in order; counters per endpoint', async () => {
  fake.inject({ kind: 'status', status: 503, retryAfter: 2 }, { route: 'model' });
  fake.inject({ kind: 'html', status: 403 });
  const a = await get('/api/v1/models/4201');
  expect(a.status).toBe(503);
  expect(a.headers['retry-after']).toBe('2');
  const b = await get('/api/v1/models/4201');
  expect(b.status).toBe(403);
  expect(b.type).toMatch(/html/);
  expect((await get('/api/v1/models/4201')).status).toBe(200);
  expect(fake.count('model')).toBe(3);
});
