// Tolerant parsing against every real fixture body, the drifting fields one by one,
// and the pure timing rules (backoff, Retry-After) and configuration defaults.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BadResponse,
  backoffDelay,
  commercialUses,
  normaliseHashes,
  nsfwFlag,
  nsfwLevelOf,
  parseImagePage,
  parseModel,
  parseModelPage,
  parseModelVersion,
  parseModelVersionList,
  parseRetryAfter,
  resolveConfig,
  type ModelVersion,
  type ParseContext,
} from '../src/core/civitai';

const FIXTURES = join(__dirname, 'fixtures', 'civitai');
const ctx: ParseContext = { where: 'test/api', downloadBase: 'https://civitai.com', siteBase: 'https://civitai.com' };
const load = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const find = (prefix: string) => readdirSync(FIXTURES).find((n) => n.startsWith(prefix))!;

function expectWellFormed(v: ModelVersion): void {
  expect(Number.isInteger(v.id) && v.id > 0).toBe(true);
  expect(Number.isInteger(v.modelId) && v.modelId > 0).toBe(true);
  expect(typeof v.model.name).toBe('string');
  expect(Array.isArray(v.trainedWords)).toBe(true);
  for (const f of v.files) {
    expect(typeof f.primary).toBe('boolean');
    for (const value of Object.values(f.hashes)) expect(value).toMatch(/^[0-9A-F]+$/);
    expect(f.downloadUrl.startsWith(`https://civitai.com/api/download/models/${v.id}`)).toBe(true);
  }
  for (const i of v.images) expect(typeof i.nsfw).toBe('boolean');
  expect(v.pageUrl).toBe(`https://civitai.com/models/${v.modelId}?modelVersionId=${v.id}`);
}

describe('every real fixture body parses into the typed shape', () => {
  const files = readdirSync(FIXTURES).filter((n) => /\.(json|info)$/.test(n));
  const modelRecords = files.filter((n) => /^(models-item_|models-id_|wiki_models-id_)/.test(n));
  const pages = files.filter((n) => /^(models_list_|wiki_models_limit)/.test(n));
  const versions = files.filter((n) => /^(PARTIAL_by-hash|wiki_model-versions-id|THIRDPARTY-GENERATED_civitai-info)/.test(n));

  test('the fixture set is the one copied (guards against an empty loop)', () => {
    expect(modelRecords.length).toBeGreaterThanOrEqual(9);
    expect(pages).toHaveLength(2);
    expect(versions).toHaveLength(3);
  });

  test.each(modelRecords)('model record %s', (name) => {
    const raw = load(name);
    const model = parseModel(raw, ctx);
    expect(model.id).toBe(raw.id);
    expect(model.versions).toHaveLength(raw.modelVersions.length);
    for (const v of model.versions) {
      expectWellFormed(v);
      expect(v.model.id).toBe(raw.id);
      expect(v.model.type).toBe(raw.type);
    }
    expect(Array.isArray(model.allowCommercialUse)).toBe(true);
  });

  test.each(pages)('model page %s', (name) => {
    const raw = load(name);
    const page = parseModelPage(raw, ctx);
    expect(page.items).toHaveLength(raw.items.length);
    for (const m of page.items) for (const v of m.versions) expectWellFormed(v);
  });

  test.each(versions)('version body %s', (name) => {
    const raw = load(name);
    const v = parseModelVersion(raw, ctx);
    expect(v.id).toBe(raw.id);
    expectWellFormed(v);
    expect(v.files.filter((f) => f.primary)).toHaveLength(1);
  });

  test('images page (2023: string nsfwLevel, boolean nsfw)', () => {
    const page = parseImagePage(load('wiki_images_limit1.json'), ctx);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ id: 469632, nsfwLevel: 1, nsfw: false });
    expect(page.nextCursor).toBe('101');
  });

  test('the 2024 cursor metadata is read', () => {
    expect(parseModelPage(load(find('models_list_')), ctx).nextCursor).toBe('22138|364671|25494');
  });
});

