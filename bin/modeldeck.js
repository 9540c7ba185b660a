#!/usr/bin/env node
'use strict';
// Before anything uses libuv's thread pool: a scan on Google Drive keeps slow
// metadata calls (opens, stats, sidecar reads) in flight beside the hash's
// sequential read; with the default 4 threads they would queue behind each other.
// See docs/architecture.md, "Drive-grade I/O".
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
// A reader that stops early (`modeldeck hash *.safetensors | head -1`) closes the
// pipe: stop there, quietly and successfully, instead of dying on EPIPE with a trace.
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') process.exit(0);
  throw err;
});
// A plain `modeldeck hash` command line skips commander and the other commands'
// modules (docs/architecture.md, "The CLI's start-up"); anything else, or null
// from it, goes through commander.
const hash = process.argv[2] === 'hash' && require('../lib/cli/hash-fast.js').runHashFast(process.argv);
if (hash) {
  // Done is done: exit once stdout and stderr have taken the last line, rather
  // than after Node's own wind-down of the event loop.
  // (exitCode first: should a callback never come, the natural exit keeps the code.)
  hash.then((code) => {
    process.exitCode = code;
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
} else {
  require('../lib/cli/main.js')
    .main(process.argv)
    .then((code) => {
      process.exitCode = code;
    });
}
