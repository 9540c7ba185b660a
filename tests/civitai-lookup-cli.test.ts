// `modeldeck lookup HASH|URL|AIR|FILE [--json]` as a user runs it: the built CLI in a
// child process, against the fake Civitai, with a temporary cache dir.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { closedPort, FLUX_LORA, tempDir, TOKEN } from './helpers/civitai';

const BIN = join(__dirname, '..', 'bin', 'modeldeck.js');
let fake: FakeCivitai;
let cacheDir: string;
const outputs: string[] = [];

beforeAll(async () => {
  fake = await new FakeCivitai().start();
});
beforeEach(() => {
  cacheDir = tempDir('mdk-cli-cache-');
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake.stop();
  // The token never reaches any output.
  expect(outputs.length).toBeGreaterThan(8);
  for (const o of outputs) expect(o).not.toContain(TOKEN);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'lookup', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          CIVITAI_BASE_URL: fake.url,
          CIVITAI_FALLBACK_BASE_URLS: '',
          CIVITAI_TOKEN: TOKEN,
          MODELDECK_CACHE_DIR: cacheDir,
          ...env,
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        outputs.push(stdout, stderr);
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** Every file under the cache dir, as text. */
function cacheText(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(cacheDir);
  return out.join('\n');
}

test('lookup SHA256 --json: model, version, type, base model, trained words, files with hashes, page URL', async () => {
  const r = await run([FLUX_LORA.SHA256.toLowerCase(), '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j).toMatchObject({
    found: true,
    modelId: 706978,
    modelName: 'Realistic/Aesthetic Poses FluxDev',
    versionId: 1050496,
    versionName: 'V.3',
    type: 'LORA',
    baseModel: 'Flux.1 D',
    trainedWords: ['aesthetic_pos3', 'dynamic_pos3'],
    pageUrl: `${fake.url}/models/706978?modelVersionId=1050496`,
    matchedBy: 'SHA256',
  });
  expect(j.files[0]).toMatchObject({ name: 'aeshteticv5.safetensors', primary: true, hashes: { SHA256: FLUX_LORA.SHA256, AutoV3: FLUX_LORA.AutoV3 } });
  expect(fake.requests[0].authorization).toBe(`Bearer ${TOKEN}`);
  expect(cacheText()).not.toContain(TOKEN);
  expect(cacheText()).toContain('1050496');
});

test('a repeated hash lookup is answered from the cache; --refresh asks again', async () => {
  await run([FLUX_LORA.AutoV3]);
  expect(fake.count()).toBe(1);
  const again = await run([FLUX_LORA.AutoV3, '--json']);
  expect(fake.count()).toBe(1);
  expect(JSON.parse(again.stdout)).toMatchObject({ cached: true, matchedBy: 'AutoV3' });
  await run([FLUX_LORA.AutoV3, '--refresh']);
  expect(fake.count()).toBe(2);
});

test.each([
  ['a model page URL with version', 'https://civitai.com/models/58390/detail-tweaker-lora-lora?modelVersionId=62833'],
  ['a civitai.red download URL', 'https://civitai.red/api/download/models/62833?type=Model&format=SafeTensor'],
  ['an AIR', 'urn:air:sd1:lora:civitai:58390@62833'],
  ['a model page URL without version (newest version)', 'https://civitai.com/models/58390'],
])('lookup %s', async (_label, arg) => {
  const r = await run([arg, '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ modelId: 58390, versionId: 62833, type: 'LORA', baseModel: 'SD 1.5' });
});

test('human output names model, version, base model, page and file hashes', async () => {
  const r = await run(['urn:air:sd1:lora:civitai:58390@62833']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Detail Tweaker LoRA');
  expect(r.stdout).toMatch(/version\s+62833/);
  expect(r.stdout).toMatch(/base\s+SD 1.5/);
  expect(r.stdout).toContain(`${fake.url}/models/58390?modelVersionId=62833`);
  expect(r.stdout).toMatch(/SHA256\s+[0-9A-F]{64}/);
  expect(r.stderr).toBe('');
});

test('lookup FILE hashes it, then finds it', async () => {
  const dir = tempDir('mdk-cli-file-');
  const file = join(dir, 'my_model.ckpt');
  const bytes = Buffer.from(`not really a model ${Math.random()}`);
  writeFileSync(file, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex').toUpperCase();
  const { versionId } = fake.addVersion({ modelName: 'Local file model', files: [{ name: 'my_model.ckpt', hashes: { SHA256: sha256 } }] });
  const r = await run([file, '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j).toMatchObject({ versionId, modelName: 'Local file model', matchedBy: 'SHA256', matchedFile: 'my_model.ckpt' });
  expect(j.file.hashes.SHA256).toBe(sha256);
  expect(fake.counts()).toEqual({ 'by-hash-bulk': 1 });
});

describe('exit non-zero with a one-line reason', () => {
  const oneLine = (r: Run) => {
    expect(r.code).not.toBe(0);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^modeldeck: /);
  };

  test('not found', async () => {
    const r = await run(['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '--json']);
    oneLine(r);
    expect(r.stderr).toMatch(/no model version with this hash/);
    expect(JSON.parse(r.stdout)).toMatchObject({ found: false, error: { code: 'civitai_not_found' } });
    // The "not found" is cached; the next run says so and asks nothing.
    const again = await run(['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef']);
    oneLine(again);
    expect(again.stderr).toMatch(/cached/);
    expect(fake.count()).toBe(1);
  });

  test('unreadable input names the accepted forms', async () => {
    const r = await run(['https://example.com/models/1']);
    oneLine(r);
    expect(r.stderr).toMatch(/accepted forms/);
    expect(fake.count()).toBe(0);
  });

  test('offline (nothing listens on the port)', async () => {
    const port = await closedPort();
    const r = await run([FLUX_LORA.SHA256, '--json'], { CIVITAI_BASE_URL: `http://127.0.0.1:${port}` });
    oneLine(r);
    expect(r.stderr).toMatch(/cannot reach/);
    expect(JSON.parse(r.stdout).error.code).toBe('civitai_offline');
  });

  test('unauthorized', async () => {
    fake.inject({ kind: 'status', status: 401, body: { error: 'Unauthorized' } }, { route: 'model-version' });
    const r = await run(['https://civitai.com/model-versions/62833']);
    oneLine(r);
    expect(r.stderr).toMatch(/Unauthorized/);
    expect(r.stderr).toContain('CIVITAI_TOKEN');
  });

  test('rate-limited (a Retry-After longer than we wait)', async () => {
    fake.inject({ kind: 'status', status: 429, retryAfter: 3600 }, { route: 'model', times: Infinity });
    const r = await run(['https://civitai.com/models/58390', '--json']);
    oneLine(r);
    expect(r.stderr).toMatch(/Retry-After/);
    expect(JSON.parse(r.stdout).error.code).toBe('civitai_rate_limited');
  });

  test('a directory is not a model file', async () => {
    const r = await run([tempDir()]);
    oneLine(r);
    expect(r.stderr).toMatch(/directory/);
  });
});