describe('drifting fields', () => {
  test('modern by-hash body: air, hashes incl. AutoV3, numeric image nsfwLevel', () => {
    const v = parseModelVersion(load(find('PARTIAL_by-hash')), ctx);
    expect(v.air).toBe('urn:air:flux1:lora:civitai:706978@1050496');
    expect(v.files[0].hashes).toEqual({
      AutoV1: '88828AE7',
      AutoV2: '21437EC266',
      SHA256: '21437EC26670E230B067CA936F6657CAF5CA063F15AEC333EF249BEC7C0F0DC0',
      CRC32: 'F8F2BE29',
      BLAKE3: 'AAA6F513C4BFA00031941F3A427046D31A12B161CBE2CE75AAB260C74D13C0FC',
      AutoV3: '7AAE878CB805',
    });
    expect(v.images[0]).toMatchObject({ nsfwLevel: 2, nsfw: true });
    expect(v.baseModel).toBe('Flux.1 D');
    expect(v.trainedWords).toEqual(['aesthetic_pos3', 'dynamic_pos3']);
  });

  test('missing hash keys stay absent (EasyNegative: no AutoV1, no AutoV3)', () => {
    const m = parseModel(load(find('models-item_7808_')), ctx);
    const hashes = m.versions[0].files[0].hashes;
    expect(hashes.SHA256).toMatch(/^[0-9A-F]{64}$/);
    expect('AutoV1' in hashes).toBe(false);
    expect('AutoV3' in hashes).toBe(false);
  });

  test('primary absent on non-primary files becomes false; the one primary stays', () => {
    const m = parseModel(load(find('models-item_4201_')), ctx);
    const v = m.versions.find((x) => x.id === 105674)!;
    expect(v.files).toHaveLength(4);
    expect(v.files.map((f) => f.primary)).toEqual([true, false, false, false]);
    // Non-primary download URLs keep the server's selectors, on the configured host.
    expect(v.files[2].downloadUrl).toBe('https://civitai.com/api/download/models/105674?type=Model&format=PickleTensor&size=full&fp=fp16');
    expect(v.files[0].downloadUrl).toBe('https://civitai.com/api/download/models/105674');
  });

  test('download URLs are rebuilt on the configured host, never the host in the body; a token in them is dropped', () => {
    const page = parseModelPage(load(find('models_list_')), { ...ctx, downloadBase: 'http://127.0.0.1:9' });
    const urls = page.items.flatMap((m) => m.versions.flatMap((v) => [v.downloadUrl, ...v.files.map((f) => f.downloadUrl)]));
    expect(urls.length).toBeGreaterThan(10);
    for (const u of urls) expect(u.startsWith('http://127.0.0.1:9/api/download/models/')).toBe(true);
    const v = parseModelVersion(
      { id: 5, modelId: 6, files: [{ name: 'a', primary: true, hashes: {}, downloadUrl: 'https://civitai.red/api/download/models/5?token=SECRET&type=Model' }] },
      ctx,
    );
    expect(v.files[0].downloadUrl).toBe('https://civitai.com/api/download/models/5?type=Model');
  });

  test('nsfw: boolean, "true"/"false", legacy words, numeric and bitmask', () => {
    expect(nsfwFlag(true)).toBe(true);
    expect(nsfwFlag(false)).toBe(false);
    expect(nsfwFlag('true')).toBe(true);
    expect(nsfwFlag('false')).toBe(false);
    expect(nsfwFlag('None')).toBe(false);
    expect(nsfwFlag('Soft')).toBe(true);
    expect(nsfwFlag('Mature')).toBe(true);
    expect(nsfwFlag('X')).toBe(true);
    expect(nsfwFlag(undefined, 1)).toBe(false);
    expect(nsfwFlag(undefined, 3)).toBe(true);
    expect(nsfwFlag(undefined, 28)).toBe(true);
    expect(nsfwFlag(undefined, undefined)).toBe(false);
    expect(nsfwLevelOf('Mature')).toBe(4);
    expect(nsfwLevelOf('16')).toBe(16);
    expect(nsfwLevelOf(31)).toBe(31);
    expect(nsfwLevelOf('weird')).toBeNull();
  });

  test('nsfw forms in real bodies: boolean (2023 wiki), words (2023-07), numeric level (2024+)', () => {
    const wiki = parseModel(load(find('wiki_models-id_1102')), ctx);
    expect(wiki.versions[0].images[0]).toMatchObject({ nsfw: true });
    const poses = parseModel(load(find('models-item_76882_')), ctx);
    const imgs = poses.versions.flatMap((v) => v.images);
    expect(imgs.some((i) => i.nsfwLevel === 4 && i.nsfw)).toBe(true); // "Mature"
    expect(imgs.some((i) => i.nsfwLevel === 1 && !i.nsfw)).toBe(true); // "None"
    const modern = parseModel(load(find('models-id_1580878')), ctx);
    expect(modern.nsfwLevel).toBe(7);
    expect(modern.nsfw).toBe(false);
  });

  test('allowCommercialUse: single string, array, Postgres array text, "None"', () => {
    expect(commercialUses('Sell')).toEqual(['Sell']);
    expect(commercialUses('None')).toEqual([]);
    expect(commercialUses(['Sell', 'Image', 'RentCivit', 'Rent'])).toEqual(['Sell', 'Image', 'RentCivit', 'Rent']);
    expect(commercialUses('{Image,RentCivit}')).toEqual(['Image', 'RentCivit']);
    expect(commercialUses([])).toEqual([]);
    expect(commercialUses(null)).toEqual([]);
    expect(parseModel(load(find('models-item_4379_')), ctx).allowCommercialUse).toEqual(['Rent']);
    expect(parseModel(load(find('models-id_1580878')), ctx).allowCommercialUse).toEqual(['Sell', 'Image', 'RentCivit', 'Rent']);
  });

  test('hash keys in any case, values upper-cased, junk dropped', () => {
    expect(normaliseHashes({ sha256: 'abcdef', autov3: '0x7aae878cb805', CRC32: 12, Unknown: 'AB', AutoV2: 'not hex' })).toEqual({
      SHA256: 'ABCDEF',
      AutoV3: '7AAE878CB805',
    });
  });

  test('bulk replies: null elements and unreadable elements are dropped, the rest kept', () => {
    const good = load(find('PARTIAL_by-hash'));
    const { versions, dropped } = parseModelVersionList([null, good, { name: 'no id' }, 7], ctx);
    expect(versions.map((v) => v.id)).toEqual([1050496]);
    expect(dropped).toBe(3);
  });

  test('wrong shapes are BadResponse, naming where', () => {
    expect(() => parseModelVersion([], ctx)).toThrow(BadResponse);
    expect(() => parseModelVersion(null, ctx)).toThrow(BadResponse);
    expect(() => parseModelVersion({ name: 'x', files: [] }, ctx)).toThrow(/wrong shape/);
    expect(() => parseModelVersion({ id: 3 }, ctx)).toThrow(/modelId/);
    expect(() => parseModelVersionList({ items: [] }, ctx)).toThrow(BadResponse);
    expect(() => parseModel({ items: [] }, ctx)).toThrow(BadResponse);
    expect(() => parseModelPage([], ctx)).toThrow(BadResponse);
    expect(() => parseModelPage({ metadata: {} }, ctx)).toThrow(/test\/api/);
  });
});

