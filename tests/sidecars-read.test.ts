/**
 * Reading the sidecars other tools leave beside a model (sidecar-formats.md
 * §2–§8): each format, "looked up, not found" markers, hostile files, and
 * which tool wins when they disagree.
 */
import { copyFileSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPeerSidecars, findPreview } from '../src/core/sidecars';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-sidecars-read-');
let n = 0;
/** A fresh folder with a (tiny, or sparse `size`) model file in it. */
function model(name = 'model.safetensors', size = 64): { dir: string; path: string; base: string } {
  const dir = join(tmp.path, `case-${++n}`);
  mkdirSync(dir);
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  return { dir, path, base: path.replace(/\.[^.]+$/, '') };
}

const SHA = 'B76A1FC247DB893BC8C1290420F0E96B6F86129576A9FB885C20CB7EDBEFEEA5';
const OTHER_SHA = 'A5F58EB1C33616C4F06BCA55AF39876A7B817913CD829CAA8ACB111B770C85CC';
const FIXTURE = join(__dirname, 'fixtures', 'civitai', 'THIRDPARTY-GENERATED_civitai-info_1421739_LORA_by-si-ryao-cli.civitai.info');

describe('Civitai Helper .civitai.info', () => {
  test('the fixture: ids, trained words and all six hashes of the file of that size, upper-case', async () => {
    // sizeKB 166553.16015625 in the fixture = 170550436 bytes; a sparse file of that size.
    const m = model('my_renamed_lora.safetensors', 170550436);
    copyFileSync(FIXTURE, m.base + '.civitai.info');
    const p = await readPeerSidecars(m.path);
    expect(p.warnings).toEqual([]);
    expect(p.civitai).toEqual({ modelId: 902206, versionId: 1421739, notFound: false, source: 'civitai-info' });
    expect(p.trainedWords).toEqual(['choke hold \\(rnc\\)']);
    expect(p.hashes.SHA256).toEqual({ value: SHA, source: 'civitai-info' });
    expect(p.hashes.AutoV3?.value).toBe('8C0FD69AF3D1');
    expect(p.hashes.BLAKE3?.value).toBe('E8E25E0D99471B5F9EE1296EC7228B0EA892BE0ADDC57C3C9E54F48CDA3DF009');
    expect(p.hashes.CRC32?.value).toBe('65052023');
    expect(p.hashes.AutoV1?.value).toBe('28DFF7EC');
    expect(p.hashes.AutoV2?.value).toBe('B76A1FC247');
  });

  test('a .civitai.info about a file of another size lends it no hashes (stale sidecar), but keeps the ids', async () => {
    const m = model('other.safetensors', 1000);
    copyFileSync(FIXTURE, m.base + '.civitai.info');
    const p = await readPeerSidecars(m.path);
    expect(p.hashes).toEqual({});
    expect(p.civitai?.versionId).toBe(1421739);
    expect(p.warnings.join('\n')).toMatch(/other\.civitai\.info: .*hashes not adopted/);
  });

  test('with several files, the one with this file name is used', async () => {
    const m = model('pruned.safetensors', 2048);
    const body = {
      id: 5, modelId: 4, name: 'v1',
      files: [
        { name: 'full.safetensors', sizeKB: 4, hashes: { SHA256: OTHER_SHA } },
        { name: 'pruned.safetensors', sizeKB: 2, hashes: { SHA256: SHA.toLowerCase() } },
      ],
    };
    writeFileSync(m.base + '.civitai.info', JSON.stringify(body, null, 4));
    const p = await readPeerSidecars(m.path);
    expect(p.hashes.SHA256?.value).toBe(SHA);
  });

  test('`{}` means "looked up, not found"', async () => {
    const m = model();
    writeFileSync(m.base + '.civitai.info', '{}');
    const p = await readPeerSidecars(m.path);
    expect(p.civitai).toEqual({ modelId: null, versionId: null, notFound: true, source: 'civitai-info' });
    expect(p.warnings).toEqual([]);
  });

  test('an id-less object (CHZ skeleton) also means not found', async () => {
    const m = model();
    writeFileSync(m.base + '.civitai.info', JSON.stringify({ extensions: { sd_civitai_helper: { skeleton_file: true } } }));
    expect((await readPeerSidecars(m.path)).civitai?.notFound).toBe(true);
  });

  test('an empty file (CH during a Civitai outage) is not a lookup result: ignored with a warning', async () => {
    const m = model();
    writeFileSync(m.base + '.civitai.info', '');
    const p = await readPeerSidecars(m.path);
    expect(p.civitai).toBeUndefined();
    expect(p.warnings).toEqual(['model.civitai.info: empty file, ignored']);
  });
});

