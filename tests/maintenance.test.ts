// Keeping a library tidy, on real files and the fake Civitai over real HTTP:
// duplicates and their verified clean-up, mv/rm/restore with sidecars, updates, import into an unscanned root.
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Library } from '../src/core/library';
import { moveAll } from '../src/core/library/file-moves';
import { decodeEntry, encodeEntry } from '../src/core/library/index-codec';
import { FakeCivitai } from './fake-civitai';
import { runCli } from './helpers/cli';
import { loraBytes, register, writeModel, type MadeFile } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir();
let fake: FakeCivitai;
let serial = 0;
const shmRoots: string[] = [];

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
});
afterAll(async () => {
  await fake.stop();
  for (const r of shmRoots) rmSync(r, { recursive: true, force: true });
});
beforeEach(() => fake.reset());

const civitai = () => ({ baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, `cache-${++serial}`), maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 2000 });
const cliEnv = () => ({ CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(tmp.path, `cli-cache-${++serial}`) });

function newRoot(parent = tmp.path): string {
  const root = join(parent, `lib-${++serial}`);
  mkdirSync(root, { recursive: true });
  return root;
}

function sidecars(file: MadeFile): void {
  const base = file.path.replace(/\.safetensors$/, '');
  writeFileSync(`${base}.civitai.info`, '{}');
  writeFileSync(`${base}.json`, '{"description": "x"}');
  writeFileSync(`${base}.preview.png`, 'png');
  writeFileSync(`${base}.metadata.json`, '{}');
}

async function scanned(roots: string[], fn: (lib: Library) => Promise<void>, offline = true): Promise<void> {
  const lib = await Library.open(roots, { civitai: civitai() });
  try {
    await lib.scan({ offline, previews: false });
    await fn(lib);
  } finally {
    await lib.close();
  }
}

