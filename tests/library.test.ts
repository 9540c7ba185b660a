// The model library end to end: real files on disk, the fake Civitai over real HTTP.
import { existsSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Library, type ScanReport } from '../src/core/library';
import { FakeCivitai } from './fake-civitai';
import { useTmpDir } from './helpers/tmpdir';
import { loraBytes, register, writeModel, type MadeFile } from './helpers/library';

const tmp = useTmpDir();
let fake: FakeCivitai;
let cacheSerial = 0;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => fake.reset());

function civitai() {
  return { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, `cache-${++cacheSerial}`), maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 2000 };
}

async function withLibrary<T>(root: string, fn: (lib: Library) => Promise<T>, options = {}): Promise<T> {
  const lib = await Library.open([root], { civitai: civitai(), ...options });
  try {
    return await fn(lib);
  } finally {
    await lib.close();
  }
}

let rootSerial = 0;
function newRoot(): string {
  const root = join(tmp.path, `lib-${++rootSerial}`);
  mkdirSync(root, { recursive: true });
  return root;
}

describe('first scan, rescans', () => {
  let root: string;
  let known: MadeFile[];
  let unknown: MadeFile;
  let first: ScanReport;
  let firstCounts: Partial<Record<string, number>>;
  const MTIME = new Date('2025-06-01T12:00:00Z');

  beforeAll(async () => {
    root = newRoot();
    known = [0, 1, 2].map((i) => writeModel(root, `models/Lora/style ${i}.safetensors`, loraBytes({ ss_output_name: `s${i}` })));
    known.forEach((f, i) => register(fake, f, { name: `Style ${i}`, trainedWords: [`style${i}`, 'a, b'] }));
    unknown = writeModel(root, 'models/Lora/mine/private.safetensors', loraBytes());
    // Whole seconds, so that the test can put a file's mtime back exactly.
    for (const f of [...known, unknown]) utimesSync(f.path, MTIME, MTIME);
    fake.reset();
    first = await withLibrary(root, (lib) => lib.scan());
    firstCounts = fake.counts();
  });

  test('hashes every file, identifies the known ones in one bulk call, remembers the unknown one', () => {
    expect(first.files).toBe(4);
    expect(first.hashed).toBe(4);
    expect(first.identified).toBe(3);
    expect(first.notOnCivitai).toBe(1);
    // One bulk call for the four SHA256; the miss costs one AutoV3 lookup.
    expect(firstCounts['by-hash-bulk']).toBe(1);
    expect(firstCounts['by-hash']).toBe(1);
  });

  test('writes .civitai.info, the A1111 .json and a preview beside each identified model', () => {
    for (const f of known) {
      const base = f.path.replace(/\.safetensors$/, '');
      const info = JSON.parse(readFileSync(`${base}.civitai.info`, 'utf8'));
      expect(info.files[0].hashes.SHA256).toBe(f.SHA256);
      const a1111 = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
      expect(a1111['activation text']).toContain('style');
      const previews = readdirSync(join(root, 'models/Lora')).filter((n) => n.startsWith(base.split('/').pop()!) && n.includes('.preview.'));
      expect(previews).toHaveLength(1);
    }
    expect(existsSync(unknown.path.replace(/\.safetensors$/, '.civitai.info'))).toBe(false);
  });

  test('a rescan of an unchanged library reads no model bytes and asks Civitai nothing', async () => {
    // Prove "no bytes read": change a file's bytes but keep its size and mtime. A scan
    // that read it would see the new hash; the rescan keeps the old one.
    const victim = known[0];
    const altered = Buffer.from(victim.bytes);
    altered[altered.length - 1] ^= 0xff;
    writeFileSync(victim.path, altered);
    utimesSync(victim.path, MTIME, MTIME);
    fake.reset();
    const again = await withLibrary(root, (lib) => lib.scan());
    expect(again.unchanged).toBe(4);
    expect(again.hashed).toBe(0);
    expect(again.bytesHashed).toBe(0);
    expect(fake.count()).toBe(0);
    await withLibrary(root, async (lib) => expect(lib.get(victim.path)!.hashes.SHA256).toBe(victim.SHA256));
    writeFileSync(victim.path, victim.bytes);
    utimesSync(victim.path, MTIME, MTIME);
  });

  test('a renamed file keeps its hashes and link without a re-hash', async () => {
    const from = known[1].path;
    const to = join(root, 'models/Lora/renamed style.safetensors');
    renameSync(from, to);
    const r = await withLibrary(root, (lib) => lib.scan());
    expect(r.moved).toBe(1);
    expect(r.hashed).toBe(0);
    await withLibrary(root, async (lib) => {
      expect(lib.get(from)).toBeUndefined();
      const m = lib.get(to)!;
      expect(m.hashes.SHA256).toBe(known[1].SHA256);
      expect(m.civitai.link?.modelName).toBe('Style 1');
    });
  });

  test('a changed file is hashed again', async () => {
    const f = known[2];
    writeFileSync(f.path, Buffer.concat([f.bytes, Buffer.from('appended')]));
    const r = await withLibrary(root, (lib) => lib.scan());
    expect(r.changed).toBe(1);
    expect(r.hashed).toBe(1);
  });

  test('ls-style filters and search', async () => {
    await withLibrary(root, async (lib) => {
      expect(lib.models({ status: 'identified' }).length).toBeGreaterThanOrEqual(2);
      expect(lib.models({ text: 'style0' }).map((m) => m.civitai.link?.modelName)).toEqual(['Style 0']);
      // "style 2" was changed by the test above: its new bytes are on no Civitai page.
      expect(lib.models({ status: 'not_found' }).map((m) => m.path)).toEqual(['models/Lora/mine/private.safetensors', 'models/Lora/style 2.safetensors']);
      expect(lib.models({ kind: 'lora' }).length).toBe(4);
      expect(lib.models({ kind: 'checkpoint' })).toEqual([]);
    });
  });
});

