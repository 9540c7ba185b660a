#!/usr/bin/env node
// Walk benchmark for findModelFiles: builds its own temporary library (10,000
// small model files in a few hundred folders, plus sidecars the walk must skip
// over), then times cold and warm walks. Run after `npm run build:node`.
// Usage: node bench/scan-tree.js [--files 10000] [--folders 400] [--rounds 5]
'use strict';
const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { findModelFiles } = require('../lib/core/library/scan-tree');

const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const FILES = arg('--files', 10000);
const FOLDERS = arg('--folders', 400);
const ROUNDS = arg('--rounds', 5);

function build(root) {
  const kinds = ['models/Lora', 'models/Stable-diffusion', 'models/VAE', 'embeddings', 'models/ControlNet'];
  const folders = [];
  for (let i = 0; i < FOLDERS; i++) {
    const dir = join(root, kinds[i % kinds.length], `group-${Math.floor(i / 20)}`, `set-${i}`);
    mkdirSync(dir, { recursive: true });
    folders.push(dir);
  }
  for (let i = 0; i < FILES; i++) {
    const dir = folders[i % folders.length];
    writeFileSync(join(dir, `model-${i}.safetensors`), 'x');
    // The usual neighbours of a model: a preview and a sidecar, which the walk lists but never stats.
    if (i % 2 === 0) writeFileSync(join(dir, `model-${i}.preview.png`), 'p');
    if (i % 3 === 0) writeFileSync(join(dir, `model-${i}.civitai.info`), '{}');
  }
}

(async () => {
  const root = mkdtempSync(join(tmpdir(), 'modeldeck-bench-scan-'));
  try {
    const t0 = process.hrtime.bigint();
    build(root);
    console.log(`built ${FILES} model files in ${FOLDERS} folders in ${Number(process.hrtime.bigint() - t0) / 1e6 | 0} ms`);
    const times = [];
    for (let r = 0; r < ROUNDS; r++) {
      const start = process.hrtime.bigint();
      const found = await findModelFiles([root]);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (found.length !== FILES) throw new Error(`found ${found.length}, expected ${FILES}`);
      times.push(ms);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`findModelFiles: ${times.map((t) => t.toFixed(0)).join(' ')} ms (median ${sorted[sorted.length >> 1].toFixed(0)} ms, first ${times[0].toFixed(0)} ms)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
