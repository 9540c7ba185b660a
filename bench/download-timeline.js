#!/usr/bin/env node
// Where a capped download's time goes (issue 11): one `aria2c -x 8 -s 8 -k 1M` and one `modeldeck get
// --connections 8` of the same size against the same fake storage (each connection capped at 25 MB/s, as
// bench/download.js), then for each: the storage's view of every request (arrival, end, client port, so
// kept-alive connections show), the time with fewer than 8 requests in flight, the gaps between one request's
// end and the next one's arrival on a connection; for get also its own phases (MODELDECK_DOWNLOAD_TIMELINE,
// src/core/download/timeline.ts). Times are ms from the process's spawn.
// Usage: npm run build:node && npx tsc -p tsconfig.dev.json && node bench/download-timeline.js [runs]
// (BENCH_DOWNLOAD_MIB, default 1024; BENCH_TIMELINE_VERBOSE=1 lists every request).
'use strict';
const { spawn } = require('node:child_process');
const { createHash } = require('node:crypto');
const { mkdirSync, mkdtempSync, rmSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { FakeCivitai } = require('../build/dev/tests/fake-civitai');
const { FakeStorage } = require('../build/dev/tests/fake-civitai/storage');

const MIB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_DOWNLOAD_MIB || 1024) * MIB;
const CAP = 25 * 1000 * 1000;
const CONNS = 8;
const BIN = join(__dirname, '..', 'bin', 'modeldeck.js');
const RUNS = Number(process.argv[2] || 1);

// The same test file as bench/download.js: a safetensors header and random tensor bytes.
const { safetensors } = require('./download');

function run(cmd, args, env) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err, t0, t1: Date.now() }));
  });
}

