/**
 * The snapshot read row by row (snapshot-rows.ts) against real files: the same
 * entries as a whole-file read for rows whose strings hold brackets, quotes,
 * backslashes and multi-byte characters, rows across the 1 MiB reads, and every
 * other layout read whole as before.
 */
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEntry } from '../src/core/library/index-codec';
import { IndexStore, INDEX_DIR } from '../src/core/library/index-store';
import { readSnapshotRows } from '../src/core/library/snapshot-rows';
import type { ModelEntry } from '../src/core/library/types';

const SHA = 'AB'.repeat(32);

function entry(i: number, name = `model ${i}`): ModelEntry {
  return {
    path: `models/Lora/${name}.safetensors`,
    size: 1000 + i,
    mtimeMs: 1_700_000_000_000 + i,
    fingerprint: `${1000 + i}:abc`,
    hashes: { SHA256: SHA, AutoV2: SHA.slice(0, 10) },
    hashSources: { SHA256: 'computed', AutoV2: 'computed' },
    verified: true,
    kind: 'lora',
    baseModel: 'sdxl',
    evidence: [],
    conflicts: [],
    civitai: { status: 'unknown' },
    addedAt: 5,
    warnings: i % 3 === 0 ? [`odd text ] } [ { " \\ \\" , ${'x'.repeat(i % 50)}`] : [],
  };
}

const TRICKY = ['a [b] {c}', 'quote " and backslash \\', 'ends with backslash \\\\', 'ümlaut ✓ 日本', 'comma, ], ["x"'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'modeldeck-rows-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeSnapshot(text: string): string {
  const file = join(dir, INDEX_DIR, 'index.json');
  require('node:fs').mkdirSync(join(dir, INDEX_DIR), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const snapshotText = (entries: ModelEntry[], space?: number) => JSON.stringify({ format: 1, tool: 'modeldeck', savedAt: 7, rows: entries.map(encodeEntry) }, null, space);

async function rowsOf(file: string): Promise<{ kind: string; rows: unknown[][] }> {
  const fh = await open(file, 'r');
  try {
    const rows: unknown[][] = [];
    const read = await readSnapshotRows(fh, (await fh.stat()).size, (r) => rows.push(r));
    return { kind: read.kind, rows };
  } finally {
    await fh.close();
  }
}

test('rows with brackets, quotes, backslashes and multi-byte text, across 1 MiB reads, come out as JSON.parse gives them', async () => {
  // ~3 MiB: rows cross the reads' edges at every kind of byte.
  const entries = Array.from({ length: 20000 }, (_, i) => entry(i, `${TRICKY[i % TRICKY.length]} ${i}`));
  const text = snapshotText(entries);
  expect(Buffer.byteLength(text)).toBeGreaterThan(3 * (1 << 20));
  const file = writeSnapshot(text);
  const read = await rowsOf(file);
  expect(read.kind).toBe('ok');
  expect(read.rows).toEqual(JSON.parse(text).rows);

  const store = await IndexStore.load(dir);
  expect(store.size).toBe(entries.length);
  expect(store.get(entries[4].path)).toEqual(entries[4]);
  expect(store.get(entries[19999].path)).toEqual(entries[19999]);
  expect(store.loadWarnings).toEqual([]);
});

test('a row longer than one read is read whole', async () => {
  // Each text within the schema's limit, the row ~3.6 MB.
  const big = { ...entry(1), warnings: Array.from({ length: 40 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(90_000)) };
  const file = writeSnapshot(snapshotText([entry(0), big, entry(2)]));
  const read = await rowsOf(file);
  expect(read.kind).toBe('ok');
  expect(read.rows.map((r) => r[0])).toEqual([entry(0).path, big.path, entry(2).path]);
  const warnings = (await IndexStore.load(dir)).get(big.path)?.warnings ?? [];
  // Compared as one boolean: a failing diff of 3.6 MB of text helps no one.
  expect(warnings.length === big.warnings.length && warnings.every((w, i) => w === big.warnings[i])).toBe(true);
});

test.each<[string, (text: string) => string]>([
  ['pretty-printed', () => snapshotText([entry(0), entry(1)], 2)],
  ['keys in another order', () => JSON.stringify({ tool: 'modeldeck', format: 1, savedAt: 7, rows: [entry(0), entry(1)].map(encodeEntry) })],
  ['a newline after it', (t) => t + '\n'],
])('another layout (%s) is read whole, to the same entries', async (_name, make) => {
  const file = writeSnapshot(make(snapshotText([entry(0), entry(1)])));
  expect((await rowsOf(file)).kind).toBe('other');
  const store = await IndexStore.load(dir);
  expect([...store.all()]).toEqual([entry(0), entry(1)]);
  expect(store.loadWarnings).toEqual([]);
});

test('a damaged row is dropped with its warning, a non-row counted, a torn file set aside, as when read whole', async () => {
  const good = encodeEntry(entry(0));
  const bad = encodeEntry(entry(1));
  bad[1] = 'not a size';
  const text = JSON.stringify({ format: 1, tool: 'modeldeck', savedAt: 7, rows: [good, bad, [5, 'no path'], encodeEntry(entry(2))] });
  writeSnapshot(text);
  const store = await IndexStore.load(dir);
  expect([...store.all()]).toEqual([entry(0), entry(2)]);
  expect(store.loadWarnings).toHaveLength(2);
  expect(store.loadWarnings[0]).toMatch(/the entry of ".*model 1\.safetensors" is damaged \(size is not a byte count\) and was dropped/);
  expect(store.loadWarnings[1]).toMatch(/1 damaged entries skipped/);

  // Cut in the middle of a row: not an index any more, kept aside (never half read).
  writeSnapshot(text.slice(0, text.length - 40));
  const torn = await IndexStore.load(dir);
  expect(torn.size).toBe(0);
  expect(torn.loadWarnings[0]).toMatch(/not a modeldeck index of format 1; kept as/);
  expect(readdirSync(join(dir, INDEX_DIR)).some((f) => f.startsWith('index.json.unreadable-'))).toBe(true);
});

test('a snapshot of another format is not read row by row, and is set aside as before', async () => {
  const file = writeSnapshot(JSON.stringify({ format: 2, tool: 'modeldeck', savedAt: 7, rows: [encodeEntry(entry(0))] }));
  expect((await rowsOf(file)).kind).toBe('ok');
  const store = await IndexStore.load(dir);
  expect(store.size).toBe(0);
  expect(store.loadWarnings[0]).toMatch(/not a modeldeck index of format 1/);
});