describe('A1111 base.json (with sd-civitai-browser-plus keys)', () => {
  test('user keys come back as userMetadata; CBP sha256 and ids are adopted', async () => {
    const m = model();
    const meta = { description: 'd', 'sd version': 'SDXL', 'activation text': 'a, b', 'preferred weight': 0.8, notes: 'mine', sha256: SHA, modelId: 902206, modelVersionId: 1421739, custom: [1] };
    writeFileSync(m.base + '.json', JSON.stringify(meta, null, 4));
    const p = await readPeerSidecars(m.path);
    expect(p.userMetadata).toEqual(meta);
    expect(p.hashes.SHA256).toEqual({ value: SHA, source: 'a1111-json' });
    expect(p.civitai).toEqual({ modelId: 902206, versionId: 1421739, notFound: false, source: 'a1111-json' });
    expect(p.warnings).toEqual([]);
  });

  test('CBP "Model not found" means not found', async () => {
    const m = model();
    writeFileSync(m.base + '.json', JSON.stringify({ modelId: 'Model not found', modelVersionId: 'Model not found', sha256: SHA }));
    const p = await readPeerSidecars(m.path);
    expect(p.civitai).toEqual({ modelId: null, versionId: null, notFound: true, source: 'a1111-json' });
    expect(p.hashes.SHA256?.value).toBe(SHA);
  });

  test('wrong-typed A1111 fields are dropped from userMetadata with a warning naming the file', async () => {
    const m = model();
    writeFileSync(m.base + '.json', JSON.stringify({ 'activation text': ['x'], 'preferred weight': 'heavy', notes: 'kept', modelId: { x: 1 } }));
    const p = await readPeerSidecars(m.path);
    expect(p.userMetadata).toEqual({ notes: 'kept', modelId: { x: 1 } });
    expect(p.civitai).toBeUndefined();
    expect(p.warnings).toHaveLength(3);
    for (const w of p.warnings) expect(w).toMatch(/^model\.json: /);
  });
});

describe('ComfyUI-Lora-Manager .metadata.json', () => {
  test('lower-case sha256, autov3, civitai object ids and trained words', async () => {
    const m = model();
    const lm = {
      file_name: 'model', model_name: 'model', file_path: m.path, size: 64, modified: 1700000000.5,
      sha256: SHA.toLowerCase(), base_model: 'SDXL 1.0', autov3: '8c0fd69af3d1', from_civitai: true,
      civitai: { id: 1421739, modelId: 902206, trainedWords: ['tw1', 'tw2'], images: [] },
      usage_tips: '{"strength":0.8}',
    };
    writeFileSync(m.base + '.metadata.json', JSON.stringify(lm, null, 2));
    const p = await readPeerSidecars(m.path);
    expect(p.hashes.SHA256).toEqual({ value: SHA, source: 'lm-metadata' });
    expect(p.hashes.AutoV3).toEqual({ value: '8C0FD69AF3D1', source: 'lm-metadata' });
    expect(p.civitai).toEqual({ modelId: 902206, versionId: 1421739, notFound: false, source: 'lm-metadata' });
    expect(p.trainedWords).toEqual(['tw1', 'tw2']);
    expect(p.warnings).toEqual([]);
  });

  test('a pending checkpoint (empty sha256) and from_civitai:false: no hash, not found, no warning', async () => {
    const m = model();
    writeFileSync(m.base + '.metadata.json', JSON.stringify({ sha256: '', hash_status: 'pending', from_civitai: false, civitai: {} }));
    const p = await readPeerSidecars(m.path);
    expect(p.hashes).toEqual({});
    expect(p.civitai?.notFound).toBe(true);
    expect(p.warnings).toEqual([]);
  });
});