test('a LoRA with its AutoV3 in the header is identified by it even when its SHA256 is unknown to Civitai, and verified by hashing', async () => {
  const root = newRoot();
  const probeBytes = loraBytes();
  const tensorsAt = 8 + Number(probeBytes.readBigUInt64LE(0));
  const { createHash } = await import('node:crypto');
  const addnet = createHash('sha256').update(probeBytes.subarray(tensorsAt)).digest('hex');
  // Same tensors, header now carrying the hash (kohya writes it so).
  const header = JSON.parse(probeBytes.subarray(8, tensorsAt).toString());
  header.__metadata__.sshs_model_hash = addnet;
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const f = writeModel(root, 'loras/header.safetensors', Buffer.concat([len, json, probeBytes.subarray(tensorsAt)]));
  // Civitai knows it only by AutoV3 (the uploaded copy had other metadata, so another SHA256).
  fake.addVersion({ modelName: 'Header LoRA', files: [{ name: 'header.safetensors', hashes: { SHA256: 'A'.repeat(64), AutoV3: addnet.slice(0, 12) } }] });
  await withLibrary(root, async (lib) => {
    await lib.scan();
    const m = lib.get(f.path)!;
    expect(m.civitai.link?.matchedBy).toBe('AutoV3');
    expect(m.verified).toBe(true);
    expect(m.hashes.SHA256).toBe(f.SHA256);
  });
  // It used to be looked up before it was hashed; a new file is now hashed from the same open as
  // its probe (one open per file on Drive, docs/architecture.md "Drive-grade I/O").
});

test('hashes adopted from another tool are not re-read; --verify finds a wrong one', async () => {
  const root = newRoot();
  const f = writeModel(root, 'Lora/adopted.safetensors', loraBytes());
  const g = writeModel(root, 'Lora/lied.safetensors', loraBytes());
  register(fake, f, { name: 'Adopted' });
  writeFileSync(join(root, 'Lora/adopted.civitai.info'), JSON.stringify({ id: 1, modelId: 2, files: [{ hashes: { SHA256: f.SHA256 } }] }));
  writeFileSync(join(root, 'Lora/lied.metadata.json'), JSON.stringify({ sha256: 'b'.repeat(64), file_name: 'lied' }));
  await withLibrary(root, async (lib) => {
    const r = await lib.scan();
    expect(r.adopted).toBe(2);
    expect(r.hashed).toBe(0);
    expect(lib.get(f.path)!.hashSources.SHA256).toBe('civitai-info');
    expect(lib.get(f.path)!.civitai.link?.modelName).toBe('Adopted');
    expect(lib.get(f.path)!.verified).toBe(false);
    const v = await lib.scan({ verify: true });
    expect(v.hashed).toBe(2);
    expect(v.verifyMismatches).toEqual([
      { path: g.path, hash: 'SHA256', recorded: 'B'.repeat(64), actual: g.SHA256, source: 'lm-metadata' },
    ]);
    expect(lib.get(g.path)!.hashes.SHA256).toBe(g.SHA256);
    expect(lib.get(f.path)!.verified).toBe(true);
  });
});

test('a failed lookup keeps earlier metadata; the next scan retries only what is missing', async () => {
  const root = newRoot();
  const a = writeModel(root, 'Lora/a.safetensors', loraBytes());
  const b = writeModel(root, 'Lora/b.safetensors', loraBytes());
  register(fake, a, { name: 'Alpha' });
  register(fake, b, { name: 'Beta' });
  await withLibrary(root, async (lib) => {
    fake.inject({ kind: 'status', status: 503 }, { route: 'by-hash-bulk', times: 10 });
    const r = await lib.scan({ offline: false });
    expect(r.identified).toBe(0);
    expect(r.pendingLookup).toBe(2);
    expect(lib.get(a.path)!.civitai.lastError?.code).toBe('civitai_unavailable');
    fake.reset();
    const again = await lib.scan();
    expect(again.identified).toBe(2);
    expect(fake.count('by-hash-bulk')).toBe(1);
    // A refresh that fails leaves the good answer in place.
    fake.inject({ kind: 'status', status: 503 }, { times: 10 });
    const m = await lib.refresh(a.path);
    expect(m.civitai.status).toBe('found');
    expect(m.civitai.link?.modelName).toBe('Alpha');
    expect(m.civitai.lastError?.code).toBe('civitai_unavailable');
  });
});

