#!/usr/bin/env node
// `modeldeck serve` benchmark (issue 14), on the widget benchmark's library of
// 10,000 indexed models with previews (bench/widget.js makeLibrary):
//   - first painted cards after the page opens (navigation start to the first
//     frame painted with cards), against the notebook route's show() to first
//     painted cards, measured by bench/widget-routes.js in the same run (REPS=1 there);
//   - filter latency: one input event in the search box to the grid painted;
//   - 50 tabs receiving a scan's progress: 50 event-stream clients (each loads
//     the snapshot first, as a tab does, then follows the stream; not 50
//     Chromium renderers, which the shared machine cannot hold), a scan that
//     hashes 40 new 8 MB files; the server's RSS sampled every 50 ms.
// Usage: npm run bench:serve   (REFERENCE=0 skips the notebook-route run)
'use strict';
const { execFile, spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { request } = require('node:http');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { makeLibrary, pageFilter, MODELS } = require('./widget');
const { launchChromium, missingChromium } = require('../build/dev/tests/e2e/helpers/chromium');
const { writeModel, loraBytes } = require('../build/dev/tests/helpers/library');

const REPS = Number(process.env.REPS) || 3;
const TABS = 50;
const CARD = '#modeldeck article.md-card';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startServe(root, env) {
  const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'modeldeck.js'), 'serve', root, '--port', '0', '--no-open'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /(http:\/\/\S+\/\?token=(\S+))\n/.exec(out);
      if (m) resolve({ child, url: m[1], token: m[2], base: new URL(m[1]).origin });
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

function get(base, path, token, headers = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: headers.body ? 'POST' : 'GET', headers: { 'X-Modeldeck-Token': token, ...(headers.body ? { 'Content-Type': 'application/json' } : {}) }, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(headers.body);
  });
}

/** One tab's share of the traffic: the snapshot, then the stream; counts progress updates until the reply to `requestId`. */
async function tab(base, token) {
  const snap = JSON.parse((await get(base, '/api/snapshot', token)).body);
  const u = new URL(base);
  const t = { progress: 0, reply: null, ready: null, done: null, bytes: 0 };
  t.done = new Promise((resolveDone, rejectDone) => {
    t.ready = new Promise((resolveReady) => {
      const req = request({ host: u.hostname, port: u.port, path: `/api/events?since=${snap.lastEventId}`, headers: { 'X-Modeldeck-Token': token }, agent: false }, (res) => {
        if (res.statusCode !== 200) return rejectDone(new Error(`stream ${res.statusCode}`));
        resolveReady();
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          t.bytes += c.length;
          buf += c;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (!data) continue;
            const m = JSON.parse(data.slice(6)).m;
            if (m.state && m.state.progress && m.state.progress.running) t.progress++;
            if (m.content && m.content.type === 'reply' && m.content.requestId === 'bench-scan') {
              t.reply = m.content;
              res.destroy();
              resolveDone(t);
            }
          }
        });
      });
      req.on('error', rejectDone);
      req.end();
    });
  });
  return t;
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function notebookReference() {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(__dirname, 'widget-routes.js')], { env: { ...process.env, REPS: '1' }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const m = /first cards under \d+ ms after show\(\) with [\d,]+ models \(median (\d+) ms/.exec(stdout);
      if (!m) console.log(`notebook route reference failed: ${err ? err.message : ''} ${stderr.slice(-500)}`);
      resolve(m ? Number(m[1]) : null);
    });
  });
}

