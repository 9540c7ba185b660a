// `modeldeck get` as a user runs it, against a fake Civitai whose downloads redirect to a fake storage host on
// another port, and a fake HuggingFace: placement, verification, identification, the error answers, the token.
import { existsSync, readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeCivitai } from './fake-civitai';
import type { FakeStorage } from './fake-civitai/storage';
import type { FakeHuggingFace } from './fake-hf/server';
import { runCli } from './helpers/cli';
import { TOKEN } from './helpers/civitai';
import { startDownloadFakes, type DownloadFakes } from './helpers/download-fakes';
import { loraBytes, sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const HF_SECRET = 'hf_TESTSECRET_93kd82hs7';
const tmp = useTmpDir();
let fakes: DownloadFakes;
let fake: FakeCivitai;
let storage: FakeStorage;
let hf: FakeHuggingFace;
let env: NodeJS.ProcessEnv;
let rootCount = 0;

beforeAll(async () => {
  fakes = await startDownloadFakes(tmp.path, { hfToken: HF_SECRET });
  ({ fake, storage, env } = fakes);
  hf = fakes.hf!;
});
afterAll(async () => {
  await fakes?.stop();
});
afterEach(() => {
  storage.faults = {};
});

function newRoot(dirs: string[] = []): string {
  const root = join(tmp.path, `lib${++rootCount}`);
  mkdirSync(root, { recursive: true });
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  return root;
}

function addLora(name: string, extra: { requireAuth?: boolean; type?: string } = {}) {
  const bytes = loraBytes({}, 3 * 1024 * 1024);
  const tensorsAt = 8 + Number(bytes.readBigUInt64LE(0));
  const autoV3 = sha256(bytes.subarray(tensorsAt));
  const ids = fake.addVersion({
    modelName: `Model ${name}`,
    type: extra.type ?? 'LORA',
    baseModel: 'SD 1.5',
    requireAuth: extra.requireAuth,
    files: [{ name, hashes: { SHA256: sha256(bytes), AutoV3: autoV3.slice(0, 12) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }],
  });
  return { bytes, sha: sha256(bytes), autoV3, ...ids };
}

const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** Every file under `dir`, as text, for the token search. */
function allText(dir: string): string {
  let out = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out += readFileSync(join(e.parentPath, e.name)).toString('latin1');
  }
  return out;
}

test('a Civitai model link: lands in the kind folder, verified, indexed with its hashes, identified, sidecars and preview; the next scan opens nothing', async () => {
  const root = newRoot();
  const m = addLora('detail tweaker.safetensors');
  const got = await runCli(['get', '--json', '--to', root, `${fake.url.replace('http://127.0.0.1', 'https://civitai.com')}/models/${m.modelId}`.replace(/^https:\/\/civitai\.com:\d+/, 'https://civitai.com')], env);
  expect(got.stderr).toBe('');
  expect(got.code).toBe(0);
  const done = lines(got.stdout).find((l) => l.event === 'done');
  const path = join(root, 'models/Lora/detail tweaker.safetensors');
  expect(done).toMatchObject({ status: 'downloaded', path, verifiedBy: 'civitai' });
  expect(readFileSync(path).equals(m.bytes)).toBe(true);
  expect(done.hashes).toMatchObject({ SHA256: m.sha, AutoV2: m.sha.slice(0, 10), AutoV3: m.autoV3.slice(0, 12), AutoV3Full: m.autoV3 });
  expect(done.civitai).toMatchObject({ status: 'found', link: { modelId: m.modelId, versionId: m.versionId, matchedBy: 'SHA256' } });
  expect(existsSync(join(root, 'models/Lora/detail tweaker.civitai.info'))).toBe(true);
  expect(existsSync(join(root, 'models/Lora/detail tweaker.json'))).toBe(true);
  expect(done.preview).toMatch(/^models\/Lora\/detail tweaker\.preview\.(png|jpeg|jpg|webp)$/);
  expect(existsSync(join(root, done.preview))).toBe(true);
  expect(existsSync(`${path}.part`)).toBe(false);
  expect(existsSync(`${path}.part.json`)).toBe(false);

  // The token went to the Civitai API host only: never to storage, never into a file or the output.
  expect(fake.requests.filter((r) => r.route === 'download').every((r) => r.authorization === `Bearer ${TOKEN}` && !r.url.includes('token'))).toBe(true);
  expect(storage.requests.length).toBeGreaterThan(0);
  expect(storage.requests.every((r) => r.authorization === undefined)).toBe(true);
  expect(got.stdout + got.stderr).not.toContain(TOKEN);
  expect(allText(root)).not.toContain(TOKEN);

  // The next scan: the file is unchanged, nothing is hashed, Civitai is not asked.
  const before = fake.count();
  const scan = await runCli(['scan', '--json', root], env);
  expect(scan.code).toBe(0);
  expect(JSON.parse(scan.stdout)).toMatchObject({ files: 1, unchanged: 1, hashed: 0, bytesHashed: 0 });
  expect(fake.count()).toBe(before);

  // The same file again: nothing downloaded, says where, exit 0.
  const served = storage.bytesServed;
  const again = await runCli(['get', '--to', root, String(m.versionId)], env);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`already in the library: ${path}`);
  expect(storage.bytesServed).toBe(served);
});

