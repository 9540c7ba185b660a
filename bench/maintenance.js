#!/usr/bin/env node
// Maintenance benchmarks (issue 12), in one run against the fake Civitai on 127.0.0.1:
// - the update check of 10,000 identified models in 2,000 Civitai models: requests, longest URL, a second check;
// - duplicates over a 50,000-model index: time, model files opened;
// - mv of a model with its sidecars on one file system: model bytes read, inode kept.
// Usage: npm run bench:maintenance
'use strict';
const { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Library } = require('../lib/core/library');
const { encodeEntry } = require('../lib/core/library/index-codec');
const { FakeCivitai } = require('../build/dev/tests/fake-civitai');

/** Counts opens of model files by this process, through every fs entry point the engine uses. */
const MODEL_FILE = /\.(safetensors|sft|ckpt|pt|pth|bin|gguf)$/i;
const modelOpens = { count: 0 };
for (const [mod, names] of [
  [require('node:fs/promises'), ['open', 'readFile', 'copyFile']],
  [require('node:fs'), ['open', 'openSync', 'readFile', 'readFileSync', 'createReadStream', 'copyFile', 'copyFileSync']],
]) {
  for (const name of names) {
    const original = mod[name];
    mod[name] = function (path, ...rest) {
      if (typeof path === 'string' && MODEL_FILE.test(path)) modelOpens.count++;
      return original.call(this, path, ...rest);
    };
  }
}

const sha = (s) => createHash('sha256').update(String(s)).digest('hex').toUpperCase();

function entry(i, link, sha256 = sha(i)) {
  return {
    path: `models/Lora/set-${i % 40}/model number ${i}.safetensors`,
    size: 150_000_000 + i,
    mtimeMs: 1_700_000_000_000 + i,
    fingerprint: `${150_000_000 + i}:${sha256.slice(0, 24).toLowerCase()}`,
    hashes: { SHA256: sha256 },
    hashSources: { SHA256: 'computed' },
    verified: true,
    kind: 'lora',
    baseModel: 'sdxl',
    evidence: [],
    conflicts: [],
    civitai: link ? { status: 'found', checkedAt: 1_700_000_000_000, link } : { status: 'not_found', checkedAt: 1_700_000_000_000 },
    addedAt: 1_700_000_000_000,
    warnings: [],
  };
}

function writeIndex(dir, entries) {
  mkdirSync(join(dir, '.modeldeck'), { recursive: true });
  writeFileSync(join(dir, '.modeldeck', 'index.json'), JSON.stringify({ format: 1, tool: 'modeldeck', savedAt: Date.now(), rows: entries.map(encodeEntry) }));
}

async function updates10k(work) {
  const fake = await new FakeCivitai({ fixturesDir: null }).start();
  const entries = [];
  // 2,000 models of 6 versions; the library holds 5 files of each (versions 2..6 oldest), so the newest is an update.
  for (let m = 0; m < 2000; m++) {
    const versions = [];
    for (let v = 0; v < 6; v++) {
      const r = fake.addVersion({ modelId: versions[0]?.modelId, modelName: `Model ${m}`, baseModel: 'SDXL 1.0', images: 0, files: [{ name: `m${m}v${v}.safetensors`, hashes: { SHA256: sha(`${m}/${v}`) } }] });
      versions.push(r);
    }
    const modelId = versions[0].modelId;
    for (let v = 0; v < 5; v++) {
      const i = m * 5 + v;
      entries.push(entry(i, { modelId, versionId: versions[v].versionId, modelName: `Model ${m}`, versionName: `v${v}`, type: 'LORA', baseModel: 'SDXL 1.0', trainedWords: [], nsfwLevel: 1, pageUrl: `https://civitai.com/models/${modelId}?modelVersionId=${versions[v].versionId}`, matchedBy: 'SHA256' }, sha(`${m}/${v}`)));
    }
  }
  const dir = join(work, 'updates');
  writeIndex(dir, entries);
  const lib = await Library.open([dir], { civitai: { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(work, 'cache') } });
  fake.reset();
  let t0 = process.hrtime.bigint();
  const first = await lib.updates();
  const firstMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const requests = fake.count();
  const longest = Math.max(...fake.requests.map((q) => `${fake.url}${q.url}`.length));
  fake.reset();
  t0 = process.hrtime.bigint();
  const second = await lib.updates();
  const secondMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const secondRequests = fake.count();
  await lib.close();
  await fake.stop();
  console.log(`update check of ${entries.length} identified models in ${first.checked} Civitai models: ${requests} requests, longest URL ${longest} characters, ${first.updates.length} updates, ${firstMs.toFixed(0)} ms; second check: ${secondRequests} requests, ${secondMs.toFixed(0)} ms`);
  return { requests, longest, secondRequests, updates: first.updates.length, again: second.updates.length };
}

