/**
 * Security items 2 and 10: more than one process changes a library. A panel's
 * library stays open for hours while the CLI imports, links or scans the same
 * root; many processes may find a dead process's lock at the same moment.
 * Real processes throughout (the CLI, and `node` workers taking the lock).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Library } from '../../src/core/library';
import { runCli } from '../helpers/cli';
import { loraBytes, writeModel } from '../helpers/library';
import { useTmpDir } from '../helpers/tmpdir';

const tmp = useTmpDir('mdk-sec-procs-');
const LIB_DIR = join(__dirname, '..', '..', 'lib');

test("a panel's long-open library does not undo a CLI import: the link survives its next scan, and it sees the link before", async () => {
  const root = join(tmp.path, 'shared');
  const a = writeModel(root, 'Lora/a.safetensors', loraBytes());
  writeModel(root, 'Lora/b.safetensors', loraBytes());
  // The panel's library: opened once, kept open.
  const panel = await Library.open([root], { civitai: false });
  try {
    await panel.scan({ offline: true });
    const entry = panel.get('Lora/a.safetensors')!;
    // Another machine's export with a manual link for a, imported by the CLI in another process.
    const doc = {
      format: 'modeldeck-export',
      version: 1,
      exportedAt: new Date().toISOString(),
      models: [{
        path: 'elsewhere/a.safetensors', size: a.bytes.length, fingerprint: entry.fingerprint, hashes: { SHA256: a.SHA256 }, hashSources: { SHA256: 'computed' },
        civitai: { status: 'found', link: { modelId: 11, versionId: 22, modelName: 'Hand Linked', versionName: 'v1', type: 'LORA', baseModel: 'SD 1.5', trainedWords: ['hl'], nsfwLevel: 1, pageUrl: 'https://civitai.com/models/11?modelVersionId=22', matchedBy: 'manual' } },
        manual: { link: { modelId: 11, versionId: 22, input: 'urn:air:sd1:lora:civitai:11@22', at: 1 } },
      }],
    };
    const file = join(tmp.path, 'export.json');
    writeFileSync(file, JSON.stringify(doc));
    const imported = await runCli(['import', file, root], { MODELDECK_CACHE_DIR: join(tmp.path, 'cache') });
    expect(imported.stdout).toMatch(/^1 of 1 exported models matched/);

    // The open library catches up without a scan...
    expect(panel.get('Lora/a.safetensors')!.manual?.link).toBeUndefined();
    expect(await panel.refreshIndex()).toBe(true);
    expect(panel.get('Lora/a.safetensors')!.manual?.link?.versionId).toBe(22);
    // ...and its next scan (the one that used to write its stale copy back) keeps the link.
    await panel.scan({ offline: true });
    expect(panel.get('Lora/a.safetensors')!.civitai.link?.modelName).toBe('Hand Linked');
  } finally {
    await panel.close();
  }
  const ls = await runCli(['ls', '--json', root], {});
  const listed = ls.stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(listed.find((m) => m.path === 'Lora/a.safetensors').manual.link.versionId).toBe(22);
});

test('a scan started while another process holds the lock for a moment waits for it instead of failing', async () => {
  const root = join(tmp.path, 'waits');
  writeModel(root, 'Lora/a.safetensors', loraBytes());
  const first = await Library.open([root], { civitai: false });
  await first.scan({ offline: true });
  await first.close();
  // Another process holds the lock for a moment (as an import or a link does), then adds a line and lets go.
  const holder = spawnWorker(`
    const { LibraryLock } = require(${JSON.stringify(join(LIB_DIR, 'core/library/lock.js'))});
    (async () => {
      const lock = await LibraryLock.acquire(${JSON.stringify(root)});
      process.stdout.write('held\\n');
      await new Promise((r) => setTimeout(r, 600));
      await lock.release();
    })();
  `);
  await holder.firstLine;
  const r = await runCli(['scan', '--offline', root], {});
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/unchanged 1/);
  expect(await holder.exit).toBe(0);
});

test('many processes find a dead process\'s lock at once: one holder at a time, every one gets it in turn', async () => {
  const root = join(tmp.path, 'stampede');
  mkdirSync(join(root, '.modeldeck'), { recursive: true });
  // Left by a process that died on this host.
  writeFileSync(join(root, '.modeldeck', 'scan.lock'), JSON.stringify({ pid: 2 ** 22 + 4242, host: hostname(), since: 0, nonce: 'dead' }));
  const inside = join(root, 'inside');
  const WORKERS = 12;
  const workers = Array.from({ length: WORKERS }, () =>
    spawnWorker(`
      const { mkdirSync, rmdirSync } = require('node:fs');
      const { LibraryLock } = require(${JSON.stringify(join(LIB_DIR, 'core/library/lock.js'))});
      (async () => {
        const lock = await LibraryLock.acquire(${JSON.stringify(root)}, { waitMs: 60000 });
        // mkdir fails if another holder is inside: two holders at once is exit 3.
        try { mkdirSync(${JSON.stringify(inside)}); } catch { process.exit(3); }
        await new Promise((r) => setTimeout(r, 20));
        rmdirSync(${JSON.stringify(inside)});
        await lock.release();
        process.exit(0);
      })().catch((e) => { process.stderr.write(String(e)); process.exit(4); });
    `),
  );
  const codes = await Promise.all(workers.map((w) => w.exit));
  expect(codes).toEqual(Array(WORKERS).fill(0));
  expect(() => readFileSync(join(root, '.modeldeck', 'scan.lock'))).toThrow(/ENOENT/);
});

function spawnWorker(code: string): { firstLine: Promise<string>; exit: Promise<number> } {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = new Promise<string>((resolve) => {
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
  });
  const exit = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  return { firstLine, exit };
}
