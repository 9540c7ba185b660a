import { parseHashArgv } from '../src/cli/hash-argv';
import { buildProgram } from '../src/cli/main';

/** What commander hands the hash command for this command line, or the reason it does not reach it. */
async function viaCommander(args: string[]): Promise<{ files: string[]; hashes: string; json: boolean } | string> {
  const program = buildProgram('hash');
  let seen: { files: string[]; hashes: string; json: boolean } | undefined;
  const sub = program.commands.find((c) => c.name() === 'hash')!;
  sub.action(async (files: string[], opts: { hashes: string; json?: boolean }) => {
    seen = { files, hashes: opts.hashes, json: Boolean(opts.json) };
  });
  for (const c of [program, sub]) c.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    await program.parseAsync(['node', 'modeldeck', 'hash', ...args]);
  } catch (err) {
    return `commander: ${(err as Error).message}`;
  }
  return seen ?? 'commander: no action';
}

// Command lines the lean path reads itself: commander must read them the same way.
const LEAN: string[][] = [
  ['a.safetensors'],
  ['a', 'b', 'c'],
  ['--json', 'a'],
  ['a', '--json', 'b'],
  ['a', '--json', '--hashes', 'all', 'b'],
  ['--hashes=sha256,crc32', 'a'],
  ['--hashes=', 'a'],
  ['--hashes', '', 'a'],
  ['--hashes', 'md5', 'a'],
  ['--hashes', 'sha256', '--hashes', 'autov1', 'a'],
  ['--hashes=-V', 'a'],
  ['--json', '--json', 'a'],
  ['-', 'a'],
  ['help'],
  ['a', 'hash'],
];

// Near misses it leaves to commander (help, version, errors, "--", option-like values).
const DEFERRED: string[][] = [
  [],
  ['--json'],
  ['--hashes'],
  ['--hashes', '-V', 'a'],
  ['--hashes', '--json', 'a'],
  ['-V'],
  ['a', '--version'],
  ['-h'],
  ['a', '--help'],
  ['--bogus', 'a'],
  ['--', 'a'],
  ['--', '--json'],
  ['-5'],
  ['--json=1', 'a'],
  ['--jso', 'a'],
  ['-j', 'a'],
  ['--hash', 'sha256', 'a'],
  ['--no-json', 'a'],
];

test.each(LEAN.map((l) => [l.join(' '), l]))('hash %s: read as commander reads it', async (_label, line) => {
  const lean = parseHashArgv(line as string[]);
  expect(lean).not.toBeNull();
  expect(await viaCommander(line as string[])).toEqual({ files: lean!.files, hashes: lean!.hashes ?? 'SHA256,AutoV1,AutoV2,AutoV3', json: lean!.json });
});

test.each(DEFERRED.map((l) => [l.join(' ') || '(nothing)', l]))('hash %s: left to commander', (_label, line) => {
  expect(parseHashArgv(line as string[])).toBeNull();
});