test('offline scans hash and probe, and say what is pending', async () => {
  const root = newRoot();
  writeModel(root, 'Lora/x.safetensors', loraBytes());
  const lib = await Library.open([root], { civitai: false });
  try {
    const r = await lib.scan({ offline: true });
    expect(r.hashed).toBe(1);
    expect(r.pendingLookup).toBe(1);
    expect(fake.count()).toBe(0);
  } finally {
    await lib.close();
  }
});

test('manual links and hashes survive rescans', async () => {
  const root = newRoot();
  const pruned = writeModel(root, 'Stable-diffusion/pruned.safetensors', loraBytes());
  const original = writeModel(join(tmp.path, 'elsewhere'), 'orig.safetensors', loraBytes());
  const { versionId, modelId } = register(fake, original, { name: 'Original Model' });
  await withLibrary(root, async (lib) => {
    await lib.scan();
    expect(lib.get(pruned.path)!.civitai.status).toBe('not_found');
    const linked = await lib.link(pruned.path, `https://civitai.com/models/${modelId}?modelVersionId=${versionId}`);
    expect(linked.civitai.link).toMatchObject({ versionId, matchedBy: 'manual', modelName: 'Original Model' });
    await lib.scan({ refresh: true });
    expect(lib.get(pruned.path)!.civitai.link?.matchedBy).toBe('manual');
  });
  await withLibrary(root, async (lib) => {
    expect(lib.get(pruned.path)!.manual?.link?.versionId).toBe(versionId);
    await expect(lib.setHash(pruned.path, 'SHA256', 'xyz')).rejects.toThrow(/not a SHA256/);
  });
});

test('bad input: empty, malformed, broken symlink, odd names, invalid sidecar; the scan goes on', async () => {
  const root = newRoot();
  const good = writeModel(root, 'Lora/ün "quoted" name ✓.safetensors', loraBytes());
  writeFileSync(join(root, 'Lora/empty.safetensors'), '');
  const bad = Buffer.alloc(16);
  bad.writeBigUInt64LE(999n);
  writeFileSync(join(root, 'Lora/truncated.safetensors'), bad);
  symlinkSync(join(root, 'nowhere.safetensors'), join(root, 'Lora/broken-link.safetensors'));
  writeFileSync(good.path.replace(/\.safetensors$/, '.civitai.info'), '{"id": 1, "files": [');
  await withLibrary(root, async (lib) => {
    const r = await lib.scan();
    expect(r.files).toBe(3);
    const about = (name: string) => r.warnings.filter((w) => w.path.includes(name)).map((w) => w.message).join(' | ');
    expect(about('empty.safetensors')).toMatch(/empty file/);
    expect(about('truncated.safetensors')).toMatch(/header length 999/);
    expect(about('broken-link')).not.toBe('');
    expect(about('name ✓')).toMatch(/civitai\.info/);
    const m = lib.get(good.path)!;
    expect(m.hashes.SHA256).toBe(good.SHA256);
    // The user's (broken) sidecar is left as it was.
    expect(readFileSync(good.path.replace(/\.safetensors$/, '.civitai.info'), 'utf8')).toBe('{"id": 1, "files": [');
  });
});

test('export, then import into a copy whose files were renamed', async () => {
  const root = newRoot();
  const f = writeModel(root, 'Lora/one.safetensors', loraBytes());
  const original = writeModel(join(tmp.path, 'elsewhere2'), 'orig.safetensors', loraBytes());
  const { versionId, modelId } = register(fake, original, { name: 'Linked By Hand' });
  const doc = await withLibrary(root, async (lib) => {
    await lib.scan();
    await lib.link(f.path, `urn:air:sd1:lora:civitai:${modelId}@${versionId}`);
    return lib.export();
  });
  const text = JSON.stringify(doc);
  expect(text).not.toContain(tmp.path);
  const copy = newRoot();
  writeModel(copy, 'elsewhere/renamed.safetensors', f.bytes);
  const lib = await Library.open([copy], { civitai: false });
  try {
    await lib.scan({ offline: true });
    await expect(lib.import({ format: 'something-else' })).rejects.toThrow(/not a modeldeck export/);
    // A model that is not a valid entry is left out and named; the rest of the document still applies.
    expect(await lib.import({ ...doc, models: [{ path: 'x' }] })).toEqual({ models: 1, matched: 0, matchedBySha256: 0, matchedByFingerprint: 0, unmatched: [], rejected: ['models[0]: size is not a byte count'] });
    expect(lib.get('elsewhere/renamed.safetensors')!.civitai.status).toBe('unknown');
    const r = await lib.import(JSON.parse(text));
    expect(r).toEqual({ models: 1, matched: 1, matchedBySha256: 1, matchedByFingerprint: 0, unmatched: [], rejected: [] });
    expect(lib.get('elsewhere/renamed.safetensors')!.civitai.link).toMatchObject({ versionId, matchedBy: 'manual' });
  } finally {
    await lib.close();
  }
});
