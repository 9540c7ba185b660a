import { decodeEntry, encodeEntry } from '../src/core/library/index-codec';
import type { ModelEntry } from '../src/core/library/types';

const SHA = 'AB'.repeat(32);
const V3 = 'CD'.repeat(32);

const base: ModelEntry = {
  path: 'models/Lora/sub dir/x ✓.safetensors',
  size: 123,
  mtimeMs: 1700000000123.456,
  fingerprint: '123:abcdef',
  hashes: { SHA256: SHA, AutoV2: SHA.slice(0, 10), AutoV1: '12345678', AutoV3: V3.slice(0, 12), AutoV3Full: V3 },
  hashSources: { SHA256: 'computed', AutoV2: 'computed', AutoV1: 'computed', AutoV3: 'computed' },
  verified: true,
  kind: 'lora',
  baseModel: 'sdxl',
  folderKind: 'lora',
  evidence: ['tensor lora_unet_* keys'],
  conflicts: [],
  civitai: {
    status: 'found',
    checkedAt: 5,
    link: { modelId: 1, versionId: 2, modelName: 'M', versionName: 'v', type: 'LORA', baseModel: 'SDXL 1.0', trainedWords: ['w'], nsfwLevel: 1, pageUrl: 'https://civitai.com/models/1?modelVersionId=2', matchedBy: 'SHA256' },
  },
  preview: 'models/Lora/sub dir/x ✓.preview.png',
  addedAt: 9,
  warnings: [],
};

test.each<[string, ModelEntry]>([
  ['a computed, identified entry', base],
  [
    'adopted hashes, a red-host page, a preview elsewhere, manual edits, warnings and an error',
    {
      ...base,
      hashes: { SHA256: SHA, AutoV2: SHA.slice(0, 10), AutoV3: 'EF'.repeat(6) },
      hashSources: { SHA256: 'civitai-info', AutoV2: 'civitai-info', AutoV3: 'header' },
      verified: false,
      folderKind: undefined,
      conflicts: ['the folder says vae, the file says lora'],
      civitai: {
        status: 'found',
        link: { ...base.civitai.link!, pageUrl: 'https://civitai.red/models/1?modelVersionId=2', matchedBy: 'manual' },
        lastError: { code: 'civitai_offline', message: 'down', at: 3 },
      },
      manual: { link: { modelId: 1, versionId: 2, input: 'urn:air:sdxl:lora:civitai:1@2', at: 4 }, hashes: { AutoV3: 'EF'.repeat(6) } },
      preview: 'elsewhere/p.png',
      warnings: ['odd'],
    },
  ],
  ['an identified entry whose sidecars still wait for the parent model', { ...base, civitai: { ...base.civitai, parentPending: true } }],
  ['an entry never looked up, no preview', { ...base, hashes: {}, hashSources: {}, civitai: { status: 'unknown' }, preview: undefined, folderKind: undefined }],
])('%s survives the compact snapshot form unchanged', (_name, entry) => {
  const row = JSON.parse(JSON.stringify(encodeEntry(entry)));
  const decoded = decodeEntry(row);
  if (!('entry' in decoded)) throw new Error(decoded.error);
  const back = decoded.entry;
  const clean = JSON.parse(JSON.stringify(entry));
  expect(JSON.parse(JSON.stringify(back))).toEqual(clean);
});

test('the parent-pending mark is one more element, only when set (rows stay as short, older readers ignore it)', () => {
  expect((encodeEntry(base)[12] as unknown[]).length).toBe(4);
  expect((encodeEntry({ ...base, civitai: { ...base.civitai, parentPending: true } })[12] as unknown[]).slice(4)).toEqual([1]);
});

test('the compact form is smaller, and a damaged row is refused', () => {
  expect(JSON.stringify(encodeEntry(base)).length).toBeLessThan(JSON.stringify(base).length * 0.7);
  expect(decodeEntry({ path: 'x' })).toEqual({ error: 'not an index row' });
  expect(decodeEntry(['x', 'not a size'])).toEqual({ error: 'not an index row' });
  const badSize = encodeEntry(base);
  badSize[1] = 'not a size';
  expect(decodeEntry(badSize)).toEqual({ error: 'size is not a byte count' });
});

