// A HuggingFace download records where it came from (repo, revision, path, the commit the resolve answer named)
// and, from the model card, its license and base model; `info` shows them, export/import carry them. Over real
// HTTP to the fake HuggingFace and its fake storage, with the CLI run as a user runs it.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FakeCivitai } from './fake-civitai';
import type { FakeStorage } from './fake-civitai/storage';
import type { FakeHuggingFace } from './fake-hf/server';
import { runCli } from './helpers/cli';
import { startDownloadFakes, type DownloadFakes } from './helpers/download-fakes';
import { loraBytes, sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';
import { Library } from '../src/core/library';
import { toCard } from '../src/kernel/widget/cards';
import { modelDetails } from '../src/kernel/widget/details';

const HF_SECRET = 'hf_TESTSECRET_card_51k2';
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

function newRoot(): string {
  const root = join(tmp.path, `lib${++rootCount}`);
  mkdirSync(root, { recursive: true });
  return root;
}

const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

async function getHf(root: string, url: string) {
  const got = await runCli(['get', '--json', '--no-previews', '--to', root, url], env);
  expect(got.stderr).toBe('');
  expect(got.code).toBe(0);
  return lines(got.stdout).find((l) => l.event === 'done');
}

test('the entry records repo, revision, path, commit and the card\'s license and base models; info shows them, --json has them', async () => {
  const root = newRoot();
  const bytes = loraBytes({}, 512 * 1024);
  hf.gate('acme/card-lora', HF_SECRET);
  hf.setCard('acme/card-lora', { license: 'creativeml-openrail-m', base_model: ['runwayml/stable-diffusion-v1-5', 'acme/base-v2'], tags: ['lora'] });
  const url = hf.addFile({ repo: 'acme/card-lora', revision: 'v1.2', path: 'loras/card_lora.safetensors', bytes });
  const done = await getHf(root, url);
  expect(done).toMatchObject({ status: 'downloaded', verifiedBy: 'huggingface', hashes: { SHA256: sha256(bytes) } });
  const origin = {
    repo: 'acme/card-lora',
    revision: 'v1.2',
    path: 'loras/card_lora.safetensors',
    commit: hf.commitOf('acme/card-lora', 'v1.2'),
    license: 'creativeml-openrail-m',
    baseModels: ['runwayml/stable-diffusion-v1-5', 'acme/base-v2'],
  };
  expect(done.huggingFace).toEqual(origin);
  // One card request, at the revision downloaded, with the token (a gated repo's card is gated too).
  const cardAsks = hf.requests.filter((r) => r.path.startsWith('/api/models/acme/card-lora') && !r.path.includes('/tree/'));
  expect(cardAsks.map((r) => r.path)).toEqual(['/api/models/acme/card-lora/revision/v1.2']);
  expect(cardAsks[0].authorization).toBe(`Bearer ${HF_SECRET}`);

  const info = await runCli(['info', done.path], env);
  expect(info.code).toBe(0);
  expect(info.stdout).toContain(`  HuggingFace: acme/card-lora @ v1.2 (commit ${origin.commit.slice(0, 12)}), loras/card_lora.safetensors\n`);
  expect(info.stdout).toContain('    license: creativeml-openrail-m\n');
  expect(info.stdout).toContain('    base model: runwayml/stable-diffusion-v1-5, acme/base-v2\n');
  const json = JSON.parse((await runCli(['info', '--json', done.path], env)).stdout);
  expect(json.huggingFace).toEqual(origin);

  // The origin is in the index itself: a scan (the file unchanged) keeps it, and nothing carries the token.
  expect((await runCli(['scan', root], env)).code).toBe(0);
  expect(JSON.parse((await runCli(['info', '--json', done.path], env)).stdout).huggingFace).toEqual(origin);
  expect(info.stdout + JSON.stringify(json)).not.toContain(HF_SECRET);

  // The panel's details carry it too.
  const lib = await Library.open([root], { civitai: false });
  try {
    const model = lib.get(done.path)!;
    expect((await modelDetails(model, toCard(model, 0))).huggingFace).toEqual(origin);
  } finally {
    await lib.close();
  }
});

test('no card (404), a card with hostile values, or a card without them: the download succeeds with the origin alone, and no warning', async () => {
  const root = newRoot();
  hf.setCard('acme/no-card', null);
  hf.setCard('acme/hostile-card', { license: 'mit\n\u001b[2Jerased', base_model: [{ nested: true }, 'x'.repeat(400)] });
  hf.setCard('acme/plain-card', { tags: ['lora'] });
  for (const repo of ['acme/no-card', 'acme/hostile-card', 'acme/plain-card']) {
    const url = hf.addFile({ repo, revision: 'main', path: `${repo.split('/')[1]}.safetensors`, bytes: loraBytes() });
    const done = await getHf(root, url);
    expect(done.huggingFace).toEqual({ repo, revision: 'main', path: `${repo.split('/')[1]}.safetensors`, commit: hf.commitOf(repo, 'main') });
  }
});

test('export carries the origin, import brings it to the same file elsewhere; a hostile origin in an export is left out with one line, the rest imported', async () => {
  const root = newRoot();
  const bytes = loraBytes({}, 256 * 1024);
  hf.setCard('acme/travel', { license: 'apache-2.0', base_model: 'black-forest-labs/FLUX.1-dev' });
  const done = await getHf(root, hf.addFile({ repo: 'acme/travel', revision: 'main', path: 'travel.safetensors', bytes }));
  const exportFile = join(tmp.path, 'hf-export.json');
  expect((await runCli(['export', root, '-o', exportFile], env)).code).toBe(0);
  const doc = JSON.parse(readFileSync(exportFile, 'utf8'));
  expect(doc.models[0].huggingFace).toEqual(done.huggingFace);

  // Another machine: the same bytes under another name, scanned offline (it knows no origin).
  const other = newRoot();
  const copy = join(other, 'models/Lora/renamed.safetensors');
  mkdirSync(dirname(copy), { recursive: true });
  copyFileSync(done.path, copy);
  expect((await runCli(['scan', '--offline', other], env)).code).toBe(0);
  expect(JSON.parse((await runCli(['info', '--json', copy], env)).stdout).huggingFace).toBeUndefined();
  const imported = await runCli(['import', exportFile, other], env);
  expect(imported.stderr).toBe('');
  expect(imported.stdout).toMatch(/^1 of 1 exported models matched/);
  expect(JSON.parse((await runCli(['info', '--json', copy], env)).stdout).huggingFace).toEqual(done.huggingFace);

  // A hostile origin: that field is dropped with one line naming why, the model's hashes and Civitai state still import.
  const third = newRoot();
  const copy3 = join(third, 'models/Lora/third.safetensors');
  mkdirSync(dirname(copy3), { recursive: true });
  copyFileSync(done.path, copy3);
  expect((await runCli(['scan', '--offline', third], env)).code).toBe(0);
  const hostile = { ...doc, models: [{ ...doc.models[0], huggingFace: { ...doc.models[0].huggingFace, repo: '../../etc/passwd', license: 'x\n\u001b[31m' } }] };
  const hostileFile = join(tmp.path, 'hostile-export.json');
  writeFileSync(hostileFile, JSON.stringify(hostile));
  const r = await runCli(['import', hostileFile, third], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^1 of 1 exported models matched/);
  const errs = r.stderr.trim().split('\n');
  expect(errs).toHaveLength(1);
  expect(errs[0]).toMatch(/HuggingFace origin left out \(the rest imported\): models\[0\]: huggingFace\.repo is not owner\/name$/);
  const after = JSON.parse((await runCli(['info', '--json', copy3], env)).stdout);
  expect(after.huggingFace).toBeUndefined();
  expect(after.civitai.status).toBe(doc.models[0].civitai.status);
  expect(after.hashes.SHA256).toBe(sha256(bytes));
});
