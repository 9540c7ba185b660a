/**
 * Security items 1 and 3: a stranger who can write to a shared library folder
 * plants symbolic links where modeldeck writes (the journal, the snapshot's
 * temporary file, `.modeldeck` itself, the lock) or reads (a sidecar). Each
 * test plants the link, runs a real scan (the CLI as a separate process where
 * the attack needs one), and checks that the file outside the root is exactly
 * as it was and that the refusal names the link.
 */
import { lstatSync, lutimesSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Library } from '../../src/core/library';
import { FakeCivitai } from '../fake-civitai';
import { runCli } from '../helpers/cli';
import { loraBytes, register, writeModel } from '../helpers/library';
import { useTmpDir } from '../helpers/tmpdir';
import { filesUnder, outsideFile } from './outside';

const tmp = useTmpDir('mdk-sec-links-');
let fake: FakeCivitai;
let serial = 0;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
});
afterAll(() => fake.stop());

function env(): NodeJS.ProcessEnv {
  return { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(tmp.path, `cache-${++serial}`) };
}

function newRoot(): string {
  const root = join(tmp.path, `lib-${++serial}`);
  mkdirSync(join(root, '.modeldeck'), { recursive: true });
  return root;
}

test('a journal linked to ~/.bashrc is neither appended to nor emptied; file names an attacker picks never reach it', async () => {
  const root = newRoot();
  const bashrc = outsideFile(tmp.path, 'home/.bashrc', 'export PS1="$ "\n');
  symlinkSync(bashrc.path, join(root, '.modeldeck', 'journal.jsonl'));
  writeModel(root, 'Lora/$(touch${IFS}PWNED)x.safetensors', loraBytes());

  const r = await runCli(['scan', '--offline', root], env());
  expect(r.code).toBe(0);
  bashrc.expectUntouched();
  expect(r.stderr).toMatch(/journal\.jsonl: refused: a symbolic link \(to .*\.bashrc\)/);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  // The scan still happened, into a real journal and snapshot of its own.
  expect(lstatSync(join(root, '.modeldeck', 'journal.jsonl')).isFile()).toBe(true);
  expect(readFileSync(join(root, '.modeldeck', 'index.json'), 'utf8')).toContain('PWNED');
  const second = await runCli(['scan', '--offline', root], env());
  expect(second.stdout).toMatch(/unchanged 1/);
  bashrc.expectUntouched();
});

test("a link planted at the snapshot's old temporary name is not written through", async () => {
  const root = newRoot();
  writeModel(root, 'Lora/a.safetensors', loraBytes());
  const target = outsideFile(tmp.path, `victim-${serial}.txt`, 'precious\n');
  // The name earlier versions used for this very process.
  symlinkSync(target.path, join(root, '.modeldeck', `index.json.${process.pid}.tmp`));
  const lib = await Library.open([root], { civitai: false });
  try {
    expect((await lib.scan({ offline: true })).added).toBe(1);
  } finally {
    await lib.close();
  }
  target.expectUntouched();
  expect(readlinkSync(join(root, '.modeldeck', `index.json.${process.pid}.tmp`))).toBe(target.path);
});

test('.modeldeck itself linked elsewhere: refused in one line naming the link, nothing written there', async () => {
  const root = join(tmp.path, `lib-${++serial}`);
  mkdirSync(root);
  writeModel(root, 'Lora/a.safetensors', loraBytes());
  const elsewhere = join(tmp.path, `their-dir-${serial}`);
  mkdirSync(elsewhere);
  symlinkSync(elsewhere, join(root, '.modeldeck'));

  const r = await runCli(['scan', '--offline', root], env());
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^modeldeck: .*\.modeldeck: refused: a symbolic link \(to .*their-dir-\d+\) where modeldeck keeps its own folder; remove the link\n$/);
  expect(readdirSync(elsewhere)).toEqual([]);
  await expect(Library.open([root], { civitai: false })).rejects.toThrow(/\.modeldeck: refused: a symbolic link/);
});

test('a stale lock planted as a link is taken over without touching its target', async () => {
  const root = newRoot();
  writeModel(root, 'Lora/a.safetensors', loraBytes());
  const target = outsideFile(tmp.path, `lock-victim-${serial}.txt`, 'do not touch\n');
  const lock = join(root, '.modeldeck', 'scan.lock');
  symlinkSync(target.path, lock);
  // Planted long ago: as old as a lock whose holder stopped its heartbeat.
  const old = new Date(Date.now() - 10 * 60_000);
  lutimesSync(lock, old, old);
  const r = await runCli(['scan', '--offline', root], env());
  expect(r.code).toBe(0);
  target.expectUntouched();
  expect(() => lstatSync(lock)).toThrow(/ENOENT/);
});

test('sidecars that are links: A1111 .json linked to a secret is not copied into the root; .civitai.info linked out is not written', async () => {
  const root = newRoot();
  const a = writeModel(root, 'Lora/a.safetensors', loraBytes());
  register(fake, a, { name: 'Linked Sidecars', images: 0 });
  const secret = outsideFile(tmp.path, `kaggle-${serial}/kaggle.json`, '{"username":"me","key":"SECRET-KAGGLE-KEY-93f1"}\n');
  const info = outsideFile(tmp.path, `notes-${serial}.txt`, 'my notes\n');
  symlinkSync(secret.path, join(root, 'Lora', 'a.json'));
  symlinkSync(info.path, join(root, 'Lora', 'a.civitai.info'));

  const r = await runCli(['scan', '--json', root], env());
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report.identified).toBe(1);
  secret.expectUntouched();
  info.expectUntouched();
  expect(lstatSync(join(root, 'Lora', 'a.json')).isSymbolicLink()).toBe(true);
  expect(lstatSync(join(root, 'Lora', 'a.civitai.info')).isSymbolicLink()).toBe(true);
  for (const f of filesUnder(root)) expect(readFileSync(f, 'utf8')).not.toContain('SECRET-KAGGLE-KEY');
  const messages = report.warnings.map((w: { message: string }) => w.message).join('\n');
  expect(messages).toMatch(/a\.json: a symbolic link \(to .*kaggle\.json\); modeldeck does not follow links it did not make, ignored/);
  expect(messages).toMatch(/a\.civitai\.info: a symbolic link \(to .*notes-\d+\.txt\)/);
  // Reported once each, though both the sidecar reader and the writers met them.
  expect(messages.match(/a\.json: a symbolic link/g)).toHaveLength(1);
  expect(messages.match(/a\.civitai\.info: a symbolic link/g)).toHaveLength(1);
});
