/**
 * Writing `.civitai.info` and merging A1111's `.json`: Civitai's key names,
 * 4-space indent, no token, readable back; the user's keys kept; broken files
 * left alone; every write inside the library root.
 */
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseModel, parseModelVersion, type ModelVersion } from '../src/core/civitai';
import {
  checkedTarget,
  htmlToText,
  mergeA1111Json,
  readPeerSidecars,
  sanitizeFileName,
  sdVersionOf,
  activationText,
  writeCivitaiInfo,
  addParentToCivitaiInfo,
  UnsafePathError,
} from '../src/core/sidecars';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-sidecars-write-');
const SHA = 'B76A1FC247DB893BC8C1290420F0E96B6F86129576A9FB885C20CB7EDBEFEEA5';
const FIXTURE = join(__dirname, 'fixtures', 'civitai', 'THIRDPARTY-GENERATED_civitai-info_1421739_LORA_by-si-ryao-cli.civitai.info');
const ctx = { where: 'test', downloadBase: 'https://civitai.com', siteBase: 'https://civitai.com' };

let n = 0;
function library(): { root: string; dir: string; model: string; base: string } {
  const root = join(tmp.path, `lib-${++n}`);
  const dir = join(root, 'models', 'Lora');
  mkdirSync(dir, { recursive: true });
  const model = join(dir, 'choke hold «rnc».safetensors');
  writeFileSync(model, Buffer.alloc(16));
  return { root, dir, model, base: model.replace(/\.safetensors$/, '') };
}

function fixtureVersion(): ModelVersion {
  const raw = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  raw.description = '<p>Line &amp; one<br>two</p><script>alert(1)</script><ul><li>a</li><li>b &lt;i&gt;</li></ul>';
  raw.files[0].downloadUrl = 'https://civitai.com/api/download/models/1421739?type=Model&token=SECRET-TOKEN-123';
  return parseModelVersion(raw, ctx);
}

