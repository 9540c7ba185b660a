#!/usr/bin/env node
'use strict';
// Before anything uses libuv's thread pool: a scan on Google Drive keeps slow
// metadata calls (opens, stats, sidecar reads) in flight beside the hash's
// sequential read; with the default 4 threads they would queue behind each other.
// See docs/architecture.md, "Drive-grade I/O".
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
// A plain `modeldeck hash` command line skips commander and the other commands'
// modules (docs/architecture.md, "The CLI's start-up"); anything else, or null
// from it, goes through commander.
const run =
  (process.argv[2] === 'hash' && require('../lib/cli/hash-fast.js').runHashFast(process.argv)) ||
  require('../lib/cli/main.js').main(process.argv);
run.then((code) => {
  process.exitCode = code;
});