(async () => {
  const missing = missingChromium();
  if (missing) throw new Error(missing);
  const work = mkdtempSync(join(tmpdir(), 'modeldeck-bench-serve-'));
  let serve;
  let browser;
  try {
    const root = join(work, 'library');
    makeLibrary(root, MODELS);
    serve = await startServe(root, { MODELDECK_CACHE_DIR: join(work, 'cache'), CIVITAI_TOKEN: '' });
    console.log(`serve started; RSS ${rssMb(serve.child.pid).toFixed(0)} MB before any tab`);
    browser = await launchChromium(work, { width: 1280, height: 900 });
    const { page } = browser;
    // Installed before the page's own script (init scripts are not subject to the page's CSP).
    await page.addInitScript((selector) => {
      const afterPaint = () => new Promise((r) => requestAnimationFrame(() => { const ch = new MessageChannel(); ch.port1.onmessage = () => r(performance.now()); ch.port2.postMessage(0); }));
      window.__firstCards = new Promise((resolve) => {
        const look = () => {
          if (!document.querySelector(selector)) return;
          observer.disconnect();
          void afterPaint().then((t) => resolve({ ms: t, cards: document.querySelectorAll(selector).length }));
        };
        const observer = new MutationObserver(look);
        observer.observe(document, { childList: true, subtree: true });
      });
    }, CARD);
    const firsts = [];
    for (let rep = 1; rep <= REPS; rep++) {
      await page.goto(serve.url);
      const r = await page.evaluate(() => window.__firstCards);
      firsts.push(r.ms);
      console.log(`page open ${rep}/${REPS}: first painted cards ${r.ms.toFixed(0)} ms after navigation start (${r.cards} cards in the DOM of ${MODELS.toLocaleString('en')}); server RSS ${rssMb(serve.child.pid).toFixed(0)} MB`);
    }
    const filters = [];
    for (const text of ['aurora', 'neon pixel', 'ember-koi-4', 'jade_style', 'zzz-nothing', '']) {
      if (text) await page.evaluate(pageFilter, { text: '', selector: CARD }).catch(() => undefined);
      await page.waitForTimeout(100);
      const r = await page.evaluate(pageFilter, { text, selector: CARD }).catch((e) => ({ ms: NaN, error: String(e) }));
      filters.push(r.ms);
      console.log(`filter "${text}": ${Number.isNaN(r.ms) ? r.error : `${r.ms.toFixed(1)} ms, ${r.shown} cards in the DOM, count "${r.count}"`}`);
    }
    await page.screenshot({ path: join(work, 'bench-serve.png') });
    await browser.close();
    browser = null;

    // 50 tabs follow a scan that has real work: 40 new files of 8 MB to hash.
    for (let i = 0; i < 40; i++) writeModel(root, `models/Lora/bench-new/new-${i}.safetensors`, loraBytes({}, 8 * 1024 * 1024));
    const tabs = await Promise.all(Array.from({ length: TABS }, () => tab(serve.base, serve.token)));
    await Promise.all(tabs.map((t) => t.ready));
    let peak = rssMb(serve.child.pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(serve.child.pid))), 50);
    const t0 = Date.now();
    const posted = await get(serve.base, '/api/request', serve.token, { body: JSON.stringify({ type: 'scan', requestId: 'bench-scan', offline: true }) });
    if (posted.status !== 202) throw new Error(`scan request: ${posted.status} ${posted.body}`);
    await Promise.all(tabs.map((t) => t.done));
    clearInterval(sampler);
    const scanMs = Date.now() - t0;
    const counts = tabs.map((t) => t.progress);
    const summary = tabs[0].reply.ok ? tabs[0].reply.result.summary : tabs[0].reply.error;
    console.log(`scan with ${TABS} tabs: ${scanMs} ms; progress updates per tab min ${Math.min(...counts)} / max ${Math.max(...counts)}; ${(tabs.reduce((n, t) => n + t.bytes, 0) / 1e6).toFixed(1)} MB sent to all tabs; every tab got the reply: ${tabs.every((t) => t.reply && t.reply.ok)}; scan: ${JSON.stringify(summary)}`);
    console.log(`server RSS peak during the scan: ${peak.toFixed(0)} MB`);

    const reference = process.env.REFERENCE === '0' ? null : await notebookReference();
    const firstMs = median(firsts);
    const measured = filters.filter((x) => !Number.isNaN(x));
    const check = (label, ok) => console.log(`${ok ? 'MET ' : 'MISSED'}  ${label}`);
    check(`first painted cards after page open at most the notebook route's (serve median ${firstMs.toFixed(0)} ms of ${firsts.map((x) => x.toFixed(0)).join(', ')}; notebook route show() ${reference === null ? 'not measured' : `${reference} ms`}; ratio ${reference ? (firstMs / reference).toFixed(2) : '-'})`, reference !== null && firstMs <= reference);
    check(`filter under 100 ms (median ${median(measured).toFixed(1)} ms, worst ${Math.max(...measured).toFixed(1)} ms over ${measured.length}/${filters.length})`, measured.length === filters.length && Math.max(...measured) < 100);
    check(`${TABS} tabs receive the scan's progress with server RSS under 300 MB (peak ${peak.toFixed(0)} MB; every tab ${Math.min(...counts)}+ progress updates)`, peak < 300 && Math.min(...counts) > 0);
  } finally {
    await browser?.close();
    if (serve) {
      serve.child.kill('SIGINT');
      await new Promise((r) => serve.child.once('exit', r));
    }
    rmSync(work, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