describe('retry timing rules', () => {
  test('backoff doubles from the base, jitter within ±20 %, capped', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect(backoffDelay(1, 1000, 30000, low)).toBe(800);
    expect(backoffDelay(1, 1000, 30000, high)).toBe(1200);
    expect(backoffDelay(3, 1000, 30000, low)).toBe(3200);
    expect(backoffDelay(3, 1000, 30000, high)).toBe(4800);
    expect(backoffDelay(10, 1000, 30000, high)).toBe(30000);
    expect(backoffDelay(10, 1000, 30000, low)).toBe(24000);
    for (let r = 1; r < 40; r++) expect(backoffDelay(r, 1000, 30000)).toBeLessThanOrEqual(30000);
  });

  test('Retry-After: seconds, HTTP date, garbage, past date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(['3', '9'], now)).toBe(3000);
  });

  test('defaults are sane: 1 s base, 30 s cap, bounded attempts, a timeout, civitai.red fallback only for civitai.com', () => {
    const c = resolveConfig({}, {});
    expect(c.baseUrl).toBe('https://civitai.com');
    expect(c.baseDelayMs).toBe(1000);
    expect(c.maxDelayMs).toBe(30000);
    expect(c.maxAttempts).toBeGreaterThanOrEqual(3);
    expect(c.maxAttempts).toBeLessThanOrEqual(8);
    expect(c.timeoutMs).toBeGreaterThan(0);
    expect(c.fallbackBaseUrls).toEqual(['https://civitai.red']);
    expect(c.token).toBeUndefined();
    expect(c.userAgent).not.toMatch(/mozilla|chrome|safari|firefox|opera|edge/i);
    const other = resolveConfig({}, { CIVITAI_BASE_URL: 'http://127.0.0.1:1234/', CIVITAI_TOKEN: 'tok' });
    expect(other.baseUrl).toBe('http://127.0.0.1:1234');
    expect(other.fallbackBaseUrls).toEqual([]);
    expect(other.token).toBe('tok');
    expect(resolveConfig({ token: 'opt' }, { CIVITAI_TOKEN: 'env' }).token).toBe('opt');
    expect(resolveConfig({}, { CIVITAI_FALLBACK_BASE_URLS: 'https://civitai.green, https://civitai.red' }).fallbackBaseUrls).toEqual([
      'https://civitai.green',
      'https://civitai.red',
    ]);
  });

  test('cache dir: MODELDECK_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(resolveConfig({}, { MODELDECK_CACHE_DIR: '/c' }).cacheDir).toBe('/c/civitai');
    expect(resolveConfig({}, { XDG_CACHE_HOME: '/x' }).cacheDir).toBe('/x/modeldeck/civitai');
    expect(resolveConfig({}, {}).cacheDir).toMatch(/\.cache\/modeldeck\/civitai$/);
  });
});