async function dupes50k(work) {
  const dir = join(work, 'dupes');
  const entries = [];
  // 50,000 entries; 500 SHA256 values held twice (1,000 real small files, so the inode check has something to stat).
  for (let i = 0; i < 50_000; i++) entries.push(entry(i, null, i >= 49_000 ? sha(`dup-${i % 500}`) : sha(i)));
  for (const e of entries.slice(49_000)) {
    const p = join(dir, e.path);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, 'x');
    const st = statSync(p);
    e.size = st.size;
  }
  writeIndex(dir, entries);
  const tOpen = process.hrtime.bigint();
  const lib = await Library.open([dir], { civitai: false });
  const openMs = Number(process.hrtime.bigint() - tOpen) / 1e6;
  const before = modelOpens.count;
  const t0 = process.hrtime.bigint();
  const r = await lib.duplicates();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const opened = modelOpens.count - before;
  await lib.close();
  console.log(`duplicates over a ${entries.length}-model index: ${ms.toFixed(0)} ms (the index opened in ${openMs.toFixed(0)} ms before), ${r.groups.length} groups, model files opened ${opened}`);
  return { ms, opened, groups: r.groups.length };
}

async function move(work) {
  const dir = join(work, 'move');
  mkdirSync(join(dir, 'a'), { recursive: true });
  mkdirSync(join(dir, 'b'));
  const file = join(dir, 'a', 'big.safetensors');
  // 256 MiB: the scan hashes it once; the move must not read a byte of it.
  const header = Buffer.from(JSON.stringify({ __metadata__: {} }).padEnd(64, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(file, Buffer.concat([len, header, Buffer.alloc(256 * 1024 * 1024, 7)]));
  for (const s of ['.civitai.info', '.json', '.preview.png', '.metadata.json', '.cm-info.json']) writeFileSync(join(dir, 'a', `big${s}`), '{}');
  const lib = await Library.open([dir], { civitai: false });
  await lib.scan({ offline: true, previews: false });
  const ino = statSync(file).ino;
  const before = modelOpens.count;
  const t0 = process.hrtime.bigint();
  const { model } = await lib.move(file, join(dir, 'b', 'renamed.safetensors'));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const opened = modelOpens.count - before;
  const sameInode = statSync(model.absolute).ino === ino;
  await lib.close();
  console.log(`mv of a 256 MiB model with 5 sidecars (one file system): ${ms.toFixed(1)} ms, model files opened ${opened}, inode kept ${sameInode}`);
  return { ms, opened, sameInode };
}

(async () => {
  const work = mkdtempSync(join(tmpdir(), 'modeldeck-bench-maint-'));
  try {
    const u = await updates10k(work);
    const d = await dupes50k(work);
    const m = await move(work);
    const checks = [
      [u.requests <= 20, `update check: ${u.requests} requests (at most 20)`],
      [u.longest <= 2000, `update check: longest URL ${u.longest} (at most 2,000)`],
      [u.secondRequests === 0, `second check within 24 h: ${u.secondRequests} requests (none)`],
      [u.updates === 2000 && u.again === 2000, `updates found: ${u.updates}, then ${u.again} (2,000 each)`],
      [d.ms < 1000, `duplicates: ${d.ms.toFixed(0)} ms (under 1 s)`],
      [d.opened === 0, `duplicates: ${d.opened} model files opened (none)`],
      [d.groups === 500, `duplicates: ${d.groups} groups (500)`],
      [m.opened === 0 && m.sameInode, `mv: ${m.opened} model files opened, inode kept ${m.sameInode}`],
    ];
    let failed = 0;
    for (const [ok, text] of checks) {
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${text}`);
      if (!ok) failed++;
    }
    process.exitCode = failed ? 1 : 0;
  } finally {
    if (!process.env.KEEP_BENCH) rmSync(work, { recursive: true, force: true });
    else console.log(work);
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