test('the file is placed by kind in each layout the root uses', async () => {
  const cases: Array<[string[], string, string]> = [
    [['models/checkpoints', 'models/loras'], 'LORA', 'models/loras'],
    [['Models/StableDiffusion', 'Models/Lora'], 'LORA', 'Models/Lora'],
    [['models/SD', 'models/LoRA', 'models/TI'], 'LORA', 'models/LoRA'],
    [['models/Stable-diffusion', 'models/Lora'], 'TextualInversion', 'embeddings'],
    [['models/checkpoints'], 'Checkpoint', 'models/checkpoints'],
  ];
  for (const [dirs, type, folder] of cases) {
    const root = newRoot(dirs);
    const m = addLora(`placed-${rootCount}.safetensors`, { type });
    const got = await runCli(['get', '--no-previews', '--to', root, String(m.versionId)], env);
    expect(got.stderr).toBe('');
    expect(existsSync(join(root, folder, `placed-${rootCount}.safetensors`))).toBe(true);
  }
});

test('a hostile file name lands inside the folder, sanitised; a different file with the same name is never overwritten', async () => {
  const root = newRoot();
  const m = addLora('../../x.safetensors');
  const got = await runCli(['get', '--no-previews', '--to', root, String(m.versionId)], env);
  expect(got.stderr).toBe('');
  expect(readdirSync(join(root, 'models/Lora')).filter((n) => n.endsWith('.safetensors'))).toEqual(['x.safetensors']);
  expect(existsSync(join(tmp.path, 'x.safetensors'))).toBe(false);

  const other = addLora('x.safetensors');
  const renamed = await runCli(['get', '--no-previews', '--to', root, String(other.versionId)], env);
  expect(renamed.stderr).toBe('');
  expect(readFileSync(join(root, 'models/Lora/x-2.safetensors')).equals(other.bytes)).toBe(true);
  expect(readFileSync(join(root, 'models/Lora/x.safetensors')).equals(m.bytes)).toBe(true);

  const third = addLora('x.safetensors');
  const skipped = await runCli(['get', '--on-conflict', 'skip', '--to', root, String(third.versionId)], env);
  expect(skipped.code).toBe(0);
  expect(skipped.stdout).toMatch(/^skipped: .*x\.safetensors/);
});

test('a stalled connection is given up after the stall timeout and its range fetched again', async () => {
  const root = newRoot();
  const m = addLora('stalled.safetensors');
  storage.faults.stallAtByte = 2_000_000;
  const got = await runCli(['get', '--no-previews', '--connections', '2', '--to', root, String(m.versionId)], { ...env, MODELDECK_DOWNLOAD_STALL_MS: '300' });
  expect(got.stderr).toBe('');
  expect(readFileSync(join(root, 'models/Lora/stalled.safetensors')).equals(m.bytes)).toBe(true);
  expect(storage.requests.length).toBeGreaterThanOrEqual(2);
});

test('a dropped connection is resumed with a range', async () => {
  const root = newRoot();
  const m = addLora('dropped.safetensors');
  storage.faults.dropAtByte = 1_500_000;
  const served = storage.bytesServed;
  const got = await runCli(['get', '--no-previews', '--connections', '1', '--to', root, String(m.versionId)], env);
  expect(got.stderr).toBe('');
  expect(readFileSync(join(root, 'models/Lora/dropped.safetensors')).equals(m.bytes)).toBe(true);
  // The retry asked for the rest only: a range starting where the written bytes ended.
  const starts = storage.requests.map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? -1));
  expect(starts.some((s) => s > 1_000_000 && s <= 1_500_000)).toBe(true);
  expect(storage.bytesServed - served).toBeLessThan(m.bytes.length + 1_500_000);
});