describe('writeCivitaiInfo', () => {
  test('writes the by-hash body: Civitai key names, 4-space indent, no token, readable back', async () => {
    const lib = library();
    const version = fixtureVersion();
    // Defensive: even a URL that kept a token on its way here is cleaned.
    version.downloadUrl += '?token=SECRET-TOKEN-123';
    version.images[0] = { ...version.images[0], url: version.images[0].url + '?token=SECRET-TOKEN-123' };
    const r = await writeCivitaiInfo(lib.root, lib.model, version, { now: 1_700_000_000_000 });
    expect(r.written).toBe(true);
    expect(r.file).toBe(lib.base + '.civitai.info');
    const text = readFileSync(r.file, 'utf8');
    expect(text).not.toMatch(/token/i);
    expect(text).toMatch(/^\{\n {4}"id": 1421739,\n {4}"modelId": 902206,\n {4}"name": "IL_v1\.0",/);
    // Python json.dumps default: non-ASCII escaped.
    expect(/^[\x00-\x7f]*$/.test(text)).toBe(true);
    const body = JSON.parse(text);
    expect(Object.keys(body)).toEqual(expect.arrayContaining(['id', 'modelId', 'name', 'trainedWords', 'baseModel', 'description', 'model', 'files', 'images', 'downloadUrl', 'stats']));
    expect(body.model).toEqual({ name: '(IL+Pony) Rear Naked Choke / 裸絞め', type: 'LORA', nsfw: true, poi: false });
    expect(Object.keys(body.files[0])).toEqual(['id', 'sizeKB', 'name', 'type', 'pickleScanResult', 'virusScanResult', 'metadata', 'hashes', 'primary', 'downloadUrl']);
    expect(Object.keys(body.files[0].hashes)).toEqual(['AutoV1', 'AutoV2', 'SHA256', 'CRC32', 'BLAKE3', 'AutoV3']);
    expect(body.files[0].downloadUrl).toBe('https://civitai.com/api/download/models/1421739?type=Model');
    // The fixture's images have `"meta": null`: left out (CHZ's "use preview prompt" fails on null).
    expect(Object.keys(body.images[0])).toEqual(['url', 'nsfwLevel', 'width', 'height', 'hash', 'type']);
    // Without the parent model nothing of it is guessed.
    expect(body.creator).toBeUndefined();
    expect(body.model.tags).toBeUndefined();
    expect(body.extensions.modeldeck.last_update).toBe(1_700_000_000);
    // Our own reader takes it back (given the size of the file Civitai describes, so its hashes are adopted).
    const back = await readPeerSidecars(lib.model, { modelSize: Math.round(166553.16015625 * 1024) });
    expect(back.warnings).toEqual([]);
    expect(back.civitai).toEqual({ modelId: 902206, versionId: 1421739, notFound: false, source: 'civitai-info' });
    expect(back.hashes.SHA256?.value).toBe(SHA);
    expect(back.trainedWords).toEqual(['choke hold \\(rnc\\)']);
    expect(readdirSync(lib.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('with the parent model: CHZ\'s fields under `model`, `creator` at the top; `updatedAt` after `createdAt`; `meta` kept when there is one', async () => {
    const lib = library();
    const version = { ...fixtureVersion(), updatedAt: '2025-02-03T04:05:06.000Z' };
    version.images[1] = { ...version.images[1], meta: { prompt: 'a choke hold', steps: 28 } };
    const parent = parseModel(
      {
        id: 902206,
        name: 'x',
        description: '<p>parent</p>',
        tags: ['concept', 'pose'],
        allowNoCredit: false,
        allowCommercialUse: '{Image,RentCivit}',
        allowDerivatives: true,
        allowDifferentLicense: false,
        creator: { username: 'someone', image: 'https://image.civitai.com/a/b/width=96/c.jpeg?token=SECRET-TOKEN-123' },
        modelVersions: [],
      },
      ctx,
    );
    await writeCivitaiInfo(lib.root, lib.model, version, { parent });
    const text = readFileSync(lib.base + '.civitai.info', 'utf8');
    expect(text).not.toMatch(/token/i);
    const body = JSON.parse(text);
    expect(Object.keys(body).slice(0, 5)).toEqual(['id', 'modelId', 'name', 'createdAt', 'updatedAt']);
    expect(body.updatedAt).toBe('2025-02-03T04:05:06.000Z');
    expect(body.model).toEqual({
      name: '(IL+Pony) Rear Naked Choke / 裸絞め',
      type: 'LORA',
      nsfw: true,
      poi: false,
      description: '<p>parent</p>',
      tags: ['concept', 'pose'],
      allowNoCredit: false,
      allowCommercialUse: ['Image', 'RentCivit'],
      allowDerivatives: true,
      allowDifferentLicense: false,
    });
    expect(body.creator).toEqual({ username: 'someone', image: 'https://image.civitai.com/a/b/width=96/c.jpeg' });
    expect(body.images[1].meta).toEqual({ prompt: 'a choke hold', steps: 28 });
    expect('meta' in body.images[0]).toBe(false);
    // A parent that is not this version's model is not mixed in.
    await writeCivitaiInfo(lib.root, lib.model, version, { parent: { ...parent, id: 1 } });
    expect(JSON.parse(readFileSync(lib.base + '.civitai.info', 'utf8')).creator).toBeUndefined();
  });

  test('addParentToCivitaiInfo: adds the parent\'s fields to our own file only, keeping the rest', async () => {
    const lib = library();
    const parent = parseModel({ id: 902206, name: 'x', tags: ['t'], allowNoCredit: true, creator: { username: 'u', image: null }, modelVersions: [] }, ctx);
    const file = lib.base + '.civitai.info';
    const theirs = JSON.stringify({ id: 1421739, modelId: 902206, model: { name: 'n' } });
    writeFileSync(file, theirs);
    expect((await addParentToCivitaiInfo(lib.root, lib.model, parent)).written).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(theirs);
    await writeCivitaiInfo(lib.root, lib.model, fixtureVersion(), { overwrite: true });
    const before = JSON.parse(readFileSync(file, 'utf8'));
    expect((await addParentToCivitaiInfo(lib.root, lib.model, { ...parent, id: 5 })).skipped).toMatch(/describes model 902206, not 5/);
    expect((await addParentToCivitaiInfo(lib.root, lib.model, parent)).written).toBe(true);
    const after = JSON.parse(readFileSync(file, 'utf8'));
    expect(after.model).toEqual({ ...before.model, description: null, tags: ['t'], allowNoCredit: true, allowCommercialUse: [] });
    expect(after.creator).toEqual({ username: 'u', image: null });
    expect(after.files).toEqual(before.files);
    expect(after.images).toEqual(before.images);
  });

  test('replaces `{}` and its own file, keeps a CHZ extensions block, but not another tool\'s file unless overwrite', async () => {
    const lib = library();
    const file = lib.base + '.civitai.info';
    writeFileSync(file, JSON.stringify({ extensions: { sd_civitai_helper: { version: '1.8.13', skeleton_file: true } } }));
    expect((await writeCivitaiInfo(lib.root, lib.model, fixtureVersion())).written).toBe(true);
    const ext = JSON.parse(readFileSync(file, 'utf8')).extensions;
    expect(ext.sd_civitai_helper).toEqual({ version: '1.8.13', skeleton_file: true });
    expect(ext.modeldeck).toBeDefined();
    expect((await writeCivitaiInfo(lib.root, lib.model, fixtureVersion())).written).toBe(true); // ours: replaced

    const theirs = JSON.stringify({ id: 1, modelId: 2, name: 'theirs' }, null, 4);
    writeFileSync(file, theirs);
    const r = await writeCivitaiInfo(lib.root, lib.model, fixtureVersion());
    expect(r.written).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(theirs);
    expect((await writeCivitaiInfo(lib.root, lib.model, fixtureVersion(), { overwrite: true })).written).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).id).toBe(1421739);
  });
});

describe('mergeA1111Json', () => {
  test('creates the file from a version: activation text, sd version, plain-text description, preferred weight 0 for a LoRA', async () => {
    const lib = library();
    const r = await mergeA1111Json(lib.root, lib.model, fixtureVersion(), 'lora');
    expect(r.written).toBe(true);
    const text = readFileSync(lib.base + '.json', 'utf8');
    expect(text.startsWith('{\n    "activation text"')).toBe(true);
    expect(JSON.parse(text)).toEqual({
      'activation text': 'choke hold \\(rnc\\)',
      'sd version': 'SDXL',
      description: 'Line & one\ntwo\n- a\n- b &lt;i&gt;',
      'preferred weight': 0,
    });
  });

  test('a base Civitai calls "Other": no `sd version` (A1111 keeps its own detection); the parent\'s description wins over the version\'s', async () => {
    const lib = library();
    const version = { ...fixtureVersion(), baseModel: 'Other' };
    const parent = parseModel({ id: 902206, name: 'x', description: '<p>The <i>model</i> page</p>', modelVersions: [] }, ctx);
    await mergeA1111Json(lib.root, lib.model, version, 'lora', { parent });
    expect(JSON.parse(readFileSync(lib.base + '.json', 'utf8'))).toEqual({
      'activation text': 'choke hold \\(rnc\\)',
      description: 'The model page',
      'preferred weight': 0,
    });
  });

  test('never drops or overwrites keys the user wrote; fills only missing or empty ones', async () => {
    const lib = library();
    const user = { 'activation text': 'my words', description: '', notes: 'my notes', 'preferred weight': 0.7, 'sd version': 'SD1', unpackList: ['x'] };
    writeFileSync(lib.base + '.json', JSON.stringify(user));
    await mergeA1111Json(lib.root, lib.model, fixtureVersion(), 'lora');
    const merged = JSON.parse(readFileSync(lib.base + '.json', 'utf8'));
    expect(merged).toEqual({ ...user, description: 'Line & one\ntwo\n- a\n- b &lt;i&gt;' });
    // overwrite names the keys that may be replaced
    await mergeA1111Json(lib.root, lib.model, { 'activation text': 'new', notes: 'not this' }, undefined, { overwrite: ['activation text'] });
    const again = JSON.parse(readFileSync(lib.base + '.json', 'utf8'));
    expect(again['activation text']).toBe('new');
    expect(again.notes).toBe('my notes');
    expect(again.unpackList).toEqual(['x']);
  });

  test('an existing file that is not valid JSON (or not an object) is left byte-for-byte untouched, with a warning', async () => {
    const lib = library();
    for (const content of ['{"activation text": "mine", oops', '["not", "an", "object"]']) {
      writeFileSync(lib.base + '.json', content);
      const r = await mergeA1111Json(lib.root, lib.model, fixtureVersion(), 'lora');
      expect(r.written).toBe(false);
      expect(r.warnings[0]).toMatch(/left untouched/);
      expect(readFileSync(lib.base + '.json', 'utf8')).toBe(content);
    }
  });

  test('activation text, sd version and description helpers', () => {
    expect(activationText(['a', ' b ', ''])).toBe('a, b');
    // A1111 pastes it into the prompt as is: `", "` always, no stray commas at a word's ends.
    expect(activationText(['red, hair', 'blue eyes,', ', smile'])).toBe('red, hair, blue eyes, smile');
    expect(sdVersionOf('SD 1.5')).toBe('SD1');
    expect(sdVersionOf('SD 1.5 LCM')).toBe('SD1');
    expect(sdVersionOf('SD 2.1 768')).toBe('SD2');
    expect(sdVersionOf('SDXL 1.0')).toBe('SDXL');
    expect(sdVersionOf('Pony')).toBe('SDXL');
    expect(sdVersionOf('Illustrious')).toBe('SDXL');
    // Families A1111 would misfile from the file's own metadata: Unknown.
    expect(sdVersionOf('Flux.1 D')).toBe('Unknown');
    expect(sdVersionOf('SD 3.5 Large')).toBe('Unknown');
    expect(sdVersionOf('Pony V7')).toBe('Unknown');
    // A base that says nothing: no value, so A1111 keeps its own detection.
    for (const nothing of [null, undefined, '', '  ', 'Other']) expect(sdVersionOf(nothing)).toBeUndefined();
    expect(htmlToText('<p>a<!-- c --></p><style>p{}</style><img src=x onerror=alert(1)>b &#x3C;script&#x3E; &#0; &bogus;')).toBe('a\nb &lt;script&gt;  &bogus;'.replace('  ', ' '));
  });
});

describe('path safety', () => {
  test('a model in a symlinked folder that points outside the root: writes refused with a clear error', async () => {
    const lib = library();
    const outside = join(tmp.path, `outside-${n}`);
    mkdirSync(outside);
    symlinkSync(outside, join(lib.root, 'linked'));
    const model = join(lib.root, 'linked', 'evil.safetensors');
    writeFileSync(model, Buffer.alloc(8));
    const err = await mergeA1111Json(lib.root, model, { notes: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect(err.code).toBe('unsafe_path');
    expect(err.message).toMatch(/evil\.json: refused to write: its folder resolves to .*outside the library root/);
    await expect(writeCivitaiInfo(lib.root, model, fixtureVersion())).rejects.toThrow(UnsafePathError);
    expect(readdirSync(outside)).toEqual(['evil.safetensors']);
  });

  test('targets outside the root lexically, and unsafe names, are refused', async () => {
    const lib = library();
    await expect(checkedTarget(lib.root, join(lib.root, '..', 'x.json'))).rejects.toThrow(/outside the library root/);
    await expect(checkedTarget(lib.root, join(lib.dir, 'a\u0001b.json'))).rejects.toThrow(/control character/);
    await expect(checkedTarget(lib.root, join(lib.dir, 'x'.repeat(300) + '.json'))).rejects.toThrow(/longer than 255 bytes/);
    expect(await checkedTarget(lib.root, join(lib.dir, 'ok name «é».json'))).toMatch(/ok name «é»\.json$/);
    expect(existsSync(join(lib.root, '..', 'x.json'))).toBe(false);
  });

  test('sanitizeFileName makes a Civitai name a single safe file name', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('____etc_passwd');
    expect(sanitizeFileName('a\\b/c\u0000d')).toBe('a_b_c_d');
    expect(sanitizeFileName('..')).toBe('_');
    expect(Buffer.byteLength(sanitizeFileName('é'.repeat(300)))).toBeLessThanOrEqual(255);
  });
});
