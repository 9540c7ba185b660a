#!/usr/bin/env node
// Widget benchmark (issues 6 and 17): the models panel in headless Chromium,
// through the same stack as the e2e test (Debian jupyter_server, the modeldeck
// kernel, the html-manager test page loading dist/index.js), with libraries of
// 10,000 and 100,000 models, over a shaped link (bench/shaping-proxy.js between
// the browser and jupyter_server: 20 Mbit/s and 40 ms each way by default;
// LINK_MBIT, LINK_DELAY_MS change it, LINK=0 measures plain loopback).
//   - first cards: from the start of the cell that calls show() (execute_request
//     sent) to the first painted cards; measured on a library no panel has
//     shown yet ("nothing kept"; COLD_REPS times, default 1, the kept file
//     deleted before each) and then REPS times in fresh kernels after a
//     panel kept its first window beside the index (src/kernel/widget/first-window.ts),
//     as every later show() of an unchanged library finds it; and once more after
//     a terminal changed the index (`modeldeck link` of one model, a real CLI
//     process: it keeps the window for the new version, as every CLI command
//     that changes the index does);
//   - filter latency: typing in the search box (input event) to the grid's DOM
//     updated and painted.
// The library is an index written with the index codec (as bench/library.js
// load50k does), so show() loads it without hashing; previews are tiny PNGs
// beside each model. Usage: npm run bench:widget   (KEEP=1 keeps the work dir,
// REPS=n sets how many fresh kernels show() is timed in; the median counts;
// SIZES=10000,100000 the library sizes)
'use strict';
const { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, utimesSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { encodeEntry } = require('../lib/core/library/index-codec');
const { INDEX_DIR, INDEX_FORMAT } = require('../lib/core/library/index-store');
const { tinyPng } = require('../build/dev/tests/fake-civitai');
const { buildSite } = require('../build/dev/tests/e2e/helpers/site');
const { startJupyterServer, missingPrerequisites } = require('../build/dev/tests/e2e/helpers/jupyter-server');
const { launchChromium, missingChromium } = require('../build/dev/tests/e2e/helpers/chromium');
const { execFileSync } = require('node:child_process');
const { startShapingProxy } = require('./shaping-proxy');

const SIZES = (process.env.SIZES || '10000,100000').split(',').map(Number);
const LINK = process.env.LINK === '0' ? null : { mbit: Number(process.env.LINK_MBIT) || 20, delayMs: Number(process.env.LINK_DELAY_MS ?? 40) };
const CARD = 'article.md-card';
/** Cards of the panel in the newest cell. */
const NEWEST_CARD = '#notebook > section.cell:last-child article.md-card';
const TARGET_FIRST_MS = 1500;
const TARGET_KEY_MS = 300;
const TARGET_SCROLL_MS = 300;
const TARGET_BYTES = 300_000;
const TARGET_RSS_MB = 400;
const TARGET_HEAP_MB = 150;
/** show() runs, each in a new kernel (REPS=n to change). */
const REPS = Number(process.env.REPS) || 2;
/** show() runs with nothing kept beside the index (COLD_REPS=n; the median counts). */
const COLD_REPS = Number(process.env.COLD_REPS) || 1;

const KINDS = [
  ['lora', 'Lora', 'LORA'],
  ['lora', 'Lora', 'LORA'],
  ['lora', 'Lora', 'LORA'],
  ['checkpoint', 'Stable-diffusion', 'Checkpoint'],
  ['embedding', 'embeddings', 'TextualInversion'],
];
const BASES = [
  ['sdxl', 'SDXL 1.0'],
  ['sd1', 'SD 1.5'],
  ['pony', 'Pony'],
  ['flux', 'Flux.1 D'],
];
const WORDS = ['aurora', 'brush', 'cyber', 'dune', 'ember', 'frost', 'glow', 'haze', 'ink', 'jade', 'koi', 'lumen', 'moss', 'neon', 'opal', 'pixel'];

/** A library of `n` models known only from its index (no model bytes to hash), with previews on disk. */
function makeLibrary(root, n) {
  mkdirSync(join(root, INDEX_DIR), { recursive: true });
  const png = tinyPng();
  const rows = [];
  const made = new Set();
  for (let i = 0; i < n; i++) {
    const [kind, folder, type] = KINDS[i % KINDS.length];
    const [baseModel, civitaiBase] = BASES[i % BASES.length];
    const dir = `models/${folder}/set-${Math.floor(i / 200)}`;
    if (!made.has(dir)) mkdirSync(join(root, dir), { recursive: true }), made.add(dir);
    const word = `${WORDS[i % WORDS.length]} ${WORDS[Math.floor(i / WORDS.length) % WORDS.length]}`;
    const file = `${word.replace(' ', '-')}-${i}.safetensors`;
    const preview = `${word.replace(' ', '-')}-${i}.preview.png`;
    writeFileSync(join(root, dir, preview), png);
    const sha = createHash('sha256').update(`model ${i}`).digest('hex').toUpperCase();
    const found = i % 10 < 7;
    const notFound = i % 10 === 7 || i % 10 === 8;
    rows.push(
      encodeEntry({
        path: `${dir}/${file}`,
        size: 20_000_000 + i * 1000,
        mtimeMs: 1_700_000_000_000 + i,
        fingerprint: `${20_000_000 + i * 1000}:${sha.slice(0, 24).toLowerCase()}`,
        hashes: { SHA256: sha, AutoV1: sha.slice(0, 8), AutoV2: sha.slice(0, 10), AutoV3: sha.slice(20, 32), AutoV3Full: sha },
        hashSources: { SHA256: 'computed', AutoV1: 'computed', AutoV2: 'computed', AutoV3: 'computed' },
        verified: i % 10 !== 9,
        kind,
        baseModel,
        folderKind: kind,
        evidence: [],
        conflicts: [],
        civitai: found
          ? {
              status: 'found',
              checkedAt: 1_700_000_000_000,
              link: {
                modelId: 100 + i,
                versionId: 200_000 + i,
                modelName: `${word.replace(/\b\w/g, (c) => c.toUpperCase())} ${i}`,
                versionName: 'v1.0',
                type,
                baseModel: civitaiBase,
                trainedWords: [`${WORDS[i % WORDS.length]}_style`],
                nsfwLevel: 1,
                pageUrl: `https://civitai.com/models/${100 + i}?modelVersionId=${200_000 + i}`,
                matchedBy: 'SHA256',
              },
            }
          : notFound
            ? { status: 'not_found', checkedAt: 1_700_000_000_000 }
            : { status: 'unknown' },
        preview: `${dir}/${preview}`,
        addedAt: 1_700_000_000_000 + i * 1000,
        warnings: [],
      }),
    );
  }
  writeFileSync(join(root, INDEX_DIR, 'index.json'), JSON.stringify({ format: INDEX_FORMAT, tool: 'modeldeck', savedAt: Date.now(), rows }));
}

/**
 * What a user does in a terminal beside the notebook: `modeldeck link` sets a
 * hash on one model (a real file, sparse, with the size and mtime its index
 * row has), as a real CLI process. Returns what it printed and its time.
 */
function linkFromTerminal(root) {
  const file = join(root, 'models/Lora/set-0/aurora-aurora-0.safetensors');
  writeFileSync(file, '');
  truncateSync(file, 20_000_000);
  const t = new Date(1_700_000_000_000);
  utimesSync(file, t, t);
  const t0 = Date.now();
  const env = { ...process.env, CIVITAI_BASE_URL: 'http://127.0.0.1:9', CIVITAI_TOKEN: '' };
  delete env.NODE_EXTRA_CA_CERTS;
  const out = execFileSync(process.execPath, [join(__dirname, '..', 'bin', 'modeldeck.js'), 'link', file, 'B'.repeat(64)], { env, encoding: 'utf8' });
  return `${out.trim()} (${Date.now() - t0} ms)`;
}

/**
 * In the page: runs `code` and resolves with the time from execute_request to
 * the first frame painted with cards in the DOM (and to cards with a loaded
 * preview image).
 */
function pageFirstCards({ code, selector }) {
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(performance.now()); ch.port2.postMessage(0); }));
  return new Promise((resolve, reject) => {
    let firstCards = null;
    let bytesBefore = 0;
    let done = false;
    const start = performance.now();
    const startEpoch = Date.now();
    const check = async () => {
      if (firstCards === null && document.querySelector(selector)) {
        firstCards = 0;
        const painted = await afterPaint();
        firstCards = painted - start;
        // Websocket bytes that arrived from the cell's start to that paint.
        const frames = window.e2e.frames.filter((f) => f.epoch >= startEpoch && f.epoch <= Date.now());
        bytesBefore = frames.reduce((n, f) => n + f.bytes, 0);
      }
      const img = document.querySelector(`${selector} img`);
      if (!done && firstCards && img && img.complete && img.naturalWidth > 0) {
        done = true;
        observer.disconnect();
        const painted = await afterPaint();
        resolve({ firstCardsMs: firstCards, bytesBefore, firstPreviewMs: painted - start, cards: document.querySelectorAll(selector).length, cell: await cell });
      }
    };
    const observer = new MutationObserver(() => void check());
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });
    document.addEventListener('load', () => void check(), true);
    const cell = window.e2e.run(code);
    cell.then((r) => { if (r.error) reject(new Error(`${r.error.ename}: ${r.error.evalue}`)); }, reject);
    setTimeout(() => reject(new Error(`no cards after 180 s (errors: ${window.e2e.errors.join('; ')})`)), 180_000);
  });
}

