import { join } from 'node:path';
import { runCli } from './helpers/cli';
import { useTmpDir } from './helpers/tmpdir';
import { VECTORS, writeVectorFiles } from './helpers/hash-vectors';

const tmp = useTmpDir();
let paths: Record<string, string>;
beforeAll(() => {
  paths = writeVectorFiles(tmp.path);
});

const LORA_A = 'synthetic_lora_a.safetensors';

test('hash --json prints one object per file with Civitai hash names', async () => {
  const files = [paths[LORA_A], paths.hello_world_txt];
  const { code, stdout, stderr } = await runCli(['hash', '--json', '--hashes', 'all', ...files]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toHaveLength(2);
  const v = VECTORS[LORA_A];
  expect(lines[0]).toEqual({
    file: files[0],
    size: v.size,
    SHA256: v.SHA256,
    AutoV1: v.AutoV1,
    AutoV2: v.AutoV2,
    AutoV3: v.AutoV3,
    AutoV3Full: v.addnetFull,
    BLAKE3: v.BLAKE3,
    CRC32: v.CRC32_civitai_scanner,
  });
  // Not safetensors and under 2 MiB: no AutoV3, no AutoV1.
  expect(Object.keys(lines[1]).sort()).toEqual(['AutoV2', 'BLAKE3', 'CRC32', 'SHA256', 'file', 'size']);
});

test('hash defaults to SHA256 and AutoV1/2/3, in a human listing without --json', async () => {
  const { code, stdout } = await runCli(['hash', paths[LORA_A]]);
  expect(code).toBe(0);
  const v = VECTORS[LORA_A];
  expect(stdout).toContain(`SHA256  ${v.SHA256}`);
  expect(stdout).toContain(`AutoV1  ${v.AutoV1}`);
  expect(stdout).toContain(`AutoV2  ${v.AutoV2}`);
  expect(stdout).toContain(`AutoV3  ${v.AutoV3}`);
  expect(stdout).not.toContain('BLAKE3');
  expect(stdout).not.toContain('CRC32');
});

test('a missing file: one line on stderr, the other files still run, exit code 1', async () => {
  const missing = join(tmp.path, 'missing.safetensors');
  const { code, stdout, stderr } = await runCli(['hash', '--json', missing, paths[LORA_A]]);
  expect(code).toBe(1);
  expect(stderr).toBe(`modeldeck: ${missing}: no such file\n`);
  expect(JSON.parse(stdout).SHA256).toBe(VECTORS[LORA_A].SHA256);
});

test('an unknown hash name is refused with the accepted names', async () => {
  const { code, stdout, stderr } = await runCli(['hash', '--hashes', 'md5', paths[LORA_A]]);
  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toMatch(/^modeldeck: unknown hash "md5"; use names from: all, sha256/);
});
