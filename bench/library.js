#!/usr/bin/env node
// Library benchmarks (issue 4): rescan of an unchanged library of 10,000 files,
// first scan of 1,000 files known to Civitai, loading an index of 50,000 models.
// Usage: npm run bench:library
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { createHash, randomBytes } = require('node:crypto');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Library } = require('../lib/core/library');
const { FakeCivitai } = require('../build/dev/tests/fake-civitai');

const root = join(__dirname, '..');
const fixtures = join(root, 'tests', 'fixtures', 'civitai');

/** A tiny but valid safetensors LoRA with unique bytes. */
function lora() {
  const data = randomBytes(256);
  const header = Buffer.from(
    JSON.stringify({ __metadata__: { ss_network_module: 'networks.lora' }, 'lora_unet_x.lora_down.weight': { dtype: 'U8', shape: [256], data_offsets: [0, 256] } }).padEnd(128, ' '),
  );
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, data]);
}

function makeLibrary(dir, count, perFolder = 100) {
  const files = [];
  for (let i = 0; i < count; i++) {
    const folder = join(dir, 'models', 'Lora', `set-${Math.floor(i / perFolder)}`);
    if (i % perFolder === 0) mkdirSync(folder, { recursive: true });
    const bytes = lora();
    const path = join(folder, `lora-${i}.safetensors`);
    writeFileSync(path, bytes);
    files.push({ path, bytes, sha256: createHash('sha256').update(bytes).digest('hex').toUpperCase() });
  }
  return files;
}

/**
 * Counts opens of model files by this process, through every fs entry point the
 * engine uses (the compiled code looks them up on the module at call time).
 */
const MODEL_FILE = /\.(safetensors|sft|ckpt|pt|pth|bin|gguf)$/i;
const modelOpens = { count: 0 };
for (const [mod, names] of [
  [require('node:fs/promises'), ['open', 'readFile']],
  [require('node:fs'), ['open', 'openSync', 'readFile', 'readFileSync', 'createReadStream']],
]) {
  for (const name of names) {
    const original = mod[name];
    mod[name] = function (path, ...rest) {
      if (typeof path === 'string' && MODEL_FILE.test(path)) modelOpens.count++;
      return original.call(this, path, ...rest);
    };
  }
}

async function rescan10k(work) {
  const dir = join(work, 'rescan');
  makeLibrary(dir, 10_000);
  let lib = await Library.open([dir], { civitai: false });
  const first = await lib.scan({ offline: true });
  await lib.close();
  lib = await Library.open([dir], { civitai: false });
  const before = modelOpens.count;
  const t0 = process.hrtime.bigint();
  const again = await lib.scan({ offline: true });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const opened = modelOpens.count - before;
  await lib.close();
  console.log(`rescan of ${again.files} unchanged files: ${ms.toFixed(0)} ms (first scan ${first.elapsedMs} ms), hashed ${again.hashed}, model files opened ${opened} (first scan opened ${before})`);
  return { ms, opened, firstOpened: before, hashed: again.hashed };
}

async function firstScan1k(work) {
  const dir = join(work, 'first');
  const files = makeLibrary(dir, 1000);
  const fake = await new FakeCivitai({ fixturesDir: fixtures }).start();
  for (const f of files) fake.addVersion({ images: 1, files: [{ name: f.path.split('/').pop(), hashes: { SHA256: f.sha256 } }] });
  fake.reset();
  // Every preview answer takes 100 ms, so that downloads overlap and their concurrency shows.
  fake.inject({ kind: 'slow', delayMs: 100 }, { route: 'image-cdn', times: Infinity });
  const lib = await Library.open([dir], { civitai: { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(work, 'cache') } });
  const t0 = process.hrtime.bigint();
  const r = await lib.scan();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await lib.close();
  const counts = fake.counts();
  // Identification, and (since the sidecars issue) the parent models fetched in bulk for .civitai.info: counted apart.
  const lookups = (counts['by-hash-bulk'] ?? 0) + (counts['by-hash'] ?? 0) + (counts['by-hash-ids'] ?? 0) + (counts['model-version'] ?? 0) + (counts.model ?? 0);
  const parents = counts.models ?? 0;
  const arrivals = fake.requests.filter((q) => q.route === 'image-cdn').map((q) => q.at).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < arrivals.length; i++) {
    while (arrivals[i] - arrivals[j] >= 90) j++;
    peak = Math.max(peak, i - j + 1);
  }
  await fake.stop();
  console.log(`first scan of 1,000 files known by SHA256: ${ms.toFixed(0)} ms, identified ${r.identified}, lookup requests ${lookups}, parent-model requests ${parents} ${JSON.stringify(counts)}, previews ${r.previewsWritten}, most preview requests begun within 90 ms ${peak}`);
  return { lookups, parents, identified: r.identified, previews: r.previewsWritten, peak };
}

