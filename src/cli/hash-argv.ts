/**
 * The arguments of `modeldeck hash`, read without commander, for the lean
 * start-up path (docs/architecture.md, "The CLI's start-up").
 *
 * Only the plain forms are read here: files, `--json`, `--hashes LIST` and
 * `--hashes=LIST`, in any order, as commander reads them. Anything else
 * (`--help`, `-V`, an unknown option, `--`, no file, a `--hashes` value that
 * starts with "-", which commander's program level could take for one of its
 * own options) gives null, and the caller hands the whole command line to
 * commander: help, errors and exit codes then come from commander itself, so
 * they cannot drift. tests/hash-argv.test.ts checks the two agree.
 *
 * This module loads nothing: it runs before the rest of the CLI is loaded.
 */
export interface HashArgs {
  files: string[];
  /** The `--hashes` text as given (parsed by the command, as commander's path does); absent: the default. */
  hashes?: string;
  json: boolean;
}

/** `args` is what follows `hash` on the command line. */
export function parseHashArgv(args: readonly string[]): HashArgs | null {
  const files: string[] = [];
  let hashes: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') json = true;
    else if (arg === '--hashes') {
      const value = args[++i];
      if (value === undefined || value.startsWith('-')) return null;
      hashes = value;
    } else if (arg.startsWith('--hashes=')) hashes = arg.slice('--hashes='.length);
    // A lone "-" is a file name to commander too.
    else if (arg.length > 1 && arg.startsWith('-')) return null;
    else files.push(arg);
  }
  return files.length > 0 ? { files, hashes, json } : null;
}
