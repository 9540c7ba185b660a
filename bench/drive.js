#!/usr/bin/env node
// Drive benchmark (issue 13): a library of LoRAs and checkpoints on the simulated Google Drive
// mount (tests/drive-mount, real FUSE) with a latency per open and a read bandwidth cap.
// In one run: `cat` of every model file through the mount (the reference), the first scan (offline),
// a rescan, and a first scan with one ENOTCONN per GiB read.
// Usage: npm run bench:drive [-- --open-ms 30 --mbps 150 --loras 200 --lora-mib 9 --ckpts 4 --ckpt-mib 256]
'use strict';
// Before anything uses libuv's pool, as bin/modeldeck.js does (docs/architecture.md, "Drive-grade I/O").
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, openSync, writeSync, closeSync, rmSync, utimesSync } = require('node:fs');
const { createHash, randomFillSync } = require('node:crypto');
const { join } = require('node:path');
const { Library } = require('../lib/core/library');
const { FakeCivitai } = require('../build/dev/tests/fake-civitai');
const { mountDrive } = require('../build/dev/tests/helpers/drive-mount');

const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const OPEN_MS = arg('--open-ms', 30);
const MBPS = arg('--mbps', 150);
const LORAS = arg('--loras', 200);
const LORA_MIB = arg('--lora-mib', 9);
const CKPTS = arg('--ckpts', 4);
const CKPT_MIB = arg('--ckpt-mib', 256);
const FAULT_FOR_MS = arg('--fault-ms', 200);
const GiB = 2 ** 30;
const MiB = 2 ** 20;

const root = join(__dirname, '..');
const source = join(root, '.bench', `drive-${LORAS}x${LORA_MIB}-${CKPTS}x${CKPT_MIB}`);
const MTIME = new Date('2025-06-01T12:00:00Z');

/** A safetensors file of `mib` MiB with random tensor bytes; returns its SHA256 and AutoV3. */
function writeModel(path, mib, lora) {
  const n = mib * MiB;
  const meta = lora ? { ss_network_module: 'networks.lora' } : {};
  const name = lora ? 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight' : 'model.diffusion_model.input_blocks.0.0.weight';
  const header = Buffer.from(JSON.stringify({ __metadata__: meta, [name]: { dtype: 'U8', shape: [n], data_offsets: [0, n] } }).padEnd(256, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const sha = createHash('sha256').update(len).update(header);
  const v3 = createHash('sha256');
  const fd = openSync(path, 'w');
  writeSync(fd, len);
  writeSync(fd, header);
  const chunk = Buffer.alloc(Math.min(n, 16 * MiB));
  for (let done = 0; done < n; done += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, n - done));
    randomFillSync(part);
    sha.update(part);
    v3.update(part);
    writeSync(fd, part);
  }
  closeSync(fd);
  utimesSync(path, MTIME, MTIME);
  return { SHA256: sha.digest('hex').toUpperCase(), AutoV3: v3.digest('hex').toUpperCase().slice(0, 12) };
}