/** The storage's requests of one run, seen from its spawn. */
function serverView(name, reqs, t0, t1) {
  const blob = reqs.filter((r) => r.path.startsWith('/blob/') && r.status === 206);
  const ms = (t) => (t - t0).toFixed(0);
  const byPort = new Map();
  for (const r of blob) byPort.set(r.port, [...(byPort.get(r.port) ?? []), r]);
  // Time with fewer than CONNS requests in flight, between the first arrival and the last end.
  const edges = blob.flatMap((r) => [[r.startedAt ?? r.at, 1], [r.closedAt ?? t1, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let prev = edges[0]?.[0] ?? t0;
  const under = new Map();
  for (const [t, d] of edges) {
    if (inFlight < CONNS) under.set(inFlight, (under.get(inFlight) ?? 0) + (t - prev));
    inFlight += d;
    prev = t;
  }
  const first = Math.min(...blob.map((r) => r.at));
  const last = Math.max(...blob.map((r) => r.closedAt ?? t1));
  const gaps = [];
  for (const rs of byPort.values()) for (let i = 1; i < rs.length; i++) gaps.push((rs[i].startedAt ?? rs[i].at) - (rs[i - 1].closedAt ?? rs[i - 1].at));
  // Each request's time beyond its bytes at the cap: the server's own lag.
  const lag = blob.map((r) => (r.closedAt ?? t1) - (r.startedAt ?? r.at) - (r.bytes / CAP) * 1000);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const connSecondsIdle = CONNS * (last - first) - sum(blob.map((r) => (r.closedAt ?? t1) - (r.startedAt ?? r.at)));
  console.log(`${name}: total ${t1 - t0} ms; first request at ${ms(first)}, last byte at ${ms(last)} (${(last - first).toFixed(0)} ms of transfer, floor ${((SIZE / CAP / CONNS) * 1000).toFixed(0)}), exit at ${ms(t1)}`);
  console.log(`  ${blob.length} ranged requests over ${byPort.size} connections (client ports); ${sum(blob.map((r) => r.bytes)) / MIB} MiB served`);
  console.log(`  time with fewer than ${CONNS} in flight: ${[...under].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v.toFixed(0)} ms`).join(', ')}`);
  console.log(`  gaps on a connection between a response's end and the next request: n=${gaps.length}, sum ${sum(gaps).toFixed(0)} ms, max ${gaps.length ? Math.max(...gaps).toFixed(0) : 0} ms`);
  console.log(`  connection-ms idle inside the transfer: ${connSecondsIdle.toFixed(0)} (= ${(connSecondsIdle / CONNS).toFixed(0)} ms of all ${CONNS}); per-request time beyond bytes/cap: sum ${sum(lag).toFixed(0)} ms, max ${Math.max(...lag).toFixed(0)} ms`);
  if (process.env.BENCH_TIMELINE_VERBOSE) {
    for (const [port, rs] of byPort) console.log(`  port ${port}: ${rs.map((r) => `${r.range} ${ms(r.at)}/${ms(r.startedAt ?? r.at)}-${ms(r.closedAt ?? t1)}`).join('; ')}`);
  }
  return { total: t1 - t0, first: first - t0, last: last - t0 };
}

function clientView(file, t0, fakeCpu) {
  const ev = JSON.parse(readFileSync(file, 'utf8'));
  const at = (what) => ev.find((e) => e.what === what)?.t;
  const ms = (t) => (t === undefined ? '-' : (t - t0).toFixed(0));
  const phases = ['process-start', 'cli-action', 'library-open', 'get-start', 'planned', 'placed', 'transfer-start', 'state-read', 'part-open', 'free-space', 'hashing-started', 'workers-done', 'hash-done', 'engine-closed', 'part-closed', 'verified', 'indexed', 'library-closed', 'process-exit'];
  console.log(`  get's phases (ms from spawn): ${phases.map((p) => `${p} ${ms(at(p))}`).join(', ')}`);
  const exit = ev.find((e) => e.what === 'process-exit');
  console.log(`  get's CPU, all threads: user ${exit.userMs.toFixed(0)} ms, system ${exit.systemMs.toFixed(0)} ms; the bench process (the fake servers) meanwhile: ${fakeCpu}`);
  const sends = ev.filter((e) => e.what === 'req-send');
  const heads = ev.filter((e) => e.what === 'req-headers');
  const firsts = ev.filter((e) => e.what === 'first-byte');
  const lasts = ev.filter((e) => e.what === 'last-byte');
  console.log(`  first request sent ${ms(sends[0]?.t)}, its headers ${ms(heads[0]?.t)}; 2nd-8th sent ${sends.slice(1, CONNS).map((e) => ms(e.t)).join(' ')}; their first bytes ${firsts.slice(0, CONNS).map((e) => ms(e.t)).join(' ')}`);
  // Per connection: the client's gap between one chunk's last byte and its next request.
  const gaps = [];
  for (let c = 0; c < CONNS; c++) {
    const s = sends.filter((e) => e.conn === c);
    const l = lasts.filter((e) => e.conn === c);
    for (let i = 0; i < l.length && i + 1 < s.length; i++) gaps.push(s[i + 1].t - l[i].t);
  }
  const headLat = sends.map((s) => (heads.find((h) => h.conn === s.conn && h.t >= s.t)?.t ?? s.t) - s.t);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  console.log(`  client side: ${sends.length} requests; last byte -> next request on a connection sum ${sum(gaps).toFixed(1)} ms (max ${gaps.length ? Math.max(...gaps).toFixed(1) : 0}); request -> headers sum ${sum(headLat).toFixed(1)} ms (max ${Math.max(...headLat).toFixed(1)})`);
  const endsByConn = [];
  for (let c = 0; c < CONNS; c++) endsByConn.push(ms(Math.max(...lasts.filter((e) => e.conn === c).map((e) => e.t))));
  console.log(`  each connection's last byte: ${endsByConn.join(' ')}`);
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mdk-bench-tl-'));
  const storage = await new FakeStorage().start();
  const fake = await new FakeCivitai({ fixturesDir: null }).start();
  fake.storage = storage;
  const env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_ALLOWED_ORIGINS: storage.url, MODELDECK_CACHE_DIR: join(dir, 'cache') };
  storage.faults = { bytesPerSecond: CAP };
  let n = 0;
  const newVersion = () => {
    const bytes = safetensors(SIZE);
    const sha = createHash('sha256').update(bytes).digest('hex').toUpperCase();
    const ids = fake.addVersion({ modelName: `Bench ${++n}`, type: 'LORA', baseModel: 'SD 1.5', files: [{ name: `bench-${n}.safetensors`, hashes: { SHA256: sha }, sizeKB: SIZE / 1024, primary: true, content: bytes }], images: 1 });
    storage.put(`direct-${n}`, `bench-${n}.safetensors`, bytes);
    return { ...ids, key: `direct-${n}` };
  };
  const forget = () => {
    storage.files.clear();
    fake.records.contents.clear();
  };
  try {
    for (let i = 0; i < RUNS; i++) {
      if (process.env.BENCH_TIMELINE_ONLY !== 'get') {
        const v = newVersion();
        const out = join(dir, `out-${n}`);
        mkdirSync(out);
        const from = storage.requests.length;
        const cpu0 = process.cpuUsage();
        const r = await run('aria2c', ['-x', '8', '-s', '8', '-k', '1M', '--file-allocation=none', '--allow-overwrite=true', '-q', '-d', out, '-o', 'f.bin', storage.signedUrl(v.key)]);
        if (r.code !== 0) throw new Error(`aria2c: ${r.err}`);
        serverView('aria2c -x 8 -s 8 -k 1M', storage.requests.slice(from), r.t0, r.t1);
        const cpu = process.cpuUsage(cpu0);
        console.log(`  the bench process (the fake servers) meanwhile: user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms`);
        forget();
        rmSync(out, { recursive: true, force: true });
      }
      {
        const v = newVersion();
        const root = join(dir, `lib-${n}`);
        mkdirSync(root);
        const from = storage.requests.length;
        const tl = join(dir, `timeline-${n}.json`);
        const cpu0 = process.cpuUsage();
        const r = await run(process.execPath, [BIN, 'get', '--json', '--no-previews', '--connections', String(CONNS), '--to', root, String(v.versionId)], { ...env, MODELDECK_DOWNLOAD_TIMELINE: tl });
        if (r.code !== 0) throw new Error(`get: ${r.err}`);
        serverView('modeldeck get --connections 8', storage.requests.slice(from), r.t0, r.t1);
        const cpu = process.cpuUsage(cpu0);
        clientView(tl, r.t0, `user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms`);
        forget();
        rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    await fake.stop();
    await storage.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
