/**
 * A1111's hash cache `cache.json` (sidecar-formats.md §2.3): titles, the
 * mtime rule (hit only when the file on disk is not newer than the cache
 * entry), the addnet subsection, and finding the file from a library root.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findA1111CacheFor, loadA1111Cache } from '../src/core/sidecars';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-a1111-cache-');
const SHA = '31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b';
const ADDNET = 'aa'.repeat(32);
const LORA_SHA = 'bb'.repeat(32);
const T = 1690000000.123; // cached mtime, float seconds as Python writes it

function webui(name: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, 'models', 'Stable-diffusion', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'models', 'Lora', 'styles'), { recursive: true });
  const cache = {
    hashes: {
      'checkpoint/sd_xl_base_1.0.safetensors': { mtime: T, sha256: SHA },
      'checkpoint/sub/nested.ckpt': { mtime: T, sha256: SHA },
      'lora/old_style': { mtime: T, sha256: LORA_SHA },
      'checkpoint/broken.safetensors': { mtime: 'yesterday', sha256: SHA },
    },
    'hashes-addnet': { 'lora/add_detail': { mtime: T, sha256: ADDNET } },
    'safetensors-metadata': { 'lora/add_detail': { mtime: T, value: { ss_output_name: 'add_detail' } } },
  };
  writeFileSync(join(dir, 'cache.json'), JSON.stringify(cache, null, 4));
  return dir;
}

test('lookup by title: upper-case SHA256 when the file is not newer than the cached mtime', async () => {
  const dir = webui('a');
  const warnings: string[] = [];
  const cache = (await loadA1111Cache(join(dir, 'cache.json'), { onWarning: (w) => warnings.push(w) }))!;
  expect(cache).not.toBeNull();
  expect(cache.lookup('checkpoint/sd_xl_base_1.0.safetensors', T * 1000)).toBe(SHA.toUpperCase());
  expect(cache.lookup('checkpoint/sd_xl_base_1.0.safetensors', T * 1000 - 5000)).toBe(SHA.toUpperCase());
  // Modified after A1111 hashed it: a miss.
  expect(cache.lookup('checkpoint/sd_xl_base_1.0.safetensors', T * 1000 + 2000)).toBeNull();
  expect(cache.lookup('checkpoint/unknown.safetensors', 0)).toBeNull();
  // The addnet hash is not a SHA256: only lookupAddnet returns it.
  expect(cache.lookup('lora/add_detail', T * 1000)).toBeNull();
  expect(cache.lookupAddnet('lora/add_detail', T * 1000)).toBe(ADDNET.toUpperCase());
  expect(cache.lookupAddnet('lora/add_detail', T * 1000 + 2000)).toBeNull();
  expect(warnings).toEqual([expect.stringMatching(/cache\.json: 1 unusable entry skipped/)]);
});

test('lookupFile/hashesForFile build A1111 titles from the file path', async () => {
  const dir = webui('b');
  const cache = (await loadA1111Cache(join(dir, 'cache.json')))!;
  const sd = join(dir, 'models', 'Stable-diffusion');
  const lora = join(dir, 'models', 'Lora');
  const at = T * 1000;
  // checkpoint/<path relative to models/Stable-diffusion, with extension>
  expect(cache.lookupFile(join(sd, 'sd_xl_base_1.0.safetensors'), at)).toBe(SHA.toUpperCase());
  expect(cache.lookupFile(join(sd, 'sub', 'nested.ckpt'), at)).toBe(SHA.toUpperCase());
  expect(cache.lookupFile(join(sd, 'nested.ckpt'), at)).toBeNull();
  // lora/<base name without extension, no subfolder>; addnet for safetensors, SHA256 for .pt
  expect(cache.hashesForFile(join(lora, 'styles', 'add_detail.safetensors'), at)).toEqual({ AutoV3: 'AAAAAAAAAAAA', AutoV3Full: ADDNET.toUpperCase() });
  expect(cache.hashesForFile(join(lora, 'old_style.pt'), at)).toEqual({ SHA256: LORA_SHA.toUpperCase() });
  // A file outside this webui's model folders has no title here.
  expect(cache.lookupFile(join(tmp.path, 'elsewhere', 'sd_xl_base_1.0.safetensors'), at)).toBeNull();
});

test('a missing, invalid or foreign cache.json loads as null (with a warning when it is broken)', async () => {
  const dir = join(tmp.path, 'bad');
  mkdirSync(dir);
  const warnings: string[] = [];
  expect(await loadA1111Cache(join(dir, 'cache.json'))).toBeNull();
  writeFileSync(join(dir, 'cache.json'), '{"hashes": {');
  expect(await loadA1111Cache(join(dir, 'cache.json'), { onWarning: (w) => warnings.push(w) })).toBeNull();
  expect(warnings[0]).toMatch(/^cache\.json: invalid JSON/);
  writeFileSync(join(dir, 'cache.json'), JSON.stringify({ someOtherTool: true }));
  expect(await loadA1111Cache(join(dir, 'cache.json'))).toBeNull();
});

test('findA1111CacheFor looks in the root, its parent and its grandparent', async () => {
  const dir = webui('c');
  const expected = join(dir, 'cache.json');
  expect(await findA1111CacheFor(dir)).toBe(expected);
  expect(await findA1111CacheFor(join(dir, 'models'))).toBe(expected);
  expect(await findA1111CacheFor(join(dir, 'models', 'Lora'))).toBe(expected);
  expect(await findA1111CacheFor(join(dir, 'models', 'Lora', 'styles'))).toBeNull();
});
