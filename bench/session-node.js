#!/usr/bin/env node
// The kernel's side of `show()` in plain Node, without a browser or Jupyter
// (issue 17's third round): a fast loop for the time to the first window and
// the memory the session holds at 100,000 models. The library is written as
// bench/widget.js writes it (index codec, a tiny preview per model); each run
// is a fresh child process that opens it through getManager, opens a
// ModelSession on an in-memory comm, asks for the first window as the page
// does (60 cards, default query) and then a search (which needs every
// haystack), and reports:
//   - ready: show() to the library open and the summary sent;
//   - first window: show() to the window answer sent (and the process's CPU time
//     meanwhile, user + system, steadier than the wall clock on a shared machine);
//   - search: the first search answered after that;
//   - RSS and heap after the first window, and after the search and a forced GC.
// A bare line (modules loaded, no library) gives the process's own share.
// Usage: npm run build:node && tsc -p tsconfig.dev.json && node bench/session-node.js
//   SIZES=100000,10000 (default 100000), REPS=3, LIB=<dir> keeps/reuses the library,
//   REF=<checkout> also runs, alternating with this one, <checkout>/bench/session-node.js
//   (a copy of this file in a built checkout of the reference commit): ratios in the same run;
//   KERNEL=1 runs each measurement in a fresh tslab kernel (the modeldeck kernelspec) instead of a child Node;
//   KEPT=1 first lets one run live until its panel has kept its first window beside the index, so that the
//   measured runs ask for the first window as the page does when the summary says `preview` (before ready);
//   PREVIEWS=1 then asks for the first 15 cards' previews at once, as the page does when it paints them.
'use strict';
const { existsSync, mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { execFileSync } = require('node:child_process');

const QUERY = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };
const FIRST_LIMIT = 60;

/** A forced GC: the flag given to the child, or turned on here (inside a tslab kernel). */
function gc() {
  if (typeof global.gc === 'function') return global.gc();
  require('node:v8').setFlagsFromString('--expose-gc');
  require('node:vm').runInNewContext('gc')();
}

