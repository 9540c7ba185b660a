/** `modeldeck probe`, run as users run it: `node bin/modeldeck.js` (needs lib/ built). */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rawSafetensors, writeSafetensors } from './helpers/safetensors';

const BIN = resolve(__dirname, '..', 'bin', 'modeldeck.js');
const PICKLE = "cos\nsystem\n(S'echo pwned'\ntR.";
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

let dir: string;
let lora: string;
let ckpt: string;
let malformed: string;
const metadata = {
  ss_base_model_version: 'sdxl_base_v1-0',
  sshs_model_hash: SHA,
  // kohya's tag counts can run to megabytes; this one also carries a newline and an ANSI escape.
  ss_tag_frequency: `${'{"tag": 1, '.repeat(2000)}\n\u001b[31m}`,
};

function run(args: string[], asUser?: { uid: number; gid: number }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, ...asUser }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      done({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modeldeck-probe-cli-'));
  lora = join(dir, 'char.safetensors');
  await writeSafetensors(lora, {
    metadata,
    tensors: {
      'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight': { dtype: 'F16', shape: [4, 2048] },
      'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight': { dtype: 'F16', shape: [640, 4] },
    },
  });
  ckpt = join(dir, 'v1-5-pruned.ckpt');
  await writeFile(ckpt, PICKLE);
  malformed = join(dir, 'broken.safetensors');
  await writeFile(malformed, rawSafetensors(10_000n, '{}'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('--json prints one object per file and line, with the documented keys', async () => {
  const { code, stdout, stderr } = await run(['probe', '--json', lora, ckpt]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  const [first, second] = lines.map((l) => JSON.parse(l));

  expect(first).toMatchObject({
    file: lora,
    format: 'safetensors',
    kind: 'lora',
    baseModel: 'sdxl',
    embeddedAutoV3: { full: SHA.toUpperCase(), short: 'A1B2C3D4E5F6', source: 'sshs_model_hash' },
    metadata,
  });
  expect(first.evidence).toEqual(expect.arrayContaining(['to_k last dim 2048', 'ss_base_model_version=sdxl_base_v1-0']));
  expect(first.size).toBeGreaterThan(16 * 1024); // the header plus 21 KB of tensors

  expect(second).toMatchObject({ file: ckpt, format: 'pickle', baseModel: 'sd1', size: Buffer.byteLength(PICKLE) });
  expect(Object.keys(second)).toEqual(['file', 'size', 'format', 'kind', 'baseModel', 'evidence']);
  expect(second.evidence[0]).toContain('not opened');
});

test('a missing and a malformed file: one stderr line each, the good file still printed, exit code 1', async () => {
  const missing = join(dir, 'missing.safetensors');
  const { code, stdout, stderr } = await run(['probe', '--json', missing, malformed, lora]);
  expect(code).toBe(1);
  expect(stderr.trimEnd().split('\n')).toEqual([
    `modeldeck: ${missing}: no such file`,
    expect.stringMatching(new RegExp(`^modeldeck: ${escape(malformed)}: truncated or not a safetensors file: header length 10000 is larger than`)),
  ]);
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]).file).toBe(lora);
});

test('human output: summary lines, long metadata values cut, no raw control characters', async () => {
  const { code, stdout } = await run(['probe', lora]);
  expect(code).toBe(0);
  expect(stdout).toContain(`${lora}\n`);
  expect(stdout).toContain('kind: lora   base: SDXL');
  expect(stdout).toContain('embedded AutoV3: A1B2C3D4E5F6 (sshs_model_hash)');
  expect(stdout).toContain('    - to_k last dim 2048');
  const tagLine = stdout.split('\n').find((l) => l.includes('ss_tag_frequency:'));
  expect(tagLine).toBeDefined();
  expect(tagLine!.length).toBeLessThan(200);
  expect(tagLine).toContain(`(${metadata.ss_tag_frequency.length} chars)`);
  expect(stdout).not.toContain('\u001b');
});

test('an unreadable .ckpt still probes (stat only), while an unreadable .safetensors is "permission denied"', async () => {
  // Root reads anything, so as root the CLI runs as "nobody" for this test.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  await chmod(dir, 0o755);
  const lockedCkpt = join(dir, 'locked.ckpt');
  const lockedSafetensors = join(dir, 'locked.safetensors');
  await writeFile(lockedCkpt, PICKLE);
  await writeSafetensors(lockedSafetensors, { tensors: { emb_params: { dtype: 'F32', shape: [1, 768] } } });
  await chmod(lockedCkpt, 0o000);
  await chmod(lockedSafetensors, 0o000);

  const { code, stdout, stderr } = await run(['probe', '--json', lockedCkpt, lockedSafetensors], asUser);
  expect(stderr).toBe(`modeldeck: ${lockedSafetensors}: permission denied\n`);
  expect(code).toBe(1);
  expect(JSON.parse(stdout)).toMatchObject({ file: lockedCkpt, format: 'pickle', size: Buffer.byteLength(PICKLE) });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