test('error answers: one line each, nothing under the final name, nothing in the index', async () => {
  const root = newRoot();
  const run = async (versionId: number) => runCli(['get', '--no-previews', '--to', root, String(versionId)], env);
  const noTokenEnv = { ...env, CIVITAI_TOKEN: '' };

  const gated = addLora('gated.safetensors', { requireAuth: true });
  const login = await runCli(['get', '--to', root, String(gated.versionId)], noTokenEnv);
  expect(login.code).toBe(1);
  expect(login.stderr.trim().split('\n')).toHaveLength(1);
  expect(login.stderr).toMatch(/login required \(HTTP 401.*set CIVITAI_TOKEN/);

  const expect1 = async (fault: Partial<FakeStorage['faults']>, pattern: RegExp, name: string) => {
    const m = addLora(name);
    storage.faults = { ...fault };
    const r = await run(m.versionId);
    storage.faults = {};
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(existsSync(join(root, 'models/Lora', name))).toBe(false);
    return r;
  };
  await expect1({ status: 403 }, /not allowed \(HTTP 403/, 'early.safetensors');
  await expect1({ status: 410 }, /gone \(HTTP 410.*archived/, 'archived.safetensors');
  await expect1({ status: 429 }, /download limit reached \(HTTP 429/, 'limit.safetensors');
  await expect1({ html: true }, /web page instead of the file/, 'html.safetensors');
  await expect1({ shortByOne: true }, /connection ended \d+ bytes early/, 'short.safetensors');
  const bad = await expect1({ wrongBytes: true }, /SHA256 mismatch \(expected [0-9A-F]{64}, got [0-9A-F]{64}\); the bytes are kept in .*wrong\.safetensors\.part/, 'wrong.safetensors');
  expect(bad.stderr).not.toContain(TOKEN);
  expect(existsSync(join(root, 'models/Lora/wrong.safetensors.part'))).toBe(true);

  const ls = await runCli(['ls', '--json', root], env);
  expect(ls.stdout.trim()).toBe('');
});

test('an expired signed URL is asked for again at the Civitai download endpoint', async () => {
  const root = newRoot();
  const m = addLora('expiring.safetensors');
  // The connection drops, and the signed URL it used is no longer good for the retry.
  storage.faults = { dropAtByte: 1_000_000, singleUse: true };
  const asked = fake.count('download');
  const from = storage.requests.length;
  const got = await runCli(['get', '--no-previews', '--connections', '1', '--to', root, String(m.versionId)], env);
  expect(got.stderr).toBe('');
  expect(readFileSync(join(root, 'models/Lora/expiring.safetensors')).equals(m.bytes)).toBe(true);
  expect(storage.requests.slice(from).map((r) => r.status)).toEqual([206, 403, 206]);
  expect(fake.count('download') - asked).toBe(2);
});

test('HuggingFace: verified against X-Linked-Etag or the tree API; HF_TOKEN only to HuggingFace', async () => {
  const root = newRoot(['models/checkpoints']);
  const bytes = loraBytes({}, 1024 * 1024);
  hf.gate('acme/gated-lora', HF_SECRET);
  const url = hf.addFile({ repo: 'acme/gated-lora', revision: 'main', path: 'sub/acme_lora.safetensors', bytes });
  const got = await runCli(['get', '--json', '--no-previews', '--to', root, url.replace('/resolve/', '/blob/')], env);
  expect(got.stderr).toBe('');
  const done = lines(got.stdout).find((l) => l.event === 'done');
  expect(done).toMatchObject({ status: 'downloaded', verifiedBy: 'huggingface', hashes: { SHA256: sha256(bytes) } });
  expect(done.path).toBe(join(root, 'models/loras/acme_lora.safetensors'));
  expect(hf.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorization === `Bearer ${HF_SECRET}`)).toBe(true);
  expect(storage.requests.every((r) => r.authorization === undefined)).toBe(true);
  expect(fake.requests.every((r) => !r.authorization?.includes(HF_SECRET))).toBe(true);
  expect(got.stdout).not.toContain(HF_SECRET);

  const treeBytes = loraBytes({}, 1024 * 1024);
  const treeUrl = hf.addFile({ repo: 'acme/open', revision: 'v1', path: 'tree_lora.safetensors', bytes: treeBytes, noLinkedEtag: true });
  const viaTree = await runCli(['get', '--json', '--no-previews', '--to', root, treeUrl], env);
  expect(lines(viaTree.stdout).find((l) => l.event === 'done')).toMatchObject({ verifiedBy: 'huggingface' });
  expect(hf.requests.some((r) => r.path === '/api/models/acme/open/tree/v1')).toBe(true);

  const liar = hf.addFile({ repo: 'acme/open', revision: 'v1', path: 'liar_lora.safetensors', bytes: loraBytes(), publishedSha256: 'a'.repeat(64) });
  const mismatch = await runCli(['get', '--no-previews', '--to', root, liar], env);
  expect(mismatch.code).toBe(1);
  expect(mismatch.stderr).toMatch(/SHA256 mismatch/);
});

test('bad references are one-line errors', async () => {
  const root = newRoot();
  const r = await runCli(['get', '--to', root, 'ftp://example.com/x.bin', 'not a link'], env);
  expect(r.code).toBe(1);
  const errs = r.stderr.trim().split('\n');
  expect(errs).toHaveLength(2);
  expect(errs[0]).toMatch(/ftp: URLs are not downloaded/);
  expect(errs[1]).toMatch(/not a Civitai link, AIR, version id, HuggingFace link or https URL/);
});