/**
 * In the page: types `text` into the search box (one input event) and resolves
 * with the time until the panel's DOM has changed and settled (a painted frame
 * with no further change), with the cards then in the DOM and the panel's
 * match count.
 */
function pageFilter({ text, selector }) {
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(performance.now()); ch.port2.postMessage(0); }));
  const input = document.querySelector('input[type="search"]');
  if (!input) return Promise.reject(new Error('no search box'));
  if (input.value === text) return Promise.resolve({ ms: 0, shown: document.querySelectorAll(selector).length, count: '' });
  const panel = input.closest('.widget-area') ?? document.body;
  return new Promise((resolve, reject) => {
    let start = 0;
    let last = 0;
    let first0 = 0;
    const settle = async () => {
      for (;;) {
        const seen = last;
        const painted = await afterPaint();
        if (last !== seen) continue; // changed again during that frame: wait for the next one
        // A windowed panel marks itself while the kernel's answer is awaited: the grid is updated once it came.
        if (panel.querySelector('[data-md-pending]')) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        observer.disconnect();
        resolve({ ms: painted - start, firstChangeMs: first0 - start, shown: document.querySelectorAll(selector).length, count: panel.querySelector('.md-count')?.textContent ?? '' });
        return;
      }
    };
    const observer = new MutationObserver((records) => {
      if (records.every((r) => r.target === input)) return;
      const first = last === 0;
      last = performance.now();
      if (first) first0 = last;
      if (first) void settle();
    });
    observer.observe(panel, { childList: true, subtree: true, characterData: true });
    start = performance.now();
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    setTimeout(() => reject(new Error(`the panel did not change for "${text}" within 10 s`)), 10_000);
  });
}