describe('a HuggingFace origin', () => {
  const origin = { repo: 'acme/lora', revision: 'main', path: 'sub/x.safetensors', commit: 'a'.repeat(40), license: 'openrail++', baseModels: ['stabilityai/stable-diffusion-xl-base-1.0'] };

  test('survives the snapshot form, with and without ignored updates', () => {
    for (const entry of [{ ...base, huggingFace: origin }, { ...base, huggingFace: { repo: 'acme/lora', revision: 'v1', path: 'x.safetensors' } }, { ...base, updates: { version: 7 }, huggingFace: origin }]) {
      const decoded = decodeEntry(JSON.parse(JSON.stringify(encodeEntry(entry))));
      if (!('entry' in decoded)) throw new Error(decoded.error);
      expect(decoded.entry).toEqual(entry);
    }
  });

  test('without ignores it puts {} in their place (a reader from before takes it for none), and rows without either stay 17 long', () => {
    const row = encodeEntry({ ...base, huggingFace: origin });
    expect(row.slice(17)).toEqual([{}, origin]);
    expect(encodeEntry(base)).toHaveLength(17);
    const decoded = decodeEntry(JSON.parse(JSON.stringify(row)));
    expect('entry' in decoded && decoded.entry.updates).toBe(undefined);
  });

  test('an old row (no field) decodes without one', () => {
    const decoded = decodeEntry(JSON.parse(JSON.stringify(encodeEntry(base))));
    expect('entry' in decoded && 'huggingFace' in decoded.entry).toBe(false);
  });

  test.each<[string, unknown, RegExp]>([
    ['a repo that climbs out', { ...origin, repo: '../../etc' }, /huggingFace\.repo/],
    ['a path with ..', { ...origin, path: 'a/../../x' }, /huggingFace\.path/],
    ['a license with a line break', { ...origin, license: 'mit\n\u001b[31mred' }, /huggingFace\.license/],
    ['a commit that is not one', { ...origin, commit: 'main' }, /huggingFace\.commit/],
    ['base models that are not names', { ...origin, baseModels: [{ x: 1 }] }, /huggingFace\.baseModels/],
    ['an unknown key', { ...origin, token: 'hf_x' }, /unknown keys/],
    ['not an object', 'acme/lora', /not an object/],
  ])('a row with %s is refused with the reason', (_name, value, reason) => {
    const row = encodeEntry(base);
    row.push({}, value);
    const decoded = decodeEntry(JSON.parse(JSON.stringify(row)));
    expect('error' in decoded && decoded.error).toMatch(reason);
  });
});

test('decoded entries share one frozen empty list and one frozen sources object per combination; hostile hash fields are still refused', () => {
  const decode = (e: ModelEntry, edit: (row: unknown[]) => void = () => undefined) => {
    const row = JSON.parse(JSON.stringify(encodeEntry(e))) as unknown[];
    edit(row);
    return decodeEntry(row);
  };
  const a = decode(base);
  const b = decode({ ...base, path: 'models/Lora/other.safetensors', evidence: [] });
  if (!('entry' in a) || !('entry' in b)) throw new Error('not decoded');
  // Shared and frozen: an entry is replaced when it changes, so nothing may write into these.
  expect(a.entry.conflicts).toBe(b.entry.evidence);
  expect(Object.isFrozen(a.entry.warnings)).toBe(true);
  expect(() => (a.entry.warnings as string[]).push('x')).toThrow(TypeError);
  expect(a.entry.hashSources).toBe(b.entry.hashSources);
  expect(Object.isFrozen(a.entry.hashSources)).toBe(true);
  // Another combination of sources is another object, with its own values.
  const adopted = decode({ ...base, hashSources: { ...base.hashSources, SHA256: 'civitai-info' } });
  if (!('entry' in adopted)) throw new Error(adopted.error);
  expect(adopted.entry.hashSources).toEqual({ SHA256: 'civitai-info', AutoV1: 'computed', AutoV2: 'civitai-info', AutoV3: 'computed' });
  // A key that is no hash name, a hash that is no hex digest, a source that is none, a list that is no list: refused, as before.
  expect(decode(base, (r) => ((r[4] as Record<string, unknown>).EVIL = 'ABCDEF12'))).toEqual({ error: 'hashes are not hex digests' });
  expect(decode(base, (r) => ((r[4] as Record<string, unknown>).SHA256 = '../../etc'))).toEqual({ error: 'hashes are not hex digests' });
  expect(decode(base, (r) => (r[5] = { SHA256: 'made-up' }))).toEqual({ error: 'hashSources are invalid' });
  expect(decode(base, (r) => (r[16] = { length: 0 }))).toEqual({ error: 'evidence, conflicts or warnings are not lists of strings' });
});
