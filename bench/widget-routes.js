#!/usr/bin/env node
// The two notebook routes side by side (issue 9): the models panel with 10,000
// models in headless Chromium, through the same stack as the e2e tests (Debian
// jupyter_server, the html-manager test page). First cards: from the start of
// the cell that calls show() (execute_request sent) to the first painted cards.
// Search latency and the shaped link are bench/widget.js's (npm run bench:widget).
// The library is an index written with the index codec (as bench/library.js
// load50k does), so show() loads it without hashing; previews are tiny PNGs
// beside each model. Usage: npm run bench:widget:routes   (KEEP=1 keeps the work dir,
// REPS=n sets how many fresh kernels show() is timed in; the median counts).
// Both routes: the tslab kernel (show() in TypeScript) and the Python route (a
// python3 ipykernel kernel, modeldeck.show() relaying to a Node session, the
// panel rendered by anywidget's published front end); the Python route's
// first cards are compared with tslab's as a ratio, and the preview bytes that
// crossed the Python relay as binary buffers are counted.
'use strict';
const { mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { copyFileSync } = require('node:fs');
const { tinyPng } = require('../build/dev/tests/fake-civitai');
const { buildSite } = require('../build/dev/tests/e2e/helpers/site');
const { startJupyterServer, missingPrerequisites } = require('../build/dev/tests/e2e/helpers/jupyter-server');
const { launchChromium, missingChromium } = require('../build/dev/tests/e2e/helpers/chromium');
const { makeLibrary, pageFilter } = require('./widget');

const MODELS = 10_000;
const CARD = 'article.md-card';
/** Cards of the panel in the newest cell. */
const NEWEST_CARD = '#notebook > section.cell:last-child article.md-card';
const TARGET_FIRST_MS = 1500;
/** A search keystroke to the grid showing the kernel's answer, in both routes (issue 9's filter target). */
const TARGET_SEARCH_MS = 100;
const QUERIES = ['aurora', 'neon pixel', 'ember-koi-4', 'jade_style', 'zzz-nothing', ''];
/** The Python route's first cards, at most this many times tslab's (same run, same library). */
const TARGET_PYTHON_RATIO = 1.2;
const REPO = join(__dirname, '..');
const ANYWIDGET_DIR = join(REPO, 'node_modules', 'anywidget'); // its exports map hides package.json and dist/
const ANYWIDGET_VERSION = JSON.parse(require('node:fs').readFileSync(join(ANYWIDGET_DIR, 'package.json'), 'utf8')).version;
/** show() runs, each in a new kernel (REPS=n to change). */
const REPS = Number(process.env.REPS) || 3;


/**
 * In the page: runs `code` and resolves with the time from execute_request to
 * the first frame painted with cards in the DOM (and to cards with a loaded
 * preview image).
 */
function pageFirstCards({ code, selector }) {
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(performance.now()); ch.port2.postMessage(0); }));
  return new Promise((resolve, reject) => {
    let firstCards = null;
    let done = false;
    const start = performance.now();
    const check = async () => {
      if (firstCards === null && document.querySelector(selector)) {
        firstCards = 0;
        const painted = await afterPaint();
        firstCards = painted - start;
      }
      const img = document.querySelector(`${selector} img`);
      if (!done && firstCards && img && img.complete && img.naturalWidth > 0) {
        done = true;
        observer.disconnect();
        const painted = await afterPaint();
        resolve({ firstCardsMs: firstCards, firstPreviewMs: painted - start, cards: document.querySelectorAll(selector).length, cell: await cell });
      }
    };
    const observer = new MutationObserver(() => void check());
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });
    document.addEventListener('load', () => void check(), true);
    const cell = window.e2e.run(code);
    cell.then((r) => { if (r.error) reject(new Error(`${r.error.ename}: ${r.error.evalue}`)); }, reject);
    setTimeout(() => reject(new Error(`no cards after 60 s (errors: ${window.e2e.errors.join('; ')})`)), 60_000);
  });
}

