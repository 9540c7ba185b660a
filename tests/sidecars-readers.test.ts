/**
 * Contract tests: what each reader tool takes from the files a real scan
 * writes beside the models (against the fake Civitai over real HTTP), one
 * `describe` per reader, naming what that reader's own code relies on
 * (docs/architecture.md "Sidecars and previews"; sidecar-formats.md §2, §3,
 * §7, §10). The library holds a LoRA whose preview answer is JPEG, one whose
 * only image is WebP, one whose Civitai base is "Other" (and whose images
 * carry no generation data), and a Flux LoRA.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Library, type ScanReport } from '../src/core/library';
import { FakeCivitai, tinyJpeg, tinyWebp } from './fake-civitai';
import { TOKEN } from './helpers/civitai';
import { loraBytes, register, writeModel, type MadeFile } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-readers-');
let fake: FakeCivitai;
let report: ScanReport;
let firstCounts: ReturnType<FakeCivitai['counts']>;
let modelsRequests: FakeCivitai['requests'];
const root = () => join(tmp.path, 'drive');
const cacheDir = () => join(tmp.path, 'cache');
const files: Record<'jpeg' | 'webp' | 'other' | 'flux', MadeFile> = {} as never;
const ids: Record<keyof typeof files, { modelId: number; versionId: number }> = {} as never;

const A1111_SD_VERSIONS = ['SD1', 'SD2', 'SDXL', 'Unknown'];
const base = (f: MadeFile) => f.path.replace(/\.safetensors$/, '');
const info = (f: MadeFile) => JSON.parse(readFileSync(`${base(f)}.civitai.info`, 'utf8'));
const a1111 = (f: MadeFile) => JSON.parse(readFileSync(`${base(f)}.json`, 'utf8'));
const all = () => Object.values(files);

function civitai() {
  return { baseUrl: fake.url, fallbackBaseUrls: [], token: TOKEN, cacheDir: cacheDir(), maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 2000 };
}

async function scan(at: string, cache = cacheDir()): Promise<ScanReport> {
  const lib = await Library.open([at], { civitai: { ...civitai(), cacheDir: cache } });
  try {
    return await lib.scan();
  } finally {
    await lib.close();
  }
}

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  const lora = (name: string) => writeModel(root(), `models/Lora/${name}.safetensors`, loraBytes({ ss_output_name: name }));
  files.jpeg = lora('jpeg answer');
  files.webp = lora('webp answer');
  files.other = lora('other base');
  files.flux = lora('flux lora');
  ids.jpeg = register(fake, files.jpeg, {
    name: 'Red Hair Helper',
    baseModel: 'SD 1.5',
    trainedWords: ['mytrigger', 'red hair, smile'],
    description: '<p>A <b>test</b> LoRA &amp; more</p>',
    tags: ['style', 'hair'],
    creator: { username: 'alice', image: 'https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/avatar/width=96/alice.jpeg' },
  });
  ids.webp = register(fake, files.webp, { baseModel: 'SDXL 1.0', imageExt: 'webp', images: 1 });
  ids.other = register(fake, files.other, { baseModel: 'Other', imagesWithoutMeta: true });
  ids.flux = register(fake, files.flux, { baseModel: 'Flux.1 D' });
  fake.reset();
  report = await scan(root());
  firstCounts = fake.counts();
  modelsRequests = fake.requests.filter((r) => r.route === 'models');
});
afterAll(async () => {
  await fake.stop();
});

test('the scan identifies all four and writes every sidecar without a warning', () => {
  expect(report.identified).toBe(4);
  expect(report.warnings).toEqual([]);
  expect(report.previewsWritten).toBe(4);
});

describe('A1111 / Forge: extra-networks user metadata (base.json) and LoRA cards', () => {
  test('`activation text` is pasted into the prompt as it is: trained words joined with ", "', () => {
    expect(a1111(files.jpeg)['activation text']).toBe('mytrigger, red hair, smile');
    for (const f of all()) expect(a1111(f)['activation text']).not.toContain('||');
  });

  test('`sd version` is one of A1111\'s own names, or absent when Civitai\'s base says nothing', () => {
    for (const f of all()) {
      const v = a1111(f)['sd version'];
      if (v !== undefined) expect(A1111_SD_VERSIONS).toContain(v);
    }
    expect(a1111(files.jpeg)['sd version']).toBe('SD1');
    expect(a1111(files.webp)['sd version']).toBe('SDXL');
    // "Other": absent, so A1111 detects SD1 from the file and shows the LoRA with SD1 checkpoints.
    expect(a1111(files.other)).not.toHaveProperty('sd version');
    // Flux: Unknown, or A1111 would file it as SD1 from its metadata.
    expect(a1111(files.flux)['sd version']).toBe('Unknown');
  });

  test('`preferred weight` is a number A1111 accepts (0 = its default) and `description` is plain text', () => {
    for (const f of all()) {
      const w = a1111(f)['preferred weight'];
      expect(typeof w).toBe('number');
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(2);
    }
    // The model's description (what its Civitai page shows), HTML made text.
    expect(a1111(files.jpeg).description).toBe('A test LoRA & more');
  });

  test('find_preview finds base.preview.png', () => {
    for (const f of all()) expect(existsSync(`${base(f)}.preview.png`)).toBe(true);
  });
});

describe('Civitai Helper and its fork (CHZ): base.civitai.info and base.preview.png', () => {
  test('`id`, `modelId` and `trainedWords` as in the by-hash body', () => {
    for (const key of Object.keys(files) as Array<keyof typeof files>) {
      const body = info(files[key]);
      expect(body.id).toBe(ids[key].versionId);
      expect(body.modelId).toBe(ids[key].modelId);
      expect(Array.isArray(body.trainedWords)).toBe(true);
    }
    expect(info(files.jpeg).trainedWords).toEqual(['mytrigger', 'red hair, smile']);
  });

  test('`images[]` with `url`, `type` and `width`; no `"meta": null` (CHZ\'s "use preview prompt" breaks on it)', () => {
    for (const f of all()) {
      const { images } = info(f);
      expect(images.length).toBeGreaterThan(0);
      for (const img of images) {
        expect(typeof img.url).toBe('string');
        expect(img.type).toBe('image');
        expect(typeof img.width).toBe('number');
        expect(img.meta).not.toBeNull();
      }
    }
    expect(info(files.other).images.every((i: object) => !('meta' in i))).toBe(true);
    expect(info(files.jpeg).images[0].meta).toEqual({ prompt: 'test prompt 0', steps: 20 });
  });

  test('the preview is `<name>.preview.png` (the only name CH counts) for a JPEG and a WebP answer alike, bytes as served', () => {
    expect(readFileSync(`${base(files.jpeg)}.preview.png`).equals(tinyJpeg())).toBe(true);
    expect(readFileSync(`${base(files.webp)}.preview.png`).equals(tinyWebp())).toBe(true);
    const previews = readdirSync(join(root(), 'models/Lora')).filter((n) => n.includes('.preview.'));
    expect(previews.sort()).toEqual(all().map((f) => `${base(f).split('/').pop()}.preview.png`).sort());
  });
});

describe('ComfyUI-Lora-Manager: importing an existing base.civitai.info', () => {
  test('one `primary: true` file with `sizeKB` and `hashes.SHA256` of the model', () => {
    for (const f of all()) {
      const primary = info(f).files.filter((x: { primary?: boolean }) => x.primary === true);
      expect(primary).toHaveLength(1);
      expect(primary[0].sizeKB).toBeCloseTo(f.bytes.length / 1024, 6);
      expect(primary[0].hashes.SHA256).toBe(f.SHA256);
    }
  });

  test('`model.tags`, `model.description`, the four `model.allow*` license fields and `creator.username`', () => {
    const body = info(files.jpeg);
    expect(body.model.tags).toEqual(['style', 'hair']);
    expect(body.model.description).toBe('<p>A <b>test</b> LoRA &amp; more</p>');
    expect(body.model).toMatchObject({ allowNoCredit: true, allowCommercialUse: ['Image'], allowDerivatives: true, allowDifferentLicense: true });
    expect(body.creator).toEqual({ username: 'alice', image: 'https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/avatar/width=96/alice.jpeg' });
    for (const f of all()) expect(typeof info(f).creator.username).toBe('string');
  });

  test('`updatedAt` is kept (LM\'s detail view shows it)', () => {
    for (const f of all()) expect(Number.isNaN(Date.parse(info(f).updatedAt))).toBe(false);
  });
});

describe('qDiffusion explorer: base.civitai.info and its preview names', () => {
  test('`model.name`, `model.type`, `trainedWords`, `baseModel` and `description`', () => {
    const body = info(files.jpeg);
    expect(body.model.name).toBe('Red Hair Helper');
    expect(body.model.type).toBe('LORA');
    expect(body.trainedWords).toEqual(['mytrigger', 'red hair, smile']);
    expect(body.baseModel).toBe('SD 1.5');
    expect(info(files.other).baseModel).toBe('Other');
    for (const f of all()) expect(info(f)).toHaveProperty('description');
  });

  test('a preview among the names it finds (`.preview.png`, `.png`, `.jpg`, `.jpeg`)', () => {
    for (const f of all()) {
      const found = ['.preview.png', '.png', '.jpg', '.jpeg'].filter((ext) => existsSync(base(f) + ext));
      expect(found).toEqual(['.preview.png']);
    }
  });
});

describe('cost and secrecy', () => {
  test('the parent models of four identified LoRAs cost one `GET /models?ids=` request', () => {
    expect(firstCounts['by-hash-bulk']).toBe(1);
    expect(firstCounts.models).toBe(1);
    const asked = new URL(modelsRequests[0].url, 'http://x').searchParams;
    expect(asked.get('ids')!.split(',').map(Number).sort()).toEqual(Object.values(ids).map((i) => i.modelId).sort());
    expect(asked.get('nsfw')).toBe('true');
    expect(modelsRequests[0].authorization).toBe(`Bearer ${TOKEN}`);
  });

  test('the same models in a second folder (same cache): no request for parents, or at all', async () => {
    const other = join(tmp.path, 'colab-copy');
    for (const f of all()) writeModel(other, f.rel, f.bytes);
    fake.reset();
    const again = await scan(other);
    expect(again.identified).toBe(4);
    expect(fake.count('models')).toBe(0);
    expect(fake.count('by-hash-bulk')).toBe(0);
    const copied = JSON.parse(readFileSync(join(other, files.jpeg.rel).replace(/\.safetensors$/, '.civitai.info'), 'utf8'));
    expect(copied.model.tags).toEqual(['style', 'hair']);
  });

  test('the token is in no file the scan wrote, nor in the cache', () => {
    const grep = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((d) => d.isFile())
        .map((d) => join(d.parentPath, d.name))
        .filter((p) => readFileSync(p).includes(TOKEN));
    expect(grep(root())).toEqual([]);
    expect(grep(cacheDir())).toEqual([]);
  });
});

describe('when the parent models cannot be fetched', () => {
  test('identification and sidecars are kept, written without the parent\'s fields, with one warning for all', async () => {
    const at = join(tmp.path, 'parents-down');
    for (const f of all()) writeModel(at, f.rel, f.bytes);
    fake.reset();
    fake.inject({ kind: 'status', status: 503 }, { route: 'models', times: Infinity });
    try {
      const r = await scan(at, join(tmp.path, 'cache-parents-down'));
      expect(r.identified).toBe(4);
      expect(r.previewsWritten).toBe(4);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0].message).toMatch(/^Civitai: tags, description, license and creator of 4 models not fetched \(.*\); their sidecars were written without them$/);
      expect(r.warnings[0].message).not.toContain(TOKEN);
      // One bulk request, retried once (maxAttempts 2), for all four.
      expect(fake.count('models')).toBe(2);
    } finally {
      fake.clearFaults();
    }
    const infoPath = join(at, files.jpeg.rel).replace(/\.safetensors$/, '.civitai.info');
    const cardPath = join(at, files.jpeg.rel).replace(/\.safetensors$/, '.json');
    const body = JSON.parse(readFileSync(infoPath, 'utf8'));
    expect(body.id).toBe(ids.jpeg.versionId);
    expect(body.model.tags).toBeUndefined();
    expect(body.creator).toBeUndefined();
    const card = JSON.parse(readFileSync(cardPath, 'utf8'));
    expect(card['activation text']).toBe('mytrigger, red hair, smile');
    // The version has no description of its own, and the model's could not be fetched.
    expect(card).not.toHaveProperty('description');

    // The next scan (Civitai back) completes them: one bulk request for the four, then the files have the fields.
    fake.reset();
    const next = await scan(at, join(tmp.path, 'cache-parents-down'));
    expect(next.warnings).toEqual([]);
    expect(next.unchanged).toBe(4);
    expect(fake.count('models')).toBe(1);
    expect(fake.count('by-hash-bulk') + fake.count('by-hash') + fake.count('image-cdn')).toBe(0);
    const completed = JSON.parse(readFileSync(infoPath, 'utf8'));
    expect(completed.model.tags).toEqual(['style', 'hair']);
    expect(completed.model.allowCommercialUse).toEqual(['Image']);
    expect(completed.creator.username).toBe('alice');
    // The rest of the by-hash body is kept as first written (a model answer has no air, dates or image meta).
    const { model: _before, extensions: _e1, ...restBefore } = body;
    const { model: _after, creator: _c, extensions: _e2, ...restAfter } = completed;
    expect(restAfter).toEqual(restBefore);
    expect(completed.model).toEqual({ ...body.model, ...completed.model });
    expect(JSON.parse(readFileSync(cardPath, 'utf8')).description).toBe('A test LoRA & more');
    // And only once: a third scan asks nothing.
    fake.reset();
    await scan(at, join(tmp.path, 'cache-parents-down'));
    expect(fake.count()).toBe(0);
  });
});
