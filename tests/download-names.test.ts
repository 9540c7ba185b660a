// Names and references for `get`: hostile names made safe, Content-Disposition read, every accepted WHAT parsed;
// and a plain URL whose server names the file `../../evil.safetensors` over real HTTP.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { nameFromContentDisposition, parseFileSelector, parseSource, safeFileName } from '../src/core/download';
import { FakeStorage } from './fake-civitai/storage';
import { runCli } from './helpers/cli';
import { loraBytes } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

test('hostile names become one safe file name', () => {
  expect(safeFileName('../../x.safetensors')).toBe('x.safetensors');
  expect(safeFileName('..\\..\\win.ckpt')).toBe('win.ckpt');
  expect(safeFileName('a\u0000b\u001b[2Jc.safetensors')).toBe('a_b_[2Jc.safetensors');
  expect(safeFileName('what?<is>:"this"|*.pt')).toBe('what__is___this___.pt');
  expect(safeFileName('CON.safetensors')).toBe('_CON.safetensors');
  expect(safeFileName('name. . .')).toBe('name');
  expect(safeFileName('.hidden.safetensors')).toBe('hidden.safetensors');
  expect(safeFileName('..')).toBe('download.bin');
  expect(safeFileName('\u202eexe.safetensors')).toBe('exe.safetensors');
  const long = safeFileName(`${'é'.repeat(300)}.safetensors`);
  expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
  expect(long.endsWith('.safetensors')).toBe(true);
});

test('Content-Disposition: filename* wins, quotes and escapes read', () => {
  expect(nameFromContentDisposition(`attachment; filename="a \\"b\\".safetensors"`)).toBe('a "b".safetensors');
  expect(nameFromContentDisposition(`attachment; filename=plain.ckpt`)).toBe('plain.ckpt');
  expect(nameFromContentDisposition(`attachment; filename="ascii.bin"; filename*=UTF-8''caf%C3%A9.safetensors`)).toBe('café.safetensors');
  expect(nameFromContentDisposition(undefined)).toBeUndefined();
});

test('every accepted reference', () => {
  expect(parseSource('62833')).toMatchObject({ kind: 'civitai', versionId: 62833, modelId: null });
  expect(parseSource('https://civitai.com/models/58390/some-slug?modelVersionId=62833')).toMatchObject({ kind: 'civitai', modelId: 58390, versionId: 62833 });
  expect(parseSource('https://civitai.com/models/58390')).toMatchObject({ kind: 'civitai', modelId: 58390, versionId: null });
  expect(parseSource('https://civitai.com/model-versions/62833')).toMatchObject({ kind: 'civitai', versionId: 62833 });
  expect(parseSource('https://civitai.com/api/download/models/62833?type=Model&format=SafeTensor&size=pruned&fp=fp16')).toMatchObject({
    kind: 'civitai',
    versionId: 62833,
    selector: { type: 'Model', format: 'SafeTensor', size: 'pruned', fp: 'fp16' },
  });
  expect(parseSource('urn:air:sd1:lora:civitai:58390@62833')).toMatchObject({ kind: 'civitai', modelId: 58390, versionId: 62833 });
  expect(parseSource('https://huggingface.co/acme/repo/blob/main/sub/x.safetensors', {})).toMatchObject({ kind: 'huggingface', repo: 'acme/repo', revision: 'main', path: 'sub/x.safetensors' });
  expect(parseSource('https://example.com/files/y.safetensors?sig=1', {})).toMatchObject({ kind: 'url' });
  expect(() => parseSource('https://huggingface.co/acme/repo/tree/main', {})).toThrow(/not a HuggingFace file link/);
  expect(() => parseSource('F'.repeat(64))).toThrow(/names no downloadable file/);
  expect(parseFileSelector('fp16,pruned,safetensors')).toEqual({ fp: 'fp16', size: 'pruned', format: 'SafeTensor' });
  expect(parseFileSelector('type=Pruned Model')).toEqual({ type: 'Pruned Model' });
  expect(() => parseFileSelector('colour=red')).toThrow(/unknown key/);
});

describe('a plain URL', () => {
  const tmp = useTmpDir();
  let storage: FakeStorage;
  beforeAll(async () => {
    storage = await new FakeStorage().start();
  });
  afterAll(() => storage?.stop());

  test('named ../../evil.safetensors by its server lands inside the library, filed by what the probe says', async () => {
    const root = join(tmp.path, 'lib');
    mkdirSync(root);
    storage.put('evil', '../../evil.safetensors', loraBytes());
    const env = { CIVITAI_BASE_URL: 'http://127.0.0.1:9', CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_ALLOWED_ORIGINS: storage.url, MODELDECK_CACHE_DIR: join(tmp.path, 'cache') };
    const r = await runCli(['get', '--json', '--no-previews', '--to', root, storage.signedUrl('evil')], env);
    const done = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.event === 'done');
    expect(done).toMatchObject({ status: 'downloaded', verifiedBy: 'none', path: join(root, 'models/Lora/evil.safetensors') });
    expect(existsSync(join(tmp.path, 'evil.safetensors'))).toBe(false);
    expect(readdirSync(join(root, 'models')).sort()).toEqual(['Lora', 'Stable-diffusion']);
  });

  test('is refused when it points at a private address not allowed', async () => {
    const root = join(tmp.path, 'lib2');
    mkdirSync(root);
    const env = { CIVITAI_BASE_URL: 'http://127.0.0.1:9', CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_ALLOWED_ORIGINS: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache') };
    const r = await runCli(['get', '--to', root, storage.signedUrl('evil').replace('http://', 'https://')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused to fetch: 127\.0\.0\.1 is a local or private address/);
    expect(r.stderr).not.toContain('sig=');
  });
});
