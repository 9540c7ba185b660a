/**
 * Previews: choosing the image (NSFW limit, stills only, width=450), and
 * downloading it over real HTTP from the fake Civitai: always named
 * `.preview.png` (the name Civitai Helper and qDiffusion find), bytes checked
 * to be an image, WebP not asked for, size cap, non-images refused, no
 * overwrite (also of names earlier versions wrote), timeout, bounded concurrency.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelVersion, type ModelVersion, type PreviewImage } from '../src/core/civitai';
import { choosePreview, downloadPreview, downloadPreviews, sizedImageUrl, PreviewError } from '../src/core/sidecars';
import { OutboundPolicy } from '../src/core/net';
import { FakeCivitai, tinyJpeg, tinyPng, tinyWebp } from './fake-civitai';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-previews-');
let fake: FakeCivitai;
/** The fake is the configured Civitai base, so its origin (and only it) may be fetched from. */
let policy: OutboundPolicy;
beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  policy = new OutboundPolicy({ baseUrl: fake.url });
});
afterAll(async () => {
  await policy.close();
  await fake.stop();
});
beforeEach(() => fake.reset());

let n = 0;
function library(models = 1): { root: string; dir: string; models: string[] } {
  const root = join(tmp.path, `lib-${++n}`);
  const dir = join(root, 'Lora');
  mkdirSync(dir, { recursive: true });
  const list = Array.from({ length: models }, (_, i) => {
    const p = join(dir, `model ${i}.safetensors`);
    writeFileSync(p, Buffer.alloc(8));
    return p;
  });
  return { root, dir, models: list };
}

async function versionFromFake(versionId: number): Promise<ModelVersion> {
  const res = await fetch(`${fake.url}/api/v1/model-versions/${versionId}`);
  return parseModelVersion(await res.json(), { where: 'fake', downloadBase: fake.url, siteBase: fake.url });
}

