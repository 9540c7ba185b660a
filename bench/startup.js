#!/usr/bin/env node
// Start-up benchmark of `modeldeck hash`: whole processes, run interleaved
// (round after round of every command) so that a shared machine's load falls on
// all of them alike. A 1 KB file shows start-up and module loading alone; with
// --big, the 1 GiB file of bench/hash.js (made by `npm run bench:hash`) is added.
// Usage: node bench/startup.js [--rounds 15] [--big]
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const args = process.argv.slice(2);
const ROUNDS = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 15;
const root = join(__dirname, '..');
const dir = join(root, '.bench');
mkdirSync(dir, { recursive: true });
const small = join(dir, 'startup-1k.safetensors');
if (!existsSync(small)) writeFileSync(small, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}      '), Buffer.alloc(1008)]));
const big = join(dir, 'bench-1024m.safetensors');
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const cli = join(root, 'bin/modeldeck.js');

const commands = {
  'node -e 0': ['node', '-e', '0'],
  'python3 -c "import hashlib"': [python, '-c', 'import hashlib'],
  'hash --hashes sha256, 1 KB': ['node', cli, 'hash', '--json', '--hashes', 'sha256', small],
  'hash (default), 1 KB': ['node', cli, 'hash', '--json', small],
};
if (args.includes('--big')) {
  if (!existsSync(big)) throw new Error(`${big} is missing: run npm run bench:hash once`);
  readFileSync(big); // page cache warm, as in bench/hash.js
  commands['hash --hashes sha256, 1 GiB'] = ['node', cli, 'hash', '--json', '--hashes', 'sha256', big];
  commands['hash (default), 1 GiB'] = ['node', cli, 'hash', '--json', big];
  const py = 'import hashlib,sys\nh=hashlib.sha256()\nwith open(sys.argv[1],"rb") as f:\n    for b in iter(lambda: f.read(1<<20), b""): h.update(b)\nprint(h.hexdigest())';
  commands['python3 hashlib sha256, 1 GiB'] = [python, '-c', py, big];
}

// As in bench/hash.js: NODE_EXTRA_CA_CERTS costs every Node process about 40 ms and users do not set it.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, [cmd, ...rest]] of Object.entries(commands)) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, rest, { env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${r.stderr}`);
    samples[name].push(ms);
  }
}
const q = (xs, f) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * f)];
console.log(`${ROUNDS} rounds, interleaved, wall ms; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log('| command | median | min | p25 | p75 |');
console.log('|---|---|---|---|---|');
for (const [name, xs] of Object.entries(samples)) {
  console.log(`| ${name} | ${q(xs, 0.5).toFixed(1)} | ${q(xs, 0).toFixed(1)} | ${q(xs, 0.25).toFixed(1)} | ${q(xs, 0.75).toFixed(1)} |`);
}
