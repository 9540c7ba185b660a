#!/usr/bin/env node
// Download benchmarks (issue 11), in one run against the same local storage server (tests/fake-civitai/storage.ts)
// behind the fake Civitai's download redirect; `modeldeck get` runs as its own process, as a user runs it:
// - each connection capped (25 MB/s), 1 GiB: modeldeck get (verification and indexing included) vs aria2c -x 8 -s 8 -k 1M;
// - uncapped, one connection: modeldeck get --connections 1 vs curl -o, and vs curl | tee | openssl dgst -sha256 (a download verified as it
//   comes, with one hash pass: the floor under any verifying tool's ratio); modeldeck with 2, 4, 8 (the default's choice);
// - resume after a kill at 50%: bytes re-fetched, as a share of the file;
// - peak RSS of the get process; last byte -> verified, identified, indexed.
// Needs aria2c, curl and openssl (Debian packages aria2, curl, openssl). Size: BENCH_DOWNLOAD_MIB (default 1024).
// Usage: npm run bench:download
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { randomBytes, createHash } = require('node:crypto');
const { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { FakeCivitai } = require('../build/dev/tests/fake-civitai');
const { FakeStorage } = require('../build/dev/tests/fake-civitai/storage');

const MIB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_DOWNLOAD_MIB || 1024) * MIB;
const CAP = 25 * 1000 * 1000;
const BIN = join(__dirname, '..', 'bin', 'modeldeck.js');
const { DEFAULT_CONNECTIONS: DEFAULT } = require('../lib/core/download');

function safetensors(size) {
  const header = Buffer.from(JSON.stringify({ __metadata__: { ss_network_module: 'networks.lora' }, 'bulk.weight': { dtype: 'U8', shape: [0], data_offsets: [0, 0] } }));
  const pad = (8 - (header.length % 8)) % 8;
  const h = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const tensor = size - 8 - h.length;
  const json = Buffer.from(JSON.stringify({ __metadata__: { ss_network_module: 'networks.lora' }, 'bulk.weight': { dtype: 'U8', shape: [tensor], data_offsets: [0, tensor] } }));
  const pad2 = (8 - ((8 + json.length) % 8)) % 8;
  const hh = Buffer.concat([json, Buffer.alloc(pad2, 0x20)]);
  const out = Buffer.allocUnsafe(size);
  out.writeBigUInt64LE(BigInt(hh.length), 0);
  hh.copy(out, 8);
  // Random bytes, so nothing compresses and every run's hashes differ.
  for (let at = 8 + hh.length; at < size; at += 64 * MIB) randomBytes(Math.min(64 * MIB, size - at)).copy(out, at);
  return out;
}