/** A URL on the fake whose path ends in `.jpeg` but whose bytes are `content`. */
function servedAs(content: Buffer, name = 'img.jpeg'): string {
  const { versionId, fileIds } = fake.addVersion({ files: [{ name, hashes: { SHA256: 'ab'.repeat(32) }, content }], images: 0 });
  return `${fake.url}/files/${versionId}/${fileIds[0]}/${name}`;
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

function img(partial: Partial<PreviewImage>): PreviewImage {
  return { id: null, url: 'https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/uuid/width=1664/1.jpeg', width: 1664, height: 2432, nsfwLevel: 1, nsfw: false, type: 'image', blurhash: null, meta: null, ...partial };
}

describe('choosePreview', () => {
  test('first still image within the NSFW limit (default PG-13), as the width=450 variant', () => {
    const images = [
      img({ type: 'video', url: 'https://image.civitai.com/x/u/transcode=true,width=450/9.mp4' }),
      img({ nsfwLevel: 4, url: 'https://image.civitai.com/x/u/width=1664/2.jpeg' }),
      img({ nsfwLevel: null, url: 'https://image.civitai.com/x/u/width=1664/3.jpeg' }),
      img({ nsfwLevel: 2, url: 'https://image.civitai.com/x/u/original=true/4.jpeg' }),
    ];
    expect(choosePreview(images)?.url).toBe('https://image.civitai.com/x/u/width=450/4.jpeg');
    expect(choosePreview(images, 4)?.url).toBe('https://image.civitai.com/x/u/width=450/2.jpeg');
    expect(choosePreview(images, 1)).toBeNull();
    expect(choosePreview([img({ nsfwLevel: 32 })], 63)).toBeNull(); // Blocked never
  });

  test('a video-only gallery yields none', () => {
    expect(choosePreview([img({ type: 'video' }), img({ type: 'video', nsfwLevel: 1 })])).toBeNull();
  });

  test('width=450 rewrite of Civitai URL forms; other URLs unchanged', () => {
    expect(sizedImageUrl('https://image.civitai.com/a/u/width=450,optimized=true/5.jpeg', 450)).toBe('https://image.civitai.com/a/u/width=450/5.jpeg');
    expect(sizedImageUrl('https://example.com/pic.png', 450)).toBe('https://example.com/pic.png');
  });
});

describe('downloadPreview against the fake Civitai', () => {
  test('a version\'s chosen image is saved as base.preview.png; WebP is not asked for, so the image server answers JPEG', async () => {
    const lib = library();
    const { versionId } = fake.addVersion({ files: [{ name: 'x.safetensors', hashes: { SHA256: 'cd'.repeat(32) } }], images: 2 });
    const version = await versionFromFake(versionId);
    const chosen = choosePreview(version.images)!;
    expect(chosen.url).toMatch(/\/width=450\/\d+\.jpeg$/);
    const name = await downloadPreview(lib.root, chosen.url, lib.models[0], { policy });
    expect(name).toBe('model 0.preview.png');
    // The fake answers WebP to any client that accepts it, as Civitai's image server does.
    const [request] = fake.requests.filter((r) => r.route === 'image-cdn');
    expect(request.accept).toMatch(/image\/jpeg/);
    expect(request.accept).not.toMatch(/webp/i);
    expect(readFileSync(join(lib.dir, name)).equals(tinyJpeg())).toBe(true);
    expect(leftovers(lib.dir)).toEqual([]);
  });

  test('an image kept only as WebP is still saved as .preview.png, its bytes WebP', async () => {
    const lib = library();
    const url = `${fake.url}/image-cdn/xG1nkqKTMzGDvpLrqFT7WA/u/width=450/7.webp`;
    expect(await downloadPreview(lib.root, url, lib.models[0], { policy })).toBe('model 0.preview.png');
    expect(readFileSync(join(lib.dir, 'model 0.preview.png')).equals(tinyWebp())).toBe(true);
    expect(readdirSync(lib.dir).sort()).toEqual(['model 0.preview.png', 'model 0.safetensors']);
  });

  test('URL says .jpeg, bytes are PNG: checked by the bytes, saved as .preview.png (also through a redirect)', async () => {
    const lib = library(2);
    const url = servedAs(tinyPng());
    expect(await downloadPreview(lib.root, url, lib.models[0], { policy })).toBe('model 0.preview.png');
    expect(readFileSync(join(lib.dir, 'model 0.preview.png')).equals(tinyPng())).toBe(true);
    // /api/download/models/:id answers 307 to /files/...
    const { versionId } = fake.addVersion({ files: [{ name: 'p.jpeg', hashes: { SHA256: 'ef'.repeat(32) }, content: tinyPng() }], images: 0 });
    expect(await downloadPreview(lib.root, `${fake.url}/api/download/models/${versionId}`, lib.models[1], { policy })).toBe('model 1.preview.png');
    expect(fake.count('download')).toBe(1);
  });

  test('over the size cap: aborted, nothing written', async () => {
    const lib = library();
    const big = Buffer.concat([tinyPng(), Buffer.alloc(200_000)]);
    const err = await downloadPreview(lib.root, servedAs(big), lib.models[0], { policy, maxBytes: 50_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(PreviewError);
    expect(err.message).toMatch(/over the 50000-byte cap/);
    expect(readdirSync(lib.dir)).toEqual(['model 0.safetensors']);
  });

  test.each([
    ['an HTML page', Buffer.from('<!DOCTYPE html><html><body>Just a moment...</body></html>')],
    ['garbage bytes', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])],
    ['an empty body', Buffer.alloc(0)],
  ])('%s is refused and nothing is written', async (_label, content) => {
    const lib = library();
    const err = await downloadPreview(lib.root, servedAs(content), lib.models[0], { policy }).catch((e) => e);
    expect(err).toBeInstanceOf(PreviewError);
    expect(err.message).toMatch(/not an image|empty response/);
    expect(readdirSync(lib.dir)).toEqual(['model 0.safetensors']);
  });

  test('an HTTP error status is an error, nothing written', async () => {
    const lib = library();
    fake.inject({ kind: 'html', status: 503 }, { route: 'image-cdn' });
    const url = `${fake.url}/image-cdn/x/width=450/1.jpeg`;
    await expect(downloadPreview(lib.root, url, lib.models[0], { policy })).rejects.toThrow(/HTTP 503/);
    expect(readdirSync(lib.dir)).toEqual(['model 0.safetensors']);
  });

  test('previews earlier modeldeck versions named by their bytes (.preview.jpg, .preview.webp) count as existing: no duplicate', async () => {
    const lib = library(2);
    writeFileSync(join(lib.dir, 'model 0.preview.jpg'), tinyJpeg());
    writeFileSync(join(lib.dir, 'model 1.preview.webp'), tinyWebp());
    const url = `${fake.url}/image-cdn/x/width=450/1.jpeg`;
    const results = await downloadPreviews(lib.root, lib.models.map((modelPath) => ({ url, modelPath })), { policy });
    expect(results).toEqual([{ existing: 'model 0.preview.jpg' }, { existing: 'model 1.preview.webp' }]);
    expect(fake.count('image-cdn')).toBe(0);
    expect(readdirSync(lib.dir).filter((f) => f.includes('.preview.')).sort()).toEqual(['model 0.preview.jpg', 'model 1.preview.webp']);
  });

  test('an existing preview is never overwritten unless asked (and no request is made)', async () => {
    const lib = library(2);
    writeFileSync(join(lib.dir, 'model 0.preview.jpeg'), 'mine');
    writeFileSync(join(lib.dir, 'model 1.webp'), 'mine too'); // LM-style bare preview
    const url = `${fake.url}/image-cdn/x/width=450/1.png`;
    await expect(downloadPreview(lib.root, url, lib.models[0], { policy })).rejects.toThrow(/model 0\.preview\.jpeg already exists/);
    await expect(downloadPreview(lib.root, url, lib.models[1], { policy })).rejects.toThrow(/already exists/);
    expect(fake.count('image-cdn')).toBe(0);
    expect(readFileSync(join(lib.dir, 'model 0.preview.jpeg'), 'utf8')).toBe('mine');
    const results = await downloadPreviews(lib.root, [{ url, modelPath: lib.models[0] }], { policy });
    expect(results).toEqual([{ existing: 'model 0.preview.jpeg' }]);
    expect(await downloadPreview(lib.root, url, lib.models[0], { policy, overwrite: true })).toBe('model 0.preview.png');
  });

  test('a server slower than the timeout: error, nothing written', async () => {
    const lib = library();
    // A server that would answer only after 10 minutes: the error coming back at all shows the timeout, with no clock in the test.
    fake.inject({ kind: 'slow', delayMs: 600_000 }, { route: 'image-cdn' });
    const err = await downloadPreview(lib.root, `${fake.url}/image-cdn/x/width=450/1.png`, lib.models[0], { policy, timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(PreviewError);
    expect(err.message).toMatch(/within 0\.3 s/);
    expect(readdirSync(lib.dir)).toEqual(['model 0.safetensors']);
  });
});

describe('downloadPreviews', () => {
  test('at most `concurrency` downloads in flight (from the fake\'s arrival log); one result per job, in order', async () => {
    const lib = library(10);
    const delay = 250;
    fake.inject({ kind: 'slow', delayMs: delay }, { route: 'image-cdn', times: 10 });
    const jobs = lib.models.map((modelPath, i) => ({ modelPath, url: `${fake.url}/image-cdn/x/width=450/${i}.${i % 2 ? 'png' : 'jpeg'}` }));
    const results = await downloadPreviews(lib.root, jobs, { concurrency: 3, policy });
    expect(results.map((r) => r.file)).toEqual(lib.models.map((_, i) => `model ${i}.preview.png`));
    const at = fake.requests.filter((r) => r.route === 'image-cdn').map((r) => r.at).sort((a, b) => a - b);
    expect(at).toHaveLength(10);
    // Each request is held `delay` ms, so requests arriving within less than that overlapped.
    const inFlight = at.map((t) => at.filter((u) => u >= t && u < t + delay * 0.8).length);
    expect(Math.max(...inFlight)).toBe(3);
    expect(leftovers(lib.dir)).toEqual([]);
    expect(existsSync(join(lib.dir, 'model 9.preview.png'))).toBe(true);
  });
});