/** Worst search keystroke on the open page (each from the full list, so each is a real change). */
async function searchWorst(page, label) {
  const figures = [];
  for (const text of QUERIES) {
    if (text) await page.evaluate(pageFilter, { text: '', selector: CARD }).catch(() => undefined);
    await page.waitForTimeout(100);
    const r = await page.evaluate(pageFilter, { text, selector: CARD }).catch((e) => ({ ms: NaN, error: String(e) }));
    figures.push(r.ms);
    console.log(`${label} search "${text}": ${Number.isNaN(r.ms) ? r.error : `${r.ms.toFixed(0)} ms to the kernel's answer painted, count "${r.count}"`}`);
  }
  await page.evaluate(pageFilter, { text: '', selector: CARD }).catch(() => undefined);
  return figures.some((x) => Number.isNaN(x)) ? NaN : Math.max(...figures);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const missing = missingChromium() || missingPrerequisites();
  if (missing) throw new Error(missing);
  const work = mkdtempSync(join(tmpdir(), 'modeldeck-bench-widget-'));
  let server;
  let browser;
  try {
    const root = join(work, 'library');
    let t = Date.now();
    makeLibrary(root, MODELS);
    console.log(`library of ${MODELS.toLocaleString('en')} indexed models with previews written in ${Date.now() - t} ms`);
    t = Date.now();
    const site = buildSite(join(work, 'static'));
    console.log(`test page built in ${site.buildMs} ms`);
    // anywidget's front end where the CDN has it, for the Python route.
    mkdirSync(join(site.dir, `anywidget@${ANYWIDGET_VERSION}`, 'dist'), { recursive: true });
    copyFileSync(join(ANYWIDGET_DIR, 'dist', 'index.js'), join(site.dir, `anywidget@${ANYWIDGET_VERSION}`, 'dist', 'index.js'));
    server = await startJupyterServer({
      dir: join(work, 'jupyter'),
      staticDir: site.dir,
      env: { MODELDECK_CACHE_DIR: join(work, 'cache'), MODELDECK_COLAB: '0', CIVITAI_TOKEN: '', PYTHONPATH: join(REPO, 'python'), MODELDECK_ANYWIDGET_VERSION: ANYWIDGET_VERSION },
    });
    browser = await launchChromium(work, { width: 1280, height: 900 });
    const { page } = browser;
    /** A fresh page and kernel, warmed up: the first cell compiles with TypeScript and loads modeldeck, which is not what show() costs. */
    const openPage = async (kernel = 'modeldeck', warmCode = 'import { show } from "modeldeck";\ntypeof show;') => {
      await page.goto(`${server.url}/static/index.html?${new URLSearchParams({ token: server.token, kernel, frames: '1' })}`);
      await page.waitForFunction(() => window.e2e && window.e2e.state !== 'starting', null, { timeout: 60_000 });
      const state = await page.evaluate(() => [window.e2e.state, window.e2e.failure]);
      if (state[0] !== 'ready') throw new Error(`test page: ${state[1]}`);
      const t0 = Date.now();
      const warm = await page.evaluate((c) => window.e2e.run(c), warmCode);
      if (warm.error) throw new Error(`warm-up cell: ${warm.error.ename}: ${warm.error.evalue}`);
      return Date.now() - t0;
    };
    const showCell = async (label, code) => {
      const r = await page.evaluate(pageFirstCards, { code, selector: NEWEST_CARD });
      const m = r.cell.marks;
      const models = (await page.evaluate(() => window.e2e.commMessages)).filter((x) => x.type === 'models' && x.commId === r.cell.widgets[0]);
      // The models messages are the big frames: pair them in order to split transit into server and page.
      const frames = models.length ? (await page.evaluate(() => window.e2e.frames)).filter((f) => f.epoch >= models[0].sentEpoch && f.bytes > 100_000) : [];
      const split = models.map((x, i) => (frames[i] ? `${frames[i].epoch - x.sentEpoch}+${x.epoch - frames[i].epoch}` : '?'));
      const since = (t) => (t === undefined || t === null ? '-' : `${(t - m.start).toFixed(0)}`);
      console.log(
        `${label}: first painted cards ${r.firstCardsMs.toFixed(0)} ms (${r.cards} cards in the DOM of ${MODELS.toLocaleString('en')}), first preview painted ${r.firstPreviewMs.toFixed(0)} ms; ` +
          `after execute_request: comm_open ${since(m.commOpen)} ms, view attached ${since(m.viewAttached)} ms, ` +
          `models messages ${models.length} (${models.reduce((n, x) => n + (x.cards ?? 0), 0)} cards in ${models.filter((x) => x.reset).length} full sends) from ${since(models[0]?.at)} to ${since(models[models.length - 1]?.at)} ms, ` +
          `kernel send -> websocket frame + frame -> comm handler: ${split.join(', ')} ms (frames ${frames.map((f) => (f.bytes / 1e6).toFixed(1)).join('/')} MB)`,
      );
      return r;
    };
    const code = `const panel = show(${JSON.stringify(root)}, { civitai: false });`;
    // Each run in a new kernel (the library opens from its index every time); the figure is the median.
    const firsts = [];
    for (let rep = 1; rep <= REPS; rep++) {
      if (rep > 1) await page.evaluate(() => window.e2e.shutdown());
      const warmMs = await openPage();
      console.log(`run ${rep}/${REPS}: new kernel, warm-up cell (import modeldeck) ${warmMs} ms`);
      firsts.push((await showCell(`run ${rep}/${REPS}: show() in a fresh kernel`, code)).firstCardsMs);
    }
    const firstMs = median(firsts);
    await page.evaluate(() => window.e2e.shutdown());

    // The Python route, the same way: each run a new python3 kernel (so a new Node session too).
    const pyFirsts = [];
    let pySearch = NaN;
    let relayed = null;
    for (let rep = 1; rep <= REPS; rep++) {
      const warmMs = await openPage('python3', 'import modeldeck');
      console.log(`python run ${rep}/${REPS}: new python3 kernel, warm-up cell (import modeldeck) ${warmMs} ms`);
      pyFirsts.push((await showCell(`python run ${rep}/${REPS}: modeldeck.show() in a fresh kernel`, `panel = modeldeck.show(${JSON.stringify(root)})`)).firstCardsMs);
      if (rep === REPS) {
        // Every preview of the first screen asked for has arrived once its image is painted in every card that shows one.
        await page.waitForFunction((sel) => {
          const imgs = [...document.querySelectorAll(`${sel} .md-preview img`)];
          return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
        }, NEWEST_CARD, { timeout: 60_000 });
        const painted = await page.evaluate((sel) => document.querySelectorAll(`${sel} .md-preview img`).length, NEWEST_CARD);
        const cell = await page.evaluate(() => window.e2e.run('import json\nprint(json.dumps(panel._relay.stats))'));
        relayed = { ...JSON.parse(cell.text), painted };
        pySearch = await searchWorst(page, 'python');
      }
      await page.evaluate(() => window.e2e.shutdown());
    }
    const pyFirstMs = median(pyFirsts);
    console.log(`python route: ${relayed.buffers} binary buffers, ${relayed.buffer_bytes.toLocaleString('en')} bytes crossed the relay for the first screen (${relayed.painted} previews painted; each preview ${tinyPng().length} bytes)`);
    await openPage();
    await showCell('tslab again: show()', code);
    const tsSearch = await searchWorst(page, 'tslab');

    // The same library again: already open in the kernel, so this is transport and widget only.
    const again = await showCell('show() again (library already open)', `const panel2 = show(${JSON.stringify(root)}, { civitai: false });`);
    await page.screenshot({ path: join(work, 'bench-widget.png') });
    const errors = await page.evaluate(() => window.e2e.errors);
    if (errors.length || browser.errors.length) console.log(`page errors: ${[...errors, ...browser.errors].join('\n')}`);
    await page.evaluate(() => window.e2e.shutdown()).catch(() => undefined);

    const check = (label, ok) => console.log(`${ok ? 'MET ' : 'MISSED'}  ${label}`);
    check(
      `first cards under ${TARGET_FIRST_MS} ms after show() with ${MODELS.toLocaleString('en')} models (median ${firstMs.toFixed(0)} ms of ${firsts.map((x) => x.toFixed(0)).join(', ')}; ${again.firstCardsMs.toFixed(0)} ms with the library already open)`,
      firstMs < TARGET_FIRST_MS,
    );
    const ratio = pyFirstMs / firstMs;
    check(
      `Python route first cards at most ${TARGET_PYTHON_RATIO}x tslab's (median ${pyFirstMs.toFixed(0)} ms of ${pyFirsts.map((x) => x.toFixed(0)).join(', ')} vs ${firstMs.toFixed(0)} ms: ${ratio.toFixed(2)}x)`,
      ratio <= TARGET_PYTHON_RATIO,
    );
    check(`search keystroke under ${TARGET_SEARCH_MS} ms in both routes (worst of ${QUERIES.length}: tslab ${tsSearch.toFixed(0)} ms, Python ${pySearch.toFixed(0)} ms)`, tsSearch < TARGET_SEARCH_MS && pySearch < TARGET_SEARCH_MS);
    check(`first-screen previews crossed the Python relay as binary buffers (${relayed.buffers} buffers, ${relayed.buffer_bytes} bytes for ${relayed.painted} painted previews)`, relayed.buffers >= relayed.painted && relayed.buffer_bytes >= relayed.painted * tinyPng().length);
  } finally {
    await browser?.close();
    await server?.stop();
    if (process.env.KEEP) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