describe('Stability Matrix .cm-info.json', () => {
  const cm = {
    ModelId: 902206, ModelName: 'x', ModelDescription: '<p>d</p>', Nsfw: false, Tags: [], ModelType: 'LORA',
    VersionId: 1421739, VersionName: 'IL_v1.0', VersionDescription: null, BaseModel: 'Illustrious',
    Hashes: { SHA256: SHA, CRC32: '65052023', BLAKE3: 'E8E25E0D99471B5F9EE1296EC7228B0EA892BE0ADDC57C3C9E54F48CDA3DF009' },
    TrainedWords: ['tw'], Source: 'Civitai', SourceUrl: null, ImportedAt: '2024-01-01T00:00:00+00:00',
  };

  test.each([
    ['compact (default serializer)', JSON.stringify(cm)],
    ['indented (source-generated serializer)', JSON.stringify(cm, null, 2)],
  ])('%s: hashes, ids, trained words', async (_label, text) => {
    const m = model();
    writeFileSync(m.base + '.cm-info.json', text);
    const p = await readPeerSidecars(m.path);
    expect(p.hashes.SHA256).toEqual({ value: SHA, source: 'sm-cm-info' });
    expect(p.hashes.CRC32?.value).toBe('65052023');
    expect(p.hashes.BLAKE3?.source).toBe('sm-cm-info');
    expect(p.civitai).toEqual({ modelId: 902206, versionId: 1421739, notFound: false, source: 'sm-cm-info' });
    expect(p.trainedWords).toEqual(['tw']);
    expect(p.warnings).toEqual([]);
  });

  test('ids from another source (OpenModelDb) are not taken as Civitai ids', async () => {
    const m = model();
    writeFileSync(m.base + '.cm-info.json', JSON.stringify({ ...cm, Source: 'OpenModelDb' }));
    const p = await readPeerSidecars(m.path);
    expect(p.civitai).toBeUndefined();
    expect(p.hashes.SHA256?.value).toBe(SHA);
  });
});

describe('hostile sidecars: warnings, never a throw, the others still count', () => {
  test('invalid JSON, 20 MB file, array, wrong-typed fields and non-hex hashes', async () => {
    const m = model();
    writeFileSync(m.base + '.civitai.info', '{"id": 1, "modelId": ');
    writeFileSync(m.base + '.json', Buffer.alloc(20 * 1024 * 1024, 0x20));
    writeFileSync(m.base + '.metadata.json', JSON.stringify([{ sha256: SHA }]));
    writeFileSync(m.base + '.cm-info.json', JSON.stringify({ Hashes: { SHA256: 'not-a-hash-at-all', CRC32: 'ZZZZZZZZ', BLAKE3: 42 }, ModelId: 'seven', TrainedWords: 'tw' }));
    const p = await readPeerSidecars(m.path);
    expect(p.hashes).toEqual({});
    expect(p.civitai).toBeUndefined();
    const text = p.warnings.join('\n');
    expect(text).toMatch(/^model\.civitai\.info: invalid JSON/m);
    expect(text).toMatch(/^model\.json: too large/m);
    expect(text).toMatch(/^model\.metadata\.json: expected a JSON object, got an array/m);
    expect(text).toMatch(/^model\.cm-info\.json: Hashes\.SHA256 is not a valid SHA256/m);
    expect(text).toMatch(/^model\.cm-info\.json: Hashes\.CRC32 is not a valid CRC32/m);
    expect(text).toMatch(/^model\.cm-info\.json: Hashes\.BLAKE3 is not a valid BLAKE3/m);
    expect(text).toMatch(/^model\.cm-info\.json: "ModelId" is not a positive integer/m);
    expect(text).toMatch(/^model\.cm-info\.json: "TrainedWords" is a string, not a list/m);
    for (const w of p.warnings) expect(w).not.toContain('\n');
  });

  test('one bad sidecar does not hide a good one', async () => {
    const m = model();
    writeFileSync(m.base + '.civitai.info', 'not json at all');
    writeFileSync(m.base + '.metadata.json', JSON.stringify({ sha256: SHA.toLowerCase() }));
    const p = await readPeerSidecars(m.path);
    expect(p.hashes.SHA256).toEqual({ value: SHA, source: 'lm-metadata' });
    expect(p.warnings).toHaveLength(1);
  });

  test('a hash of the wrong length is ignored; a 64-hex AutoV3 is cut to its 12-hex form', async () => {
    const m = model();
    writeFileSync(m.base + '.metadata.json', JSON.stringify({ sha256: SHA.slice(0, 60), autov3: '8C0FD69AF3D1' + '0'.repeat(52) }));
    const p = await readPeerSidecars(m.path);
    expect(p.hashes.SHA256).toBeUndefined();
    expect(p.hashes.AutoV3?.value).toBe('8C0FD69AF3D1');
    expect(p.warnings).toEqual([expect.stringMatching(/^model\.metadata\.json: "sha256" is not a valid SHA256/)]);
  });
});

