// Killed scans, torn journals and two scanners at once.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Library } from '../src/core/library';
import { LibraryLock } from '../src/core/library/lock';
import { BIN, runCli } from './helpers/cli';
import { loraBytes, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir();

function journalPuts(root: string): number {
  const file = join(root, '.modeldeck', 'journal.jsonl');
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"verified":true')).length;
}

test('kill -9 in the middle of a scan: the index loads, and the next scan hashes only what was left', async () => {
  const root = join(tmp.path, 'crash');
  const files = Array.from({ length: 10 }, (_, i) => writeModel(root, `Stable-diffusion/big-${i}.safetensors`, loraBytes({}, 48 * 1024 * 1024)));
  // The scan runs at the lowest priority: on a loaded machine the test, which must see two entries and kill it
  // before it hashes all ten, gets the CPU first (otherwise a stalled test could find the scan already done).
  const child = spawn('nice', ['-n', '19', process.execPath, BIN, 'scan', '--offline', root], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Wait until at least two files are hashed and journalled, then kill without warning.
  while (journalPuts(root) < 2) {
    if (child.exitCode !== null) throw new Error('the scan ended before it could be killed; make the files bigger');
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  await exited;
  const done = journalPuts(root);
  expect(done).toBeGreaterThanOrEqual(2);
  expect(done).toBeLessThan(files.length);

  const lib = await Library.open([root], { civitai: false });
  try {
    expect(lib.loadWarnings).toEqual([]);
    const verifiedBefore = lib.models().filter((m) => m.verified).length;
    expect(verifiedBefore).toBeGreaterThanOrEqual(done);
    // The lock of the killed process (same host, dead pid) does not block the next scan.
    const r = await lib.scan({ offline: true });
    expect(r.hashed).toBe(files.length - verifiedBefore);
    for (const f of files) expect(lib.get(f.path)!.hashes.SHA256).toBe(f.SHA256);
  } finally {
    await lib.close();
  }
});

test('a torn last journal line and a damaged snapshot lose nothing else', async () => {
  const root = join(tmp.path, 'torn');
  const f = writeModel(root, 'Lora/a.safetensors', loraBytes());
  let lib = await Library.open([root], { civitai: false });
  await lib.scan({ offline: true });
  await lib.close();
  appendFileSync(join(root, '.modeldeck', 'journal.jsonl'), '{"put":{"path":"Lora/half');
  lib = await Library.open([root], { civitai: false });
  expect(lib.get(f.path)!.hashes.SHA256).toBe(f.SHA256);
  await lib.close();

  writeFileSync(join(root, '.modeldeck', 'index.json'), '{"this is": not json');
  lib = await Library.open([root], { civitai: false });
  try {
    expect(lib.loadWarnings.join('\n')).toMatch(/not a modeldeck index .* kept as .*index\.json\.unreadable-/);
    const r = await lib.scan({ offline: true });
    expect(r.added).toBe(1);
  } finally {
    await lib.close();
  }
});

test('two scanners of one root: the second gets a clear one-line refusal', async () => {
  const root = join(tmp.path, 'locked');
  mkdirSync(root, { recursive: true });
  writeModel(root, 'Lora/a.safetensors', loraBytes());
  const held = await LibraryLock.acquire(root);
  try {
    await expect(LibraryLock.acquire(root, { waitMs: 0 })).rejects.toThrow(/another modeldeck is changing this library \(process \d+ on /);
    // The CLI waits for the lock (edits hold it for milliseconds), then says who holds it.
    const r = await runCli(['scan', '--offline', root], { MODELDECK_LOCK_WAIT_MS: '200' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^modeldeck: .*locked: another modeldeck is changing this library .*delete .*scan\.lock if it is gone\n$/);
  } finally {
    await held.release();
  }
  // A lock left by a dead process on this host is taken over.
  writeFileSync(join(root, '.modeldeck', 'scan.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: 0 }));
  const again = await LibraryLock.acquire(root, { waitMs: 0 });
  await again.release();
});