describe('duplicates', () => {
  test('groups copies across roots; a hard link is one file reached twice; fp16/fp32 of one version are listed apart', async () => {
    const a = newRoot();
    const b = newRoot();
    const bytes = loraBytes();
    const one = writeModel(a, 'Lora/one.safetensors', bytes);
    writeModel(b, 'loras/copy.safetensors', bytes);
    linkSync(one.path, join(a, 'Lora/hardlink.safetensors'));
    const fp16 = writeModel(a, 'Lora/v-fp16.safetensors', loraBytes());
    const fp32 = writeModel(a, 'Lora/v-fp32.safetensors', loraBytes());
    const { modelId, versionId } = fake.addVersion({
      modelName: 'Two precisions',
      baseModel: 'SD 1.5',
      files: [fp16, fp32].map((f) => ({ name: f.rel.split('/').pop()!, hashes: { SHA256: f.SHA256 }, sizeKB: f.bytes.length / 1024 })),
    });
    await scanned([a, b], async (lib) => {
      await lib.scan({ previews: false });
      const r = await lib.duplicates();
      expect(r.groups).toHaveLength(1);
      const g = r.groups[0];
      expect(g.sha256).toBe(one.SHA256);
      // The scan indexes a hard-linked file once; either way it is one copy, never two.
      expect(g.copies).toHaveLength(2);
      expect([one.path, join(a, 'Lora/hardlink.safetensors')]).toContain(g.copies[0].absolute);
      expect(g.copies[1].absolute).toBe(join(b, 'loras/copy.safetensors'));
      expect(r.reclaimable).toBe(bytes.length);
      expect(r.sameVersion).toEqual([expect.objectContaining({ modelId, versionId, files: expect.arrayContaining([expect.objectContaining({ absolute: fp16.path }), expect.objectContaining({ absolute: fp32.path })]) })]);
      // Dry run: a plan, nothing read or changed.
      const plan = await lib.cleanDuplicates({ kind: 'prefix', prefix: b }, 'trash', { dryRun: true });
      expect(plan.steps[0].keep.absolute).toBe(join(b, 'loras/copy.safetensors'));
      expect(plan.done).toEqual([]);
      expect(existsSync(one.path)).toBe(true);
    });
  });

  test('the same bytes under a root seen twice (a bind mount, a symlinked root) are no duplicate', async () => {
    const a = newRoot();
    writeModel(a, 'x.safetensors', loraBytes());
    const alias = join(tmp.path, `alias-${++serial}`);
    symlinkSync(a, alias);
    await scanned([a], async (lib) => {
      const models = lib.models();
      const { findDuplicates } = await import('../src/core/library/dupes');
      const twice = [...models, { ...models[0], root: alias, absolute: join(alias, models[0].path) }];
      expect((await findDuplicates(twice, [a, alias])).groups).toEqual([]);
    });
  });

  test('--keep first --trash verifies both files, moves the copy with its sidecars to the trash, and restore puts it back', async () => {
    const root = newRoot();
    const bytes = loraBytes();
    writeModel(root, 'a/keep.safetensors', bytes);
    const dup = writeModel(root, 'b/dup.safetensors', bytes);
    sidecars(dup);
    await scanned([root], async () => undefined);
    const env = cliEnv();
    const noFlag = await runCli(['dupes', '--keep', 'first', root], env);
    expect(noFlag.code).toBe(1);
    expect(noFlag.stderr).toMatch(/--keep needs --trash, --hardlink or --symlink/);
    const dry = await runCli(['dupes', '--keep', 'first', '--trash', '--dry-run', root], env);
    expect(dry.stdout).toBe(`keep ${join(root, 'a/keep.safetensors')}\n  would trash ${dup.path}\n`);
    expect(existsSync(dup.path)).toBe(true);
    const done = await runCli(['dupes', '--keep', 'first', '--trash', root], env);
    expect(done.stderr).toBe('');
    expect(done.stdout).toContain(`trashed ${dup.path}`);
    expect(readdirSync(join(root, 'b'))).toEqual([]);
    const listed = await runCli(['restore', '--json', root], env);
    const [item] = listed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(item.path).toBe('b/dup.safetensors');
    expect(item.files.sort()).toEqual(['b/dup.civitai.info', 'b/dup.json', 'b/dup.metadata.json', 'b/dup.preview.png', 'b/dup.safetensors']);
    expect((await runCli(['dupes', '--json', root], env)).stdout).toBe('');
    const restored = await runCli(['restore', root, 'b/dup.safetensors'], env);
    expect(restored.stdout).toBe(`restored ${dup.path}\n`);
    expect(readdirSync(join(root, 'b')).sort()).toEqual(['dup.civitai.info', 'dup.json', 'dup.metadata.json', 'dup.preview.png', 'dup.safetensors']);
    expect(readFileSync(dup.path).equals(bytes)).toBe(true);
    const ls = await runCli(['ls', '--json', root], env);
    expect(ls.stdout).toContain('"b/dup.safetensors"');
    expect((await runCli(['restore', root], env)).stdout).toBe('');
  });

  test('a copy whose bytes changed since the scan (same size and mtime) is never removed', async () => {
    const root = newRoot();
    const bytes = loraBytes();
    writeModel(root, 'a/keep.safetensors', bytes);
    const dup = writeModel(root, 'b/dup.safetensors', bytes);
    await scanned([root], async (lib) => {
      const st = statSync(dup.path);
      const changed = Buffer.from(bytes);
      changed[changed.length - 1] ^= 0xff;
      writeFileSync(dup.path, changed);
      utimesSync(dup.path, st.atime, st.mtime);
      const r = await lib.cleanDuplicates({ kind: 'first' }, 'trash');
      expect(r.done).toEqual([]);
      expect(r.failed).toEqual([{ path: dup.path, reason: expect.stringMatching(/bytes differ from the kept file/) }]);
      expect(readFileSync(dup.path).equals(changed)).toBe(true);
    });
  });

  test('--hardlink and --symlink replace the copy by a link to the verified kept file', async () => {
    const root = newRoot();
    const bytes = loraBytes();
    const keep = writeModel(root, 'a/keep.safetensors', bytes);
    const h = writeModel(root, 'b/hard.safetensors', bytes);
    await scanned([root], async (lib) => {
      const r = await lib.cleanDuplicates({ kind: 'first' }, 'hardlink');
      expect(r.failed).toEqual([]);
      expect(statSync(h.path).ino).toBe(statSync(keep.path).ino);
      expect((await lib.duplicates()).groups).toEqual([]);
    });
    const s = writeModel(root, 'c/soft.safetensors', bytes);
    await scanned([root], async (lib) => {
      const r = await lib.cleanDuplicates({ kind: 'prefix', prefix: join(root, 'a') }, 'symlink');
      expect(r.done.map((d) => d.path)).toEqual([s.path]);
      expect(lstatSync(s.path).isSymbolicLink()).toBe(true);
      expect(readlinkSync(s.path)).toBe('../a/keep.safetensors');
      expect(lib.get(s.path)).toBeUndefined();
    });
  });
});