/**
 * In the page: jumps the grid's scroller to `fraction` of its height and
 * resolves with the time until the rows there show cards (no placeholder
 * waiting for the kernel) in a painted frame.
 */
function pageScrollJump({ fraction, selector }) {
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(performance.now()); ch.port2.postMessage(0); }));
  const scroller = [...document.querySelectorAll('.md-scroller')].pop();
  if (!scroller) return Promise.reject(new Error('no grid'));
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const target = Math.floor(scroller.scrollHeight * fraction);
    scroller.scrollTop = target;
    scroller.dispatchEvent(new Event('scroll'));
    const check = async () => {
      for (;;) {
        const painted = await afterPaint();
        const cards = [...scroller.querySelectorAll(selector)];
        const loading = scroller.querySelector('.md-card-loading');
        const top = cards.length ? Number(cards[0].dataset.index) : -1;
        if (cards.length && !loading && top > 0) {
          resolve({ ms: painted - start, firstIndex: top, cards: cards.length });
          return;
        }
        if (performance.now() - start > 10_000) {
          reject(new Error(`no cards at ${fraction} after 10 s`));
          return;
        }
      }
    };
    void check();
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (n) => (n / 1e6).toFixed(1);

/** Resident memory of the kernel process (the only kernel the server runs), MB. */
async function kernelRssMb(server) {
  const kernels = await (await fetch(`${server.url}/api/kernels`, { headers: { Authorization: `token ${server.token}` } })).json();
  const ps = execFileSync('ps', ['-eo', 'pid=,rss=,args='], { encoding: 'utf8' });
  let kb = 0;
  for (const k of kernels) for (const line of ps.split('\n')) if (line.includes(`kernel-${k.id}.json`)) kb += Number(line.trim().split(/\s+/)[1]);
  return kb / 1024;
}

/** The page's JavaScript heap after a garbage collection, MB (Chrome DevTools protocol). */
async function pageHeapMb(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  const used = metrics.find((m) => m.name === 'JSHeapUsedSize');
  return used ? used.value / 1e6 : NaN;
}

// bench/serve.js uses the same library and the same filter measurement (at 10,000 models).
module.exports = { makeLibrary, pageFilter, MODELS: 10_000 };