/** One measured run, in this process: a child Node, or a tslab kernel's cell (KERNEL=1). */
async function measure(root, options = {}) {
  const { getManager } = require('../lib/core/library');
  const { ModelSession } = require('../lib/kernel/widget');
  const mem = () => ({ rss: process.memoryUsage().rss / 1e6, heap: process.memoryUsage().heapUsed / 1e6 });
  gc();
  const bare = mem();
  if (!root) return bare;
  const listeners = [];
  const waiters = new Set();
  const comm = {
    id: 'comm-1',
    targetName: 'jupyter.widget',
    closed: false,
    send: (data) => {
      for (const w of waiters) w(data);
    },
    close() {
      this.closed = true;
    },
    onMessage: (cb) => listeners.push(cb),
    onClose: () => undefined,
  };
  const host = { openComm: () => comm, display: () => undefined };
  const sent = (pick) =>
    new Promise((resolve) => {
      const w = (data) => {
        const v = data && pick(data);
        if (v === undefined) return;
        waiters.delete(w);
        resolve(v);
      };
      waiters.add(w);
    });
  const reply = (requestId) => sent((d) => (d.method === 'custom' && d.content && d.content.type === 'reply' && d.content.requestId === requestId ? d.content : undefined));
  const ask = (content) => {
    const answer = reply(content.requestId);
    for (const cb of listeners) cb({ method: 'custom', content }, []);
    return answer;
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const preview = sent((d) => (d.method === 'update' && d.state && d.state.summary && d.state.summary.preview ? true : undefined));
  const session = ModelSession.open(host, [root], (snapshots) => getManager([root], { civitai: false, snapshots }), { indexPollMs: 0 });
  // As the page: the first window is asked for when the summary says ready, or sooner with a kept one (preview).
  const early = process.env.ASK_AFTER_READY === '1' ? await session.ready.then(() => false) : await Promise.race([session.ready.then(() => false), preview]);
  const first = await ask({ type: 'window', requestId: 'w-1', query: QUERY, offset: 0, limit: FIRST_LIMIT, seq: 1 });
  const firstMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const firstCpuMs = (cpu.user + cpu.system) / 1000;
  // PREVIEWS=1: as the page, the previews of the cards it paints (15), asked for as soon as they are shown.
  let previewsMs = null;
  if (process.env.PREVIEWS === '1') {
    const p0 = performance.now();
    const answer = await ask({ type: 'previews', requestId: 'p-1', ids: first.result.cards.slice(0, 15).map((c) => c.id) });
    if (!answer.ok || answer.result.sent !== 15) throw new Error(`previews: ${JSON.stringify(answer).slice(0, 300)}`);
    previewsMs = performance.now() - p0 + firstMs;
  }
  await session.ready;
  const ready = performance.now() - t0;
  if (!first.ok || first.result.cards.length !== FIRST_LIMIT) throw new Error(`first window: ${JSON.stringify(first).slice(0, 300)}`);
  const atFirst = mem();
  const t1 = performance.now();
  const search = await ask({ type: 'window', requestId: 'w-2', query: { ...QUERY, search: 'neon pixel' }, offset: 0, limit: FIRST_LIMIT, seq: 2 });
  const searchMs = performance.now() - t1;
  if (!search.ok || search.result.total === 0) throw new Error(`search: ${JSON.stringify(search).slice(0, 300)}`);
  // Idle slices (haystacks) run after the answers: let them finish before the last look.
  await new Promise((r) => setTimeout(r, 200));
  const peak = mem();
  gc();
  const settled = mem();
  if (options.keep) {
    const kept = join(root, '.modeldeck', 'panel-first-window.cache.json');
    for (let i = 0; i < 600 && !existsSync(kept); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(kept)) throw new Error(`the panel kept no first window (${kept})`);
  }
  session.close();
  return { bare, ready, firstMs, previewsMs, early, firstCpuMs, searchMs, library: first.result.library, atFirst, peak, settled };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runChild(root, script = __filename, keep = false) {
  if (process.env.KERNEL === '1') return inKernel(root, script, keep);
  const keepArg = keep ? 'keep' : '';
  const out = execFileSync(process.execPath, ['--expose-gc', script, '--child', root ?? '', keepArg], { encoding: 'utf8', maxBuffer: 1e7 });
  return JSON.parse(out.trim().split('\n').pop());
}

/**
 * The same run inside a real tslab kernel (the modeldeck kernelspec's argv,
 * started as the kernel tests start it): the bare kernel's RSS after a cell that
 * imports modeldeck, then one measured run.
 */
async function inKernel(root, script = __filename, keep = false) {
  const { KernelClient } = require('../build/dev/tests/helpers/kernel-client');
  // The checkout measured: this one, or the reference's (REF), as the kernel's modeldeck.
  const repo = join(dirname(script), '..');
  const project = mkdtempSync(join(tmpdir(), 'modeldeck-bench-kernel-'));
  mkdirSync(join(project, 'node_modules'));
  require('node:fs').symlinkSync(repo, join(project, 'node_modules', 'modeldeck'));
  const kernel = await KernelClient.start({ argv: [process.execPath, join(repo, 'lib', 'kernel', 'launch.js'), '{connection_file}'], cwd: project, env: { ...process.env, CIVITAI_TOKEN: '', MODELDECK_COLAB: '0' } });
  try {
    const cell = async (code) => {
      const { reply, messages } = await kernel.execute(code, 600_000);
      if (reply.content.status !== 'ok') throw new Error(`cell failed: ${JSON.stringify(reply.content).slice(0, 500)}`);
      const text = messages.filter((m) => m.header.msg_type === 'stream').map((m) => m.content.text).join('');
      return JSON.parse(text.trim().split('\n').pop());
    };
    await cell('import { show } from "modeldeck";\nconsole.log(JSON.stringify(0));');
    const bench = JSON.stringify(script);
    return await cell(`const r = await require(${bench}).measure(${JSON.stringify(root)}, { keep: ${keep} });\nconsole.log(JSON.stringify(r));`);
  } finally {
    await kernel.shutdown();
    rmSync(project, { recursive: true, force: true });
  }
}

module.exports = { measure };

if (process.argv[2] === '--child') {
  measure(process.argv[3] || null, { keep: process.argv[4] === 'keep' }).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else if (require.main === module) (async () => {
  const { makeLibrary } = require('./widget');
  const sizes = (process.env.SIZES || '100000').split(',').map(Number);
  const reps = Number(process.env.REPS) || 3;
  const keep = process.env.LIB;
  const work = keep || mkdtempSync(join(tmpdir(), 'modeldeck-bench-session-'));
  try {
    const bare = await runChild(null);
    console.log(`bare ${process.env.KERNEL === '1' ? 'tslab kernel' : 'Node'} with modeldeck loaded: RSS ${bare.rss.toFixed(0)} MB, heap ${bare.heap.toFixed(0)} MB`);
    for (const n of sizes) {
      const root = join(work, `lib-${n}`);
      if (!existsSync(join(root, '.modeldeck', 'index.json'))) {
        mkdirSync(root, { recursive: true });
        const t = Date.now();
        makeLibrary(root, n);
        console.log(`${n}: library written in ${Date.now() - t} ms`);
      }
      if (process.env.KEPT === '1') {
        const r = await runChild(root, __filename, true);
        console.log(`${n}: a first run kept its first window (its first window ${r.firstMs.toFixed(0)} ms)`);
      }
      const variants = process.env.REF ? [['ref', join(process.env.REF, 'bench', 'session-node.js')], ['this', __filename]] : [['this', __filename]];
      const runs = new Map(variants.map(([name]) => [name, []]));
      for (let i = 0; i < reps; i++) {
        for (const [name, script] of variants) {
          const r = await runChild(root, script);
          runs.get(name).push(r);
          console.log(
            `${n} ${name}: ready ${r.ready.toFixed(0)} ms, first window ${r.firstMs.toFixed(0)} ms${r.early ? ' (kept)' : ''}${r.previewsMs == null ? '' : `, 15 previews ${r.previewsMs.toFixed(0)} ms`} (CPU ${(r.firstCpuMs ?? NaN).toFixed(0)} ms), search ${r.searchMs.toFixed(0)} ms; ` +
              `RSS ${r.atFirst.rss.toFixed(0)} MB at the first window, ${r.peak.rss.toFixed(0)} MB after the search, ${r.settled.rss.toFixed(0)} MB after GC; ` +
              `heap ${r.atFirst.heap.toFixed(0)} / ${r.peak.heap.toFixed(0)} / ${r.settled.heap.toFixed(0)} MB`,
          );
        }
      }
      const summary = new Map();
      for (const [name, list] of runs) {
        const m = (f) => median(list.map(f));
        summary.set(name, { first: m((r) => r.firstMs), rss: m((r) => r.peak.rss), heap: m((r) => r.settled.heap) });
        const s = summary.get(name);
        console.log(`${n} ${name}, median of ${reps}: first window ${s.first.toFixed(0)} ms (CPU ${m((r) => r.firstCpuMs ?? NaN).toFixed(0)} ms), search ${m((r) => r.searchMs).toFixed(0)} ms, RSS ${s.rss.toFixed(0)} MB, heap after GC ${s.heap.toFixed(0)} MB`);
      }
      if (summary.has('ref')) {
        const [a, b] = [summary.get('this'), summary.get('ref')];
        console.log(`${n} this / ref: first window ${(a.first / b.first).toFixed(2)}x, RSS ${(a.rss / b.rss).toFixed(2)}x, heap after GC ${(a.heap / b.heap).toFixed(2)}x`);
      }
    }
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