function load50k(work) {
  const dir = join(work, 'big-index');
  mkdirSync(join(dir, '.modeldeck'), { recursive: true });
  const entries = [];
  for (let i = 0; i < 50_000; i++) {
    const sha = createHash('sha256').update(String(i)).digest('hex').toUpperCase();
    entries.push({
      path: `models/Lora/set-${i % 500}/model number ${i}.safetensors`,
      size: 150_000_000 + i,
      mtimeMs: 1_700_000_000_000 + i,
      fingerprint: `${150_000_000 + i}:${sha.slice(0, 24).toLowerCase()}`,
      hashes: { SHA256: sha, AutoV1: sha.slice(0, 8), AutoV2: sha.slice(0, 10), AutoV3: sha.slice(20, 32), AutoV3Full: sha },
      hashSources: { SHA256: 'computed', AutoV1: 'computed', AutoV2: 'computed', AutoV3: 'computed' },
      verified: true,
      kind: 'lora',
      baseModel: 'sdxl',
      folderKind: 'lora',
      evidence: ['tensor lora_unet_* keys', 'ss_network_module=networks.lora', 'to_k last dim 2048', 'ss_base_model_version=sdxl_base_v1-0'],
      conflicts: [],
      civitai: {
        status: 'found',
        checkedAt: 1_700_000_000_000,
        link: { modelId: i + 1, versionId: 100000 + i, modelName: `Some Model ${i}`, versionName: 'v1.0', type: 'LORA', baseModel: 'SDXL 1.0', trainedWords: ['a trigger', 'another'], nsfwLevel: 1, pageUrl: `https://civitai.com/models/${i + 1}?modelVersionId=${100000 + i}`, matchedBy: 'SHA256' },
      },
      preview: `models/Lora/set-${i % 500}/model number ${i}.preview.jpeg`,
      addedAt: 1_700_000_000_000,
      warnings: [],
    });
  }
  const { encodeEntry } = require('../lib/core/library/index-codec');
  const text = JSON.stringify({ format: 1, tool: 'modeldeck', savedAt: Date.now(), rows: entries.map(encodeEntry) });
  writeFileSync(join(dir, '.modeldeck', 'index.json'), text);
  // A fresh process, so that RSS is the index's and not this benchmark's.
  const script = `
    const t0 = process.hrtime.bigint();
    require(${JSON.stringify(join(root, 'lib/core/library'))}).Library.open([${JSON.stringify(dir)}], { civitai: false }).then((lib) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const openRssMb = process.resourceUsage().maxRSS / 1024;
      const n = lib.models().length;
      console.log(JSON.stringify({ ms, n, openRssMb, rssMb: process.resourceUsage().maxRSS / 1024 }));
    });`;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
  const r = JSON.parse(out.stdout);
  console.log(`index of ${r.n} models (${(text.length / 1e6).toFixed(1)} MB): loaded in ${r.ms.toFixed(0)} ms, peak RSS ${r.openRssMb.toFixed(0)} MB after loading, ${r.rssMb.toFixed(0)} MB after listing every model`);
  return r;
}

(async () => {
  const work = mkdtempSync(join(tmpdir(), 'modeldeck-bench-'));
  try {
    const only = process.argv[2];
    if (only) {
      // One part alone, for profiling: rescan10k, firstScan1k or load50k.
      await { rescan10k, firstScan1k, load50k }[only](work);
      return;
    }
    const a = await rescan10k(work);
    const b = await firstScan1k(work);
    const c = load50k(work);
    const check = (label, ok) => console.log(`${ok ? 'MET ' : 'MISSED'}  ${label}`);
    check(`rescan of 10,000 unchanged files under 1 s (${a.ms.toFixed(0)} ms)`, a.ms < 1000);
    check(`rescan reads zero bytes of model files (${a.opened} opened, hashed ${a.hashed}; the first scan opened ${a.firstOpened})`, a.hashed === 0 && a.opened === 0 && a.firstOpened > 0);
    check(`first scan of 1,000 known files: at most 10 lookup requests (${b.lookups})`, b.lookups <= 10 && b.identified === 1000);
    check(`and at most 10 parent-model requests, 100 ids each (${b.parents})`, b.parents <= 10);
    check(`previews with bounded concurrency (at most 4 begun within 90 ms: ${b.peak})`, b.peak <= 4 && b.previews === 1000);
    check(`50,000-model index loads under 1 s (${c.ms.toFixed(0)} ms)`, c.ms < 1000);
    check(`and stays under 300 MB RSS once loaded (${c.openRssMb.toFixed(0)} MB; ${c.rssMb.toFixed(0)} MB after listing every model)`, c.openRssMb < 300);
  } finally {
    if (process.env.KEEP) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
})();
