/**
 * Tokens on long-lived objects stay out of what a notebook prints: a cell's
 * last expression is shown with util.inspect, and objects end up in JSON.
 * (The same through a real tslab kernel: tests/kernel-downloads.test.ts.)
 */
import { inspect } from 'node:util';
import { resolveConfig, withToken } from '../../src/core/civitai';
import { planDownload } from '../../src/core/download/plan';
import { Library } from '../../src/core/library';
import { useTmpDir } from '../helpers/tmpdir';

const CIVITAI = 'civitai-secret-token-0123456789';
const HF = 'hf_secret_token_abcdefghij';
const tmp = useTmpDir();

test('a Civitai config hides its token from inspect, JSON and spread, and still hands it to code', () => {
  const config = resolveConfig({ baseUrl: 'https://civitai.example' }, { CIVITAI_TOKEN: CIVITAI });
  expect(config.token).toBe(CIVITAI);
  expect(inspect(config, { depth: Infinity })).toContain('civitai.example');
  expect(inspect(config, { depth: Infinity })).not.toContain(CIVITAI);
  expect(JSON.stringify(config)).not.toContain(CIVITAI);
  expect(({ ...config } as { token?: string }).token).toBeUndefined();
  // Deriving a config keeps the token only when asked to.
  expect(withToken({ ...config, maxAttempts: 1 }, config.token).token).toBe(CIVITAI);
});

test('a Library with a token prints without it, at any depth', async () => {
  const lib = await Library.open([tmp.path], { civitai: { baseUrl: 'https://civitai.example', token: CIVITAI } });
  const text = inspect(lib, { depth: Infinity, showProxy: true });
  expect(text).toContain('CivitaiClient');
  expect(text).not.toContain(CIVITAI);
  expect(lib.civitai?.config.token).toBe(CIVITAI);
});

test('a HuggingFace download plan prints its credentials by origin only', async () => {
  const plan = await planDownload(
    { kind: 'huggingface', repo: 'someone/model', revision: 'main', path: 'model.safetensors' } as never,
    { client: null, env: { HF_TOKEN: HF } },
  );
  const origin = [...plan.credentials.keys()][0];
  expect(plan.credentials.get(origin)).toBe(`Bearer ${HF}`);
  const text = inspect(plan, { depth: Infinity });
  expect(text).toContain(`OriginCredentials { ${origin} }`);
  expect(text).not.toContain(HF);
  expect(JSON.stringify(plan)).not.toContain(HF);
});