function run(cmd, args, env, onLine) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (onLine) for (const l of String(d).split('\n')) if (l.trim()) onLine(l, child);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => resolve({ code, signal, out, err, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
}

async function main() {
  for (const tool of ['aria2c', 'curl', 'openssl']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is needed (apt-get install ${tool === 'aria2c' ? 'aria2' : tool})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mdk-bench-dl-'));
  const storage = await new FakeStorage().start();
  const fake = await new FakeCivitai({ fixturesDir: null }).start();
  fake.storage = storage;
  const rssFile = join(dir, 'rss.js');
  // Sampled, not getrusage's maxRSS: a child made by fork+exec inherits the parent's high-water mark (this process
  // holds the 1 GiB files), which made every run report the bench's own size.
  writeFileSync(rssFile, "let peak = 0; setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10).unref(); process.on('exit', () => process.stderr.write(`maxRSS ${Math.max(peak, process.memoryUsage().rss)}\\n`));\n");
  const env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_ALLOWED_ORIGINS: storage.url, MODELDECK_CACHE_DIR: join(dir, 'cache') };
  const results = [];
  const lines = [];
  const say = (s) => {
    console.log(s);
    lines.push(s);
  };
  try {
    let n = 0;
    const newVersion = () => {
      const bytes = safetensors(SIZE);
      const sha = createHash('sha256').update(bytes).digest('hex').toUpperCase();
      const ids = fake.addVersion({ modelName: `Bench ${++n}`, type: 'LORA', baseModel: 'SD 1.5', files: [{ name: `bench-${n}.safetensors`, hashes: { SHA256: sha }, sizeKB: SIZE / 1024, primary: true, content: bytes }], images: 1 });
      const key = `direct-${n}`;
      storage.put(key, `bench-${n}.safetensors`, bytes);
      return { ...ids, key };
    };
    // 1 GiB per run: the bytes are dropped once a run is over.
    const forget = () => {
      storage.files.clear();
      fake.records.contents.clear();
    };
    const getRun = async (connections, extraEnv = {}, onLine, keep = false) => {
      const v = newVersion();
      const root = join(dir, `lib-${n}`);
      mkdirSync(root);
      const before = storage.bytesServed;
      const r = await run(process.execPath, ['-r', rssFile, BIN, 'get', '--json', '--no-previews', '--connections', String(connections), '--to', root, String(v.versionId)], { ...env, ...extraEnv }, onLine);
      const done = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.event === 'done');
      const rss = Number(/maxRSS (\d+)/.exec(r.err)?.[1] ?? 0);
      if (!keep) {
        forget();
        // As aria2c's and curl's outputs are: on these VMs a page-cache page freed a moment ago is cheap to
        // write again, while a page never touched costs about 10x (2 s per GiB, see docs/benchmarks.md), so a
        // kept library would make every later run pay for fresh pages.
        rmSync(root, { recursive: true, force: true });
      }
      return { ...r, done, rss, served: storage.bytesServed - before, version: v, root };
    };
    const toolRun = async (cmd, args) => {
      const v = newVersion();
      const out = join(dir, `out-${n}`);
      mkdirSync(out);
      const r = await run(cmd, args(storage.signedUrl(v.key), out));
      forget();
      rmSync(out, { recursive: true, force: true });
      return r;
    };
    const mbps = (ms) => (SIZE / 1e6 / (ms / 1000)).toFixed(0);

    // Capped per connection.
    storage.faults = { bytesPerSecond: CAP };
    const aria = await toolRun('aria2c', (url, out) => ['-x', '8', '-s', '8', '-k', '1M', '--file-allocation=none', '--allow-overwrite=true', '-q', '-d', out, '-o', 'f.bin', url]);
    if (aria.code !== 0) throw new Error(`aria2c failed: ${aria.err}`);
    const capped8 = await getRun(8);
    if (!capped8.done) throw new Error(`get failed: ${capped8.err}`);
    const capped4 = await getRun(4);
    say(`capped ${CAP / 1e6} MB/s per connection, ${SIZE / MIB} MiB: aria2c -x 8 -s 8 -k 1M ${aria.ms.toFixed(0)} ms (${mbps(aria.ms)} MB/s); modeldeck get --connections 8 ${capped8.ms.toFixed(0)} ms (${mbps(capped8.ms)} MB/s, verified and indexed) = ${(aria.ms / capped8.ms).toFixed(2)}x aria2c; --connections 4 ${capped4.ms.toFixed(0)} ms`);
    results.push(['capped, 8 connections: modeldeck >= 1.0x aria2c', aria.ms / capped8.ms >= 1.0]);

    // Uncapped, one connection.
    storage.faults = {};
    const curl = await toolRun('curl', (url, out) => ['-s', '-o', join(out, 'f.bin'), url]);
    const single = await getRun(1);
    // A reference that verifies as it downloads, with one SHA-256 pass (get makes two: SHA256 and AutoV3): curl's
    // bytes through tee into the file and OpenSSL's SHA-256 (as fast as Python's hashlib; coreutils' sha256sum is 4x slower here).
    const piped = await toolRun('bash', (url, out) => ['-c', 'set -o pipefail; curl -s "$1" | tee "$2" | openssl dgst -sha256 > /dev/null', 'bash', url, join(out, 'f.bin')]);
    if (piped.code !== 0) throw new Error(`curl | tee | openssl dgst -sha256 failed: ${piped.err}`);
    // The floor under the single-connection ratio: get verifies as it goes (SHA256 and AutoV3, one pass each
    // over the file), which curl does not. One pass, timed here in this process over bytes in memory:
    const sample = safetensors(SIZE);
    const hashStarted = process.hrtime.bigint();
    createHash('sha256').update(sample).digest();
    const oneHashMs = Number(process.hrtime.bigint() - hashStarted) / 1e6;
    say(`one SHA-256 pass over ${SIZE / MIB} MiB in memory, this process: ${oneHashMs.toFixed(0)} ms (${((oneHashMs / curl.ms) * 100).toFixed(0)}% of curl's whole download); get needs two such passes on 2 cores shared with the server`);
    say(`verified as it downloads, one SHA-256 pass: curl | tee | openssl dgst -sha256 ${piped.ms.toFixed(0)} ms = ${(curl.ms / piped.ms).toFixed(2)}x curl -o; modeldeck get (two passes) = ${(piped.ms / single.ms).toFixed(2)}x that pipeline`);
    say(`uncapped, one connection, ${SIZE / MIB} MiB: curl -o ${curl.ms.toFixed(0)} ms (${mbps(curl.ms)} MB/s); modeldeck get --connections 1 ${single.ms.toFixed(0)} ms (${mbps(single.ms)} MB/s) = ${(curl.ms / single.ms).toFixed(2)}x curl; peak RSS ${(single.rss / MIB).toFixed(0)} MiB`);
    results.push(['uncapped, 1 connection: modeldeck >= 0.95x curl', curl.ms / single.ms >= 0.95]);
    const multi = [];
    for (const c of [2, 4, 8]) multi.push([c, (await getRun(c)).ms]);
    say(`uncapped, by connections: 1 ${single.ms.toFixed(0)} ms, ${multi.map(([c, ms]) => `${c} ${ms.toFixed(0)} ms`).join(', ')}`);

    // Resume after a kill at 50%.
    storage.faults = { bytesPerSecond: CAP };
    let killed = false;
    const k = await getRun(DEFAULT, {}, (line, child) => {
      try {
        const l = JSON.parse(line);
        if (!killed && l.event === 'progress' && l.received >= SIZE / 2) {
          killed = true;
          child.kill('SIGKILL');
        }
      } catch {
        /* a partial line */
      }
    }, true);
    storage.faults = {};
    const before = storage.bytesServed;
    const firstServed = k.served;
    const v = k.version;
    const resumed = await run(process.execPath, ['-r', rssFile, BIN, 'get', '--json', '--no-previews', '--to', k.root, String(v.versionId)], env);
    forget();
    rmSync(k.root, { recursive: true, force: true });
    const rdone = resumed.out.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.event === 'done');
    const total = firstServed + (storage.bytesServed - before);
    const extra = (total - SIZE) / SIZE;
    say(`resume after kill -9 at 50%: ${killed ? 'killed' : 'NOT killed'}, resumed from ${((rdone?.resumedFrom ?? 0) / MIB).toFixed(0)} MiB, the server sent ${(total / MIB).toFixed(1)} MiB for a ${SIZE / MIB} MiB file: ${(extra * 100).toFixed(2)}% re-fetched; resume re-read of the .part for the hash included in ${resumed.ms.toFixed(0)} ms total`);
    results.push(['resume re-fetches under 5%', killed && !!rdone && extra < 0.05]);

    const peak = Math.max(capped8.rss, capped4.rss, single.rss);
    say(`peak RSS of get: ${(peak / MIB).toFixed(0)} MiB`);
    results.push(['peak RSS under 200 MB', peak < 200 * 1e6]);
    const tails = [capped8, capped4, single].map((r) => r.done.hashTailMs + r.done.indexMs);
    say(`last byte -> verified, identified, indexed: ${tails.map((t) => `${t} ms`).join(', ')} (hash tail + rename + index + sidecars)`);
    results.push(['last byte -> indexed under 1 s', tails.every((t) => t < 1000)]);
  } finally {
    await fake.stop();
    await storage.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [text, ok] of results) console.log(`${ok ? 'ok  ' : 'FAIL'} ${text}`);
}

module.exports = { safetensors };

if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
