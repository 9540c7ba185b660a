/**
 * `modeldeck hash` without commander: the lean start-up path.
 *
 * A whole `modeldeck hash` of a 1 GiB file is about 0.6 s of SHA-256 and, before
 * this path, about 80 ms of process start and module loading, of which
 * commander (and the node:child_process it loads) was 12 ms; the default hashes
 * also waited about 20 ms for their worker thread to boot. So, for a plain
 * `hash` command line: the worker is started first (its boot overlaps the
 * loading of everything else), and only the hash command's own modules are
 * loaded. Any other command line (help, errors, other subcommands) returns null
 * and goes to commander. See docs/architecture.md, "The CLI's start-up".
 *
 * Top-level imports here are only modules that load nothing heavy.
 */
import { statSync } from 'node:fs';
import { parseHashArgv, type HashArgs } from './hash-argv';
import { DEFAULT_HASHES, parseHashList } from '../core/hash/names';
import { prestartWorkers, workersFor, type PrestartedWorkers } from '../core/hash/prestart';
import { printable } from './output';

/** Runs `hash` and resolves to the exit code, or returns null when commander must read this command line. */
export function runHashFast(argv: readonly string[]): Promise<number> | null {
  const args = parseHashArgv(argv.slice(3));
  if (!args) return null;
  const prestarted = prestart(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runHash, DEFAULT_HASHES_TEXT } = require('./commands/hash') as typeof import('./commands/hash');
  return runHash(args.files, { hashes: args.hashes ?? DEFAULT_HASHES_TEXT, json: args.json }, { prestarted }).then(
    () => (process.exitCode === undefined ? 0 : Number(process.exitCode)),
    // As cli/main.ts reports an error that escapes a command.
    (err: unknown) => {
      process.stderr.write(`modeldeck: ${printable(err instanceof Error ? err.message : String(err))}\n`);
      return 1;
    },
  );
}

/**
 * The workers the first file will need, started now. Only the first file: later
 * files reuse them. Anything unclear (bad --hashes, a file that cannot be
 * stat'ed) starts none; the command then reports it as it always does.
 */
function prestart(args: HashArgs): PrestartedWorkers | undefined {
  try {
    const hashes = args.hashes === undefined ? DEFAULT_HASHES : parseHashList(args.hashes);
    const st = statSync(args.files[0]);
    const count = st.isFile() ? workersFor(args.files[0], st.size, hashes) : 0;
    return count > 0 ? prestartWorkers(count) : undefined;
  } catch {
    return undefined;
  }
}