describe('mv, rm, restore', () => {
  test('mv renames a model with every sidecar by rename (same inode: no byte read); the index follows without a re-hash', async () => {
    const root = newRoot();
    const m = writeModel(root, 'Lora/old name.safetensors', loraBytes());
    sidecars(m);
    writeFileSync(join(root, 'Lora/old name.cm-info.json'), '{}');
    writeFileSync(join(root, 'Lora/old name.other.txt'), 'not ours');
    symlinkSync('/etc/passwd', join(root, 'Lora/old name.preview.jpg'));
    mkdirSync(join(root, 'Other'));
    await scanned([root], async () => undefined);
    const ino = statSync(m.path).ino;
    const env = cliEnv();
    const r = await runCli(['mv', m.path, join(root, 'Other/new name.safetensors')], env);
    expect(r.stdout).toBe(`${m.path} → ${join(root, 'Other/new name.safetensors')}\n`);
    expect(r.stderr).toBe(`modeldeck: warning: ${join(root, 'Lora/old name.preview.jpg')}: a link or not a regular file; left where it is\n`);
    expect(readdirSync(join(root, 'Other')).sort()).toEqual(['new name.civitai.info', 'new name.cm-info.json', 'new name.json', 'new name.metadata.json', 'new name.preview.png', 'new name.safetensors']);
    expect(readdirSync(join(root, 'Lora')).sort()).toEqual(['old name.other.txt', 'old name.preview.jpg']);
    expect(statSync(join(root, 'Other/new name.safetensors')).ino).toBe(ino);
    const info = JSON.parse((await runCli(['info', '--json', join(root, 'Other/new name.safetensors')], env)).stdout);
    expect(info.hashes.SHA256).toBe(m.SHA256);
    const rescan = JSON.parse((await runCli(['scan', '--offline', '--json', root], env)).stdout);
    expect(rescan).toMatchObject({ hashed: 0, unchanged: 1, moved: 0, added: 0 });
  });

  test('mv into a folder never overwrites: one existing sidecar target and nothing moves', async () => {
    const root = newRoot();
    const m = writeModel(root, 'a/model.safetensors', loraBytes());
    sidecars(m);
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'b/model.json'), 'theirs');
    await scanned([root], async (lib) => {
      await expect(lib.move(m.path, join(root, 'b'))).rejects.toThrow(/b\/model\.json: already exists; nothing was moved/);
      expect(readdirSync(join(root, 'a')).length).toBe(5);
      expect(readFileSync(join(root, 'b/model.json'), 'utf8')).toBe('theirs');
      expect(lib.get(m.path)).toBeDefined();
    });
  });

  test('mv makes missing folders inside the root, never through a symlinked folder that leads out of it', async () => {
    const root = newRoot();
    const outside = newRoot();
    const m = writeModel(root, 'x.safetensors', loraBytes());
    symlinkSync(outside, join(root, 'escape'));
    await scanned([root], async (lib) => {
      await expect(lib.move(m.path, join(root, 'escape/deeper/x.safetensors'))).rejects.toThrow(/outside the library root/);
      await expect(lib.move(m.path, join(root, 'escape/x.safetensors'))).rejects.toThrow(/outside the library root/);
      expect(readdirSync(outside)).toEqual([]);
      const { model } = await lib.move(m.path, join(root, 'new/folder/y.safetensors'));
      expect(model.path).toBe('new/folder/y.safetensors');
    });
  });

  test('a move that fails half way puts back what it moved', async () => {
    const dir = newRoot();
    writeFileSync(join(dir, 'one'), '1');
    await expect(moveAll([{ from: join(dir, 'one'), to: join(dir, 'one-moved') }, { from: join(dir, 'missing'), to: join(dir, 'missing-moved') }])).rejects.toThrow(/put back/);
    expect(readdirSync(dir)).toEqual(['one']);
  });

  test('mv to another root on another file system copies, verifies, then removes; the entry moves between indexes', async () => {
    const a = newRoot();
    // A folder of this run's own on the second file system: two test runs at once (or one killed earlier) never share it.
    const shm = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmp.path).dev ? mkdtempSync(join('/dev/shm', 'mdk-mv-')) : newRoot();
    shmRoots.push(shm);
    const m = writeModel(a, 'x.safetensors', loraBytes());
    sidecars(m);
    await scanned([a, shm], async (lib) => {
      const { model } = await lib.move(m.path, shm);
      expect(model).toMatchObject({ root: shm, path: 'x.safetensors', preview: 'x.preview.png' });
      expect(model.hashes.SHA256).toBe(m.SHA256);
      expect(readFileSync(join(shm, 'x.safetensors')).equals(m.bytes)).toBe(true);
      expect(readdirSync(a).filter((n) => !n.startsWith('.'))).toEqual([]);
      expect(lib.get(m.path)).toBeUndefined();
    });
    await scanned([shm], async (lib) => expect(lib.get(join(shm, 'x.safetensors'))?.hashes.SHA256).toBe(m.SHA256));
  });

  test('rm of several files, restore by trash id; restore refuses to overwrite a file put there since', async () => {
    const root = newRoot();
    const x = writeModel(root, 'x.safetensors', loraBytes());
    const y = writeModel(root, 'y.safetensors', loraBytes());
    await scanned([root], async () => undefined);
    const env = cliEnv();
    const rm = await runCli(['rm', x.path, y.path, join(root, 'nope.safetensors')], env);
    expect(rm.code).toBe(1);
    expect(rm.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(rm.stderr).toMatch(/nope\.safetensors: not in the library/);
    const items = (await runCli(['restore', '--json', root], env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(items.map((i) => i.path).sort()).toEqual(['x.safetensors', 'y.safetensors']);
    writeFileSync(x.path, 'someone else');
    const idX = items.find((i) => i.path === 'x.safetensors').id;
    const refused = await runCli(['restore', root, idX], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/x\.safetensors: already exists/);
    expect(readFileSync(x.path, 'utf8')).toBe('someone else');
    const ok = await runCli(['restore', root, items.find((i) => i.path === 'y.safetensors').id], env);
    expect(ok.stdout).toBe(`restored ${y.path}\n`);
  });

  test('a planted trash manifest naming a path outside the root is refused', async () => {
    const root = newRoot();
    writeModel(root, 'x.safetensors', loraBytes());
    await scanned([root], async () => undefined);
    mkdirSync(join(root, '.modeldeck/trash/evil'), { recursive: true });
    writeFileSync(join(root, '.modeldeck/trash/evil/item.json'), JSON.stringify({ path: '../../etc/x', trashedAt: 1, files: [{ name: 'x', path: '../../etc/x' }] }));
    const r = await runCli(['restore', root, 'evil'], cliEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a trash item \(path\)/);
    expect(r.stderr).toMatch(/evil: not in the trash/);
  });
});

describe('updates', () => {
  test('newer published, downloadable versions of the same base, not already in the library; ignores; cache; early access', async () => {
    const root = newRoot();
    const v1file = writeModel(root, 'Lora/detail v1.safetensors', loraBytes());
    const { modelId, versionId: v1 } = register(fake, v1file, { name: 'Detail Tweaker', baseModel: 'SD 1.5' });
    const other = (name: string, extra: object = {}) => fake.addVersion({ modelId, name, baseModel: 'SD 1.5', files: [{ name: `${name}.safetensors`, hashes: { SHA256: 'AB'.repeat(32).slice(0, 62) + String(++serial).padStart(2, '0').slice(-2) }, sizeKB: 2048 }], ...extra }).versionId;
    const v2 = other('v2');
    other('v3-xl', { baseModel: 'SDXL 1.0' });
    const early = other('v4-early', { availability: 'EarlyAccess', earlyAccessEndsAt: new Date(Date.now() + 86_400_000).toISOString() });
    fake.addVersion({ modelId, name: 'v5-draft', baseModel: 'SD 1.5', status: 'Draft', files: [{ name: 'draft.safetensors', hashes: { SHA256: 'CD'.repeat(32) } }] });
    // A second model whose newest version is already in the library under another name.
    const w1 = writeModel(root, 'Lora/style.safetensors', loraBytes());
    const w2 = writeModel(root, 'elsewhere/style new.safetensors', loraBytes());
    const { modelId: m2 } = register(fake, w1, { name: 'Style', baseModel: 'SD 1.5' });
    fake.addVersion({ modelId: m2, name: 'new', baseModel: 'SD 1.5', files: [{ name: 'style new.safetensors', hashes: { SHA256: w2.SHA256 } }] });
    const w3 = writeModel(root, 'elsewhere/not-civitai.safetensors', loraBytes());
    void w3;

    await scanned([root], async (lib) => {
      // The scan fetched the parent models through the same cached call: the check asks nothing more.
      fake.reset();
      expect((await lib.updates()).updates).toHaveLength(1);
      expect(fake.count()).toBe(0);
      const r = await lib.updates({ refresh: true });
      expect(fake.count('models')).toBe(1);
      expect(fake.requests.every((q) => q.url.length < 2000)).toBe(true);
      expect(r.checked).toBe(2);
      expect(r.updates).toEqual([
        expect.objectContaining({ modelId, modelName: 'Detail Tweaker', current: expect.objectContaining({ versionId: v1, files: [expect.objectContaining({ path: 'Lora/detail v1.safetensors' })] }), latest: expect.objectContaining({ versionId: v2, name: 'v2', baseModel: 'SD 1.5', size: 2048 * 1024, earlyAccess: false }), newer: 1 }),
      ]);
      // A second check within a day asks nothing.
      fake.reset();
      await lib.updates();
      expect(fake.count()).toBe(0);
      const all = await lib.updates({ allBases: true, includeEarlyAccess: true });
      expect(all.updates[0].latest).toMatchObject({ versionId: early, earlyAccess: true });
      expect(all.updates[0].newer).toBe(3);

      await lib.ignoreUpdates(modelId, { version: v2 });
      const after = await lib.updates();
      expect(after.updates).toEqual([]);
      expect(after.ignored).toBe(1);
      // A newer version than the ignored one is offered again.
      const v6 = other('v6');
      const fresh = await lib.updates({ refresh: true });
      expect(fresh.updates.map((u) => u.latest.versionId)).toEqual([v6]);
      await lib.ignoreUpdates(modelId, { model: true });
      expect((await lib.updates()).updates).toEqual([]);
      // The ignores travel in the export and survive the codec.
      const exported = lib.export().models.find((m) => m.path === 'Lora/detail v1.safetensors')!;
      expect(exported.updates).toEqual({ model: true, version: v2 });
      const otherRoot = newRoot();
      writeModel(otherRoot, 'moved/detail.safetensors', v1file.bytes);
      const there = await Library.open([otherRoot], { civitai: false });
      try {
        expect(await there.import(lib.export())).toMatchObject({ matched: 1, indexed: 1 });
        expect(there.get('moved/detail.safetensors')!.updates).toEqual({ model: true, version: v2 });
      } finally {
        await there.close();
      }
      const entry = lib.get(v1file.path)!;
      expect(decodeEntry(encodeEntry(entry))).toEqual({ entry: expect.objectContaining({ updates: { model: true, version: v2 } }) });
      const { root: _r, absolute: _a, ...plain } = entry;
      expect(decodeEntry(encodeEntry({ ...plain, updates: { version: -1 } as never }))).toEqual({ error: 'updates.version is not a version id' });
      // New bytes (a re-saved file) keep the owner's ignores.
      writeFileSync(v1file.path, loraBytes());
      await lib.scan({ offline: true, previews: false });
      expect(lib.get(v1file.path)!.updates).toEqual({ model: true, version: v2 });
    }, false);
  });

  test('a failed request loses only its own models; the CLI prints current → latest', async () => {
    const root = newRoot();
    const files = Array.from({ length: 3 }, (_, i) => writeModel(root, `Lora/m${i}.safetensors`, loraBytes()));
    const ids = files.map((f, i) => register(fake, f, { name: `M${i}`, baseModel: 'SD 1.5' }).modelId);
    for (const modelId of ids) fake.addVersion({ modelId, name: 'v2', baseModel: 'SD 1.5', files: [{ name: 'n.safetensors', hashes: { SHA256: 'EF'.repeat(31) + String(modelId % 100).padStart(2, '0') } }] });
    await scanned([root], async (lib) => {
      const { checkUpdates } = await import('../src/core/library/updates');
      const { CivitaiClient } = await import('../src/core/civitai');
      const client = new CivitaiClient({ ...civitai(), maxAttempts: 1 });
      try {
        // 250 identified models in memory: three requests of 100, the second of which fails.
        const base = lib.models()[0];
        const many = Array.from({ length: 250 }, (_, i) => ({ ...base, path: `p${i}`, civitai: { status: 'found' as const, link: { ...base.civitai.link!, modelId: i < 3 ? ids[i] : 80_000_000 + i } } }));
        fake.reset();
        fake.inject({ kind: 'status', status: 400 }, { route: 'models', times: 1 });
        const orderFirstFailing = [...many.slice(3, 103), ...many.slice(0, 3), ...many.slice(103)];
        const r = await checkUpdates(client, orderFirstFailing);
        expect(fake.count('models')).toBe(3);
        expect(r.failed).toEqual([{ ids: expect.any(Array), message: expect.any(String) }]);
        expect(r.failed[0].ids).toHaveLength(100);
        expect(r.updates.map((u) => u.modelId).sort()).toEqual([...ids].sort());
      } finally {
        await client.close();
      }
    }, false);
    const out = await runCli(['updates', root], cliEnv());
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^M0: v\d+ → v2  \[SD 1\.5, \d{4}-\d\d-\d\d, 1\.00 MiB\]\n/);
    expect(out.stdout).toMatch(/3 update\(s\) among 3 Civitai model\(s\)\n$/);
    const json = (await runCli(['updates', '--json', root], cliEnv())).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const ignore = await runCli(['updates', '--ignore-version', String(json[0].latest.versionId), root], cliEnv());
    expect(ignore.stdout).toMatch(/^ignoring M0 — v2 until a newer version appears\n$/);
    expect((await runCli(['updates', root], cliEnv())).stdout).toMatch(/2 update\(s\) among 3 Civitai model\(s\), 1 ignored\n$/);
  });
});

