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

test('a reader that stops early (`| head -1`) ends the command quietly: no EPIPE trace, exit 0', async () => {
  const { spawn } = await import('node:child_process');
  const { openSync, writeSync, closeSync } = await import('node:fs');
  // Files large enough that the next line comes well after the first: the pipe is closed by then.
  const files: string[] = [];
  const block = Buffer.alloc(16 * 1024 * 1024, 7);
  for (let i = 0; i < 4; i++) {
    const f = join(tmp.path, `big-${i}.bin`);
    const fd = openSync(f, 'w');
    for (let k = 0; k < 4; k++) writeSync(fd, block);
    closeSync(fd);
    files.push(f);
  }
  // The lean hash path, and commander's (which takes a command line with `--`).
  for (const args of [['hash', '--json', ...files], ['hash', '--json', '--', ...files]]) {
    const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'modeldeck.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstLine = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          child.stdout.destroy(); // as head does after its line
          resolve(out.slice(0, out.indexOf('\n')));
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(JSON.parse(firstLine).file).toBe(files[0]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }
});