if (require.main === module) (async () => {
  const missing = missingChromium() || missingPrerequisites();
  if (missing) throw new Error(missing);
  const work = mkdtempSync(join(tmpdir(), 'modeldeck-bench-widget-'));
  let server;
  let browser;
  let proxy;
  const results = [];
  try {
    let t = Date.now();
    const site = buildSite(join(work, 'static'));
    console.log(`test page built in ${site.buildMs} ms`);
    server = await startJupyterServer({ dir: join(work, 'jupyter'), staticDir: site.dir, env: { MODELDECK_CACHE_DIR: join(work, 'cache'), MODELDECK_COLAB: '0', CIVITAI_TOKEN: '' } });
    const serverPort = Number(new URL(server.url).port);
    let base = server.url;
    if (LINK) {
      proxy = await startShapingProxy({ host: '127.0.0.1', port: serverPort }, LINK);
      base = `http://127.0.0.1:${proxy.port}`;
      console.log(`shaped link: ${LINK.mbit} Mbit/s and ${LINK.delayMs} ms each way (proxy on port ${proxy.port})`);
    } else console.log('plain loopback (LINK=0)');
    browser = await launchChromium(work, { width: 1280, height: 900 });
    const { page } = browser;
    const openPage = async () => {
      await page.goto(`${base}/static/index.html?${new URLSearchParams({ token: server.token, kernel: 'modeldeck', frames: '1' })}`);
      await page.waitForFunction(() => window.e2e && window.e2e.state !== 'starting', null, { timeout: 120_000 });
      const state = await page.evaluate(() => [window.e2e.state, window.e2e.failure]);
      if (state[0] !== 'ready') throw new Error(`test page: ${state[1]}`);
      const t0 = Date.now();
      const warm = await page.evaluate(() => window.e2e.run('import { show } from "modeldeck";\ntypeof show;'));
      if (warm.error) throw new Error(`warm-up cell: ${warm.error.ename}: ${warm.error.evalue}`);
      return Date.now() - t0;
    };
    for (const MODELS of SIZES) {
      const n = MODELS.toLocaleString('en');
      const root = join(work, `library-${MODELS}`);
      t = Date.now();
      makeLibrary(root, MODELS);
      console.log(`\n== ${n} models: library of indexed models with previews written in ${Date.now() - t} ms`);
      const code = `const panel = show(${JSON.stringify(root)}, { civitai: false });`;
      const firsts = [];
      const bytes = [];
      const kept = join(root, INDEX_DIR, 'panel-first-window.cache.json');
      const colds = [];
      let afterCli = null;
      // The runs in order: COLD_REPS with nothing kept (the kept file deleted before each), REPS with it, one after a CLI change.
      const runs = [...Array(COLD_REPS).fill('cold'), ...Array(REPS).fill('kept'), 'cli'];
      for (let i = 0; i < runs.length; i++) {
        const kind = runs[i];
        if (kind === 'cold') rmSync(kept, { force: true });
        if (kind === 'cli') console.log(`modeldeck link from a terminal: ${linkFromTerminal(root)}`);
        const warmMs = await openPage();
        const r = await page.evaluate(pageFirstCards, { code, selector: NEWEST_CARD });
        const label = kind === 'cold' ? `nothing kept yet, run ${i + 1}/${COLD_REPS}` : kind === 'cli' ? 'after the terminal changed the index' : `first window kept, run ${i + 1 - COLD_REPS}/${REPS}`;
        console.log(`${label} (fresh kernel, warm-up ${warmMs} ms): first painted cards ${r.firstCardsMs.toFixed(0)} ms (${r.cards} cards in the DOM), ${(r.bytesBefore / 1e3).toFixed(0)} KB over the websocket before them, first preview ${r.firstPreviewMs.toFixed(0)} ms`);
        if (kind === 'cli') afterCli = r;
        else if (kind === 'cold') {
          colds.push(r);
          // The panel keeps its first window a moment after showing it; a user's kernel lives that long.
          const until = Date.now() + 60_000;
          while (!existsSync(kept) && Date.now() < until) await page.waitForTimeout(100);
          if (!existsSync(kept)) throw new Error(`the panel kept no first window (${kept})`);
        } else {
          firsts.push(r.firstCardsMs);
          bytes.push(r.bytesBefore);
        }
        if (kind !== 'cli') await page.evaluate(() => window.e2e.shutdown());
      }
      const cold = { firstCardsMs: median(colds.map((r) => r.firstCardsMs)), bytesBefore: median(colds.map((r) => r.bytesBefore)) };
      await page.waitForTimeout(500);
      const queries = ['aurora', 'neon pixel', 'ember-koi-4', 'jade_style', 'zzz-nothing', ''];
      const keys = [];
      for (const text of queries) {
        if (text) await page.evaluate(pageFilter, { text: '', selector: CARD }).catch(() => undefined);
        await page.waitForTimeout(100);
        const r = await page.evaluate(pageFilter, { text, selector: CARD }).catch((e) => ({ ms: NaN, shown: -1, error: String(e) }));
        keys.push(r.ms);
        console.log(`keystroke "${text}": ${Number.isNaN(r.ms) ? r.error : `${r.ms.toFixed(0)} ms to the kernel's answer painted (first change ${r.firstChangeMs.toFixed(0)} ms), ${r.shown} cards in the DOM, count "${r.count}"`}`);
      }
      await page.evaluate(pageFilter, { text: '', selector: CARD }).catch(() => undefined);
      const jumps = [];
      for (const fraction of [0.5, 0.13, 0.87, 0.31, 0.66]) {
        await page.waitForTimeout(200);
        const r = await page.evaluate(pageScrollJump, { fraction, selector: CARD }).catch((e) => ({ ms: NaN, error: String(e) }));
        jumps.push(r.ms);
        console.log(`scroll jump to ${fraction}: ${Number.isNaN(r.ms) ? r.error : `${r.ms.toFixed(0)} ms to filled rows (first card index ${r.firstIndex})`}`);
      }
      const rss = await kernelRssMb(server);
      const heap = await pageHeapMb(page);
      console.log(`kernel RSS ${rss.toFixed(0)} MB, page heap ${heap.toFixed(0)} MB`);
      const errors = await page.evaluate(() => window.e2e.errors);
      if (errors.length || browser.errors.length) console.log(`page errors: ${[...errors, ...browser.errors].join('\n')}`);
      await page.evaluate(() => window.e2e.shutdown()).catch(() => undefined);
      const ok = (xs) => xs.filter((x) => !Number.isNaN(x));
      results.push({ n, cold: cold.firstCardsMs, coldBytes: cold.bytesBefore, afterCli: afterCli.firstCardsMs, first: median(firsts), bytes: median(bytes), key: ok(keys).length ? Math.max(...ok(keys)) : NaN, keysOk: ok(keys).length === keys.length, jump: ok(jumps).length ? Math.max(...ok(jumps)) : NaN, jumpsOk: ok(jumps).length === jumps.length, rss, heap });
    }
    console.log(`\nsummary (${LINK ? `${LINK.mbit} Mbit/s, ${LINK.delayMs} ms each way` : 'loopback'}; median of ${REPS} show() runs with the first window kept, worst keystroke and scroll jump):`);
    const check = (label, ok) => console.log(`${ok ? 'MET   ' : 'MISSED'}  ${label}`);
    for (const r of results) {
      check(`${r.n}: bytes before first card ${(r.bytes / 1e3).toFixed(0)} KB (< ${TARGET_BYTES / 1e3} KB)`, r.bytes < TARGET_BYTES);
      check(`${r.n}: first cards ${r.first.toFixed(0)} ms after show() (< ${TARGET_FIRST_MS} ms)`, r.first < TARGET_FIRST_MS);
      check(`${r.n}: first cards of the first show() of the library (nothing kept yet; median of ${COLD_REPS}) ${r.cold.toFixed(0)} ms, ${(r.coldBytes / 1e3).toFixed(0)} KB before them (< ${TARGET_FIRST_MS} ms)`, r.cold < TARGET_FIRST_MS);
      check(`${r.n}: first cards of the first show() after a terminal changed the index ${r.afterCli.toFixed(0)} ms (< ${TARGET_FIRST_MS} ms)`, r.afterCli < TARGET_FIRST_MS);
      check(`${r.n}: keystroke to updated grid, worst ${r.key.toFixed(0)} ms (< ${TARGET_KEY_MS} ms)`, r.keysOk && r.key < TARGET_KEY_MS);
      check(`${r.n}: scroll jump filled, worst ${r.jump.toFixed(0)} ms (< ${TARGET_SCROLL_MS} ms)`, r.jumpsOk && r.jump < TARGET_SCROLL_MS);
      check(`${r.n}: kernel RSS ${r.rss.toFixed(0)} MB (< ${TARGET_RSS_MB} MB)`, r.rss < TARGET_RSS_MB);
      check(`${r.n}: page heap ${r.heap.toFixed(0)} MB (< ${TARGET_HEAP_MB} MB)`, r.heap < TARGET_HEAP_MB);
    }
    if (proxy) console.log(`link carried ${mb(proxy.bytesDown())} MB down, ${mb(proxy.bytesUp())} MB up in all`);
  } finally {
    await browser?.close();
    await proxy?.close();
    await server?.stop();
    if (process.env.KEEP) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