describe('priorities', () => {
  test('on a SHA256 conflict civitai-info > lm-metadata > sm-cm-info > a1111-json, with a warning', async () => {
    const m = model('x.safetensors', 2048);
    writeFileSync(m.base + '.json', JSON.stringify({ sha256: OTHER_SHA }));
    writeFileSync(m.base + '.cm-info.json', JSON.stringify({ Hashes: { SHA256: OTHER_SHA } }));
    writeFileSync(m.base + '.metadata.json', JSON.stringify({ sha256: SHA.toLowerCase() }));
    let p = await readPeerSidecars(m.path);
    expect(p.hashes.SHA256).toEqual({ value: SHA, source: 'lm-metadata' });
    expect(p.warnings).toEqual([expect.stringMatching(/^sidecars disagree on SHA256: .*using lm-metadata$/)]);

    writeFileSync(m.base + '.civitai.info', JSON.stringify({ id: 9, modelId: 8, files: [{ name: 'x.safetensors', sizeKB: 2, hashes: { SHA256: OTHER_SHA } }] }));
    p = await readPeerSidecars(m.path);
    expect(p.hashes.SHA256).toEqual({ value: OTHER_SHA, source: 'civitai-info' });
  });

  test('a found answer beats an older "not found" from another tool', async () => {
    const m = model();
    writeFileSync(m.base + '.civitai.info', '{}');
    writeFileSync(m.base + '.cm-info.json', JSON.stringify({ ModelId: 3, VersionId: 4 }));
    const p = await readPeerSidecars(m.path);
    expect(p.civitai).toEqual({ modelId: 3, versionId: 4, notFound: false, source: 'sm-cm-info' });
  });
});

describe('existing previews', () => {
  test('A1111 order (png before jpg; bare before .preview), case-insensitive', async () => {
    const m = model('Lora One.safetensors');
    writeFileSync(join(m.dir, 'Lora One.preview.JPG'), 'x');
    writeFileSync(join(m.dir, 'Lora One.webp'), 'x');
    expect((await readPeerSidecars(m.path)).previewFile).toBe('Lora One.preview.JPG');
    writeFileSync(join(m.dir, 'lora one.PNG'), 'x');
    expect((await readPeerSidecars(m.path)).previewFile).toBe('lora one.PNG');
  });

  test('findPreview works from a listing the scanner already has, and finds none for other stems', () => {
    expect(findPreview('a', ['a.safetensors', 'ab.png', 'a.preview.gif'])).toBe('a.preview.gif');
    expect(findPreview('a', ['a.safetensors', 'ab.png', 'a.txt'])).toBeUndefined();
    // Any other `.preview.*` another tool wrote counts too (a video, AVIF), after A1111's names; never a temp file.
    expect(findPreview('a', ['a.preview.mp4', 'a.safetensors'])).toBe('a.preview.mp4');
    expect(findPreview('a', ['a.preview.avif', 'a.preview.jpeg'])).toBe('a.preview.jpeg');
    expect(findPreview('a', ['a.preview.', 'a.preview.png.tmp', 'ab.preview.mp4'])).toBeUndefined();
  });

  test('dirEntries: sidecars absent from the listing are not opened', async () => {
    const m = model();
    writeFileSync(m.base + '.metadata.json', JSON.stringify({ sha256: SHA.toLowerCase() }));
    const p = await readPeerSidecars(m.path, { dirEntries: ['model.safetensors'] });
    expect(p.hashes).toEqual({});
  });
});
