// The library commands as a user runs them: scan, ls, info, link, export, import, watch.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readIndexCache } from '../src/core/library';
import { FakeCivitai } from './fake-civitai';
import { BIN, runCli } from './helpers/cli';
import { loraBytes, register, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';
import { WAIT_MS } from './helpers/wait';

const tmp = useTmpDir();
let fake: FakeCivitai;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache'), CIVITAI_TOKEN: 'mdk-CLI-SECRET-42' };
});
afterAll(() => fake.stop());

test('scan, ls, info, link, export and import', async () => {
  const root = join(tmp.path, 'lib');
  const known = writeModel(root, 'models/Lora/known.safetensors', loraBytes());
  const pruned = writeModel(root, 'models/Lora/pruned copy.safetensors', loraBytes());
  register(fake, known, { name: 'Known LoRA', trainedWords: ['kn0wn'] });
  const original = writeModel(join(tmp.path, 'upstream'), 'orig.safetensors', loraBytes());
  const { modelId, versionId } = register(fake, original, { name: 'Upstream' });

  const scan = await runCli(['scan', '--json', root], env);
  expect(scan.stderr).toBe('');
  expect(scan.code).toBe(0);
  const report = JSON.parse(scan.stdout);
  expect(report).toMatchObject({ files: 2, hashed: 2, identified: 1, notOnCivitai: 1 });

  const human = await runCli(['scan', root], env);
  expect(human.stdout).toMatch(/2 model files in .*\n  unchanged 2, new 0/);

  const ls = await runCli(['ls', '--json', '--filter', 'status=identified', root], env);
  const listed = ls.stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(listed.map((m) => m.path)).toEqual(['models/Lora/known.safetensors']);
  expect(listed[0].status).toContain('identified');
  const bad = await runCli(['ls', '--filter', 'colour=red', root], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^modeldeck: --filter colour=red: use KEY=VALUE with KEY one of kind, base, status, text, sort\n$/);

  const info = await runCli(['info', known.path], env);
  expect(info.stdout).toContain(`SHA256  ${known.SHA256}  (computed)`);
  expect(info.stdout).toContain('Known LoRA');
  expect(info.stdout).toContain('trained words: kn0wn');

  const link = await runCli(['link', pruned.path, `https://civitai.com/models/${modelId}?modelVersionId=${versionId}`], env);
  expect(link.code).toBe(0);
  expect(link.stdout).toMatch(/Upstream .*linked by manual/);

  const exportFile = join(tmp.path, 'export.json');
  expect((await runCli(['export', root, '-o', exportFile], env)).code).toBe(0);
  const text = readFileSync(exportFile, 'utf8');
  expect(JSON.parse(text).models).toHaveLength(2);
  expect(text).not.toContain(tmp.path);
  expect(text).not.toContain('mdk-CLI-SECRET-42');

  const other = join(tmp.path, 'other machine');
  writeModel(other, 'loras/moved name.safetensors', pruned.bytes);
  expect((await runCli(['scan', '--offline', other], env)).code).toBe(0);
  const imported = await runCli(['import', exportFile, other], env);
  expect(imported.stdout).toMatch(/^1 of 2 exported models matched files in /);
  const after = JSON.parse((await runCli(['info', '--json', join(other, 'loras/moved name.safetensors')], env)).stdout);
  expect(after.civitai.link).toMatchObject({ versionId, matchedBy: 'manual' });

  writeFileSync(join(tmp.path, 'foreign.json'), '{"some": "thing"}');
  const foreign = await runCli(['import', join(tmp.path, 'foreign.json'), other], env);
  expect(foreign.code).toBe(1);
  expect(foreign.stderr).toBe('modeldeck: not a modeldeck export: "format" is undefined, expected "modeldeck-export"\n');

  for (const r of [scan, human, ls, info, link, imported]) expect(r.stdout + r.stderr).not.toContain('mdk-CLI-SECRET-42');
});

test('scan --offline says what is pending; a missing root is one line', async () => {
  const root = join(tmp.path, 'offline');
  writeModel(root, 'Lora/x.safetensors', loraBytes());
  const r = await runCli(['scan', '--offline', root], env);
  expect(r.stdout).toMatch(/offline: 1 files wait for a Civitai lookup/);
  const missing = await runCli(['scan', join(tmp.path, 'nope')], env);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toBe(`modeldeck: ${join(tmp.path, 'nope')}: not a folder\n`);
});

test('watch: a new file is scanned and identified, Ctrl-C stops cleanly', async () => {
  const root = join(tmp.path, 'watched');
  writeModel(root, 'Lora/first.safetensors', loraBytes());
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '0.3', root], { env: { ...process.env, ...env } });
  const events: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const l of lines) if (l) events.push(JSON.parse(l));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pred: () => boolean, what: string) => {
    const until = Date.now() + WAIT_MS;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(() => events.some((e) => e.event === 'watching'), 'the watcher to start');
  const late = writeModel(root, 'Lora/arrived later.safetensors', loraBytes());
  register(fake, late, { name: 'Late Arrival' });
  const isScanOfNew = (e: Record<string, unknown>) => e.event === 'scan' && e.files === 2 && e.added === 1;
  await waitFor(() => events.some(isScanOfNew), 'a scan of the new file');
  const scanOfNew = events.find(isScanOfNew)!;
  // "first" is on no Civitai page; the new file is.
  expect(scanOfNew).toMatchObject({ hashed: 1, identified: 1, notOnCivitai: 1 });
  // The watcher's batch may come after the catch-up scan that follows its start already found the file.
  await waitFor(() => events.some((e) => e.event === 'change' && (e.added as string[]).includes(late.path)), 'the change batch');
  // Each of its scans keeps the panel's first window for the index it wrote: a show() now paints at once.
  let kept: string[] = [];
  const until = Date.now() + WAIT_MS;
  while (!kept.includes('Lora/arrived later.safetensors') && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    kept = (await readIndexCache([root], 'panel-first-window'))?.entries.map((e) => e.entry.path) ?? [];
  }
  expect(kept.sort()).toEqual(['Lora/arrived later.safetensors', 'Lora/first.safetensors']);
  child.kill('SIGINT');
  expect(await exited).toBe(0);
});