function makeLibrary() {
  const list = [];
  for (let i = 0; i < LORAS; i++) list.push({ rel: `models/Lora/set-${Math.floor(i / 50)}/lora-${i}.safetensors`, mib: LORA_MIB, lora: true });
  for (let i = 0; i < CKPTS; i++) list.push({ rel: `models/Stable-diffusion/ckpt-${i}.safetensors`, mib: CKPT_MIB, lora: false });
  const manifest = join(source, 'manifest.json');
  if (existsSync(manifest)) return require(manifest);
  rmSync(source, { recursive: true, force: true });
  const files = list.map((f) => {
    const path = join(source, 'lib', f.rel);
    mkdirSync(join(path, '..'), { recursive: true });
    return { ...f, ...writeModel(path, f.mib, f.lora) };
  });
  require('node:fs').writeFileSync(manifest, JSON.stringify(files));
  return files;
}

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function main() {
  const files = makeLibrary();
  const bytes = files.reduce((n, f) => n + f.mib * MiB, 0);
  const fake = await new FakeCivitai({ fixturesDir: null }).start();
  for (const f of files) fake.addVersion({ modelName: f.rel, files: [{ name: f.rel.split('/').pop(), hashes: { SHA256: f.SHA256, AutoV3: f.AutoV3 } }] });
  const drive = await mountDrive({ openMs: OPEN_MS, bandwidthMBps: MBPS }, source);
  const libRoot = join(drive.mountpoint, 'lib');
  const modelKeys = new Set(files.map((f) => `/lib/${f.rel}`));
  const civitai = () => ({ baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(source, `cache-${Math.random().toString(36).slice(2)}`), timeoutMs: 30_000 });
  const counts = (c) => {
    let opens = 0;
    let read = 0;
    for (const [k, v] of Object.entries(c.files)) if (modelKeys.has(k)) (opens += v.opens), (read += v.bytes);
    return { opens, read };
  };
  const scan = async () => {
    const lib = await Library.open([libRoot], { civitai: civitai() });
    try {
      const t0 = process.hrtime.bigint();
      // Offline: the pipeline under test is the file I/O (walk, opens, probe, hashes, index); Civitai
      // lookups and sidecar writes through a 30 ms-per-open mount are another cost (docs/benchmarks.md).
      const report = await lib.scan({ offline: true, previews: false });
      return { s: seconds(t0), report };
    } finally {
      await lib.close();
    }
  };
  // Asynchronous: this process must keep serving the mount's control socket while cat runs.
  const cat = () =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const child = spawn('sh', ['-c', 'cat "$@" > /dev/null', 'cat', ...files.map((f) => join(libRoot, f.rel))], { stdio: 'ignore' });
      child.on('exit', (code) => (code === 0 ? resolve(seconds(t0)) : reject(new Error(`cat failed (${code})`))));
    });
  try {
    rmSync(join(source, 'lib', '.modeldeck'), { recursive: true, force: true });
    const cat1 = await cat();
    await drive.reset();
    const first = await scan();
    const c1 = counts(await drive.counters());
    await drive.reset();
    const re = await scan();
    const c2 = counts(await drive.counters());
    rmSync(join(source, 'lib', '.modeldeck'), { recursive: true, force: true });
    await drive.reset();
    await drive.configure({ everyBytes: { bytes: GiB, errno: 'ENOTCONN', forMs: FAULT_FOR_MS } });
    const faulty = await scan();
    const c3 = await drive.counters();
    await drive.configure({ everyBytes: null });
    const cat2 = await cat();
    const catS = (cat1 + cat2) / 2;
    const injectedWait = (c3.injected * FAULT_FOR_MS) / 1000;
    const ok = (r) => r.report.warnings.length === 0 && r.report.hashed === files.length;

    console.log(`mount: ${OPEN_MS} ms per open, ${MBPS} MB/s; library: ${LORAS} LoRAs x ${LORA_MIB} MiB + ${CKPTS} checkpoints x ${CKPT_MIB} MiB = ${(bytes / GiB).toFixed(2)} GiB; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}`);
    console.log('| run | s | vs cat | model opens | model bytes read | notes |');
    console.log('|---|---|---|---|---|---|');
    console.log(`| cat of every model file (mean of before/after) | ${catS.toFixed(2)} | 1.00x | ${files.length} | ${(bytes / GiB).toFixed(2)} GiB | ${cat1.toFixed(2)} / ${cat2.toFixed(2)} s |`);
    console.log(`| first scan | ${first.s.toFixed(2)} | ${(first.s / catS).toFixed(2)}x | ${c1.opens} | ${(c1.read / GiB).toFixed(2)} GiB | hashed ${first.report.hashed}, warnings ${first.report.warnings.length} |`);
    console.log(`| rescan | ${re.s.toFixed(3)} | - | ${c2.opens} | ${c2.read} B | unchanged ${re.report.unchanged} |`);
    console.log(`| first scan, one ENOTCONN per GiB (${FAULT_FOR_MS} ms each) | ${faulty.s.toFixed(2)} | ${(faulty.s / catS).toFixed(2)}x | ${counts(c3).opens} | ${(counts(c3).read / GiB).toFixed(2)} GiB | ${c3.injected} faults, ${faulty.report.ioRetries ?? 0} retries, hashed ${faulty.report.hashed} |`);
    const check = (label, met) => console.log(`${met ? 'MET ' : 'MISSED'}  ${label}`);
    check(`first scan <= 1.15x cat (${(first.s / catS).toFixed(2)}x), all hashed`, first.s / catS <= 1.15 && ok(first));
    check(`rescan opens 0 model files (${c2.opens}) and < 1 s (${re.s.toFixed(3)} s)`, c2.opens === 0 && re.s < 1);
    const bound = 1.05 * first.s + injectedWait;
    check(`with faults <= 1.05x fault-free + injected waits (${faulty.s.toFixed(2)} s vs ${bound.toFixed(2)} s = 1.05 x ${first.s.toFixed(2)} + ${injectedWait.toFixed(2)}), all hashed`, faulty.s <= bound && ok(faulty));
    if (!ok(first) || !ok(faulty)) console.log(JSON.stringify({ first: first.report.warnings.slice(0, 3), faulty: faulty.report.warnings.slice(0, 3) }));
  } finally {
    await drive.unmount();
    await fake.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