describe('import into a root that was never scanned', () => {
  test('indexes it first, hashing only fingerprint matches, and reports how each model matched', async () => {
    const src = newRoot();
    const made = Array.from({ length: 3 }, (_, i) => writeModel(src, `Lora/orig${i}.safetensors`, loraBytes({}, 64 * 1024)));
    register(fake, made[0], { name: 'Known' });
    const exportFile = join(tmp.path, `export-${++serial}.json`);
    const env = cliEnv();
    expect((await runCli(['scan', src], env)).code).toBe(0);
    expect((await runCli(['export', src, '-o', exportFile], env)).code).toBe(0);

    const fresh = newRoot();
    writeModel(fresh, 'renamed/a.safetensors', made[0].bytes);
    writeModel(fresh, 'renamed/b.safetensors', made[1].bytes);
    writeModel(fresh, 'unrelated.safetensors', loraBytes());
    const r = await runCli(['import', exportFile, fresh], env);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `indexed 3 new file(s) first (offline; hashed only where a fingerprint matched)\n2 of 3 exported models matched files in ${fresh} (2 by SHA256, 0 by fingerprint)\nnot found here (not in this folder, or changed): Lora/orig2.safetensors\n`,
    );
    const ls = (await runCli(['ls', '--json', fresh], env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const byPath = Object.fromEntries(ls.map((m) => [m.path, m]));
    expect(byPath['renamed/a.safetensors'].civitai.link.modelName).toBe('Known');
    expect(byPath['renamed/a.safetensors'].hashSources.SHA256).toBe('computed');
    expect(byPath['unrelated.safetensors'].hashes.SHA256).toBeUndefined();
  });
});
