/** `modeldeck hash FILE...`: the six Civitai hashes of each file, from one read. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { CancelledError } from '../../core/errors';
import { HashEngine, type HashEngineOptions } from '../../core/hash/hash-engine';
import { DEFAULT_HASHES, HASH_NAMES, parseHashList, type HashName } from '../../core/hash/names';
import { byteProgress, formatBytes, interruptSignal, printJsonLine, reportError, printable } from '../output';

/** Files smaller than this hash in well under a second: no bar. */
const PROGRESS_MIN_BYTES = 256 * 1024 * 1024;

/** The default of `--hashes`, as commander shows it in the help. */
export const DEFAULT_HASHES_TEXT = DEFAULT_HASHES.join(',');

export interface HashOptions {
  /** The `--hashes` text, parsed here (both the commander and the lean path give it as typed). */
  hashes: string;
  json?: boolean;
}

export function registerHash(program: Command): void {
  program
    .command('hash')
    .description('compute Civitai hashes (SHA256, AutoV1, AutoV2, AutoV3, BLAKE3, CRC32) of model files')
    .argument('<files...>', 'model files')
    .option('--hashes <list>', `comma-separated, or "all" (${HASH_NAMES.join(', ')})`, DEFAULT_HASHES_TEXT)
    .option('--json', 'one JSON object per file and line')
    .action((files: string[], opts: HashOptions) => runHash(files, opts));
}

/** The command, reached through commander (registerHash) or the lean start-up path (cli/hash-fast.ts). */
export async function runHash(files: string[], opts: HashOptions, engineOptions?: HashEngineOptions): Promise<void> {
  const hashes = parseHashList(opts.hashes);
  await hashAll(files, hashes, Boolean(opts.json), engineOptions);
}

async function hashAll(files: string[], hashes: HashName[], json: boolean, engineOptions?: HashEngineOptions): Promise<void> {
  const engine = new HashEngine(engineOptions);
  const interrupt = interruptSignal();
  try {
    for (const file of files) {
      if (interrupt.signal.aborted) break;
      let bar: ReturnType<typeof byteProgress> | undefined;
      try {
        const result = await engine.hashFile(file, {
          hashes,
          signal: interrupt.signal,
          onProgress: (done, total) => {
            if (!bar && total >= PROGRESS_MIN_BYTES) bar = byteProgress(basename(file), total);
            bar?.update(done);
          },
        });
        bar?.stop();
        if (json) {
          printJsonLine({ file: result.file, size: result.size, ...result.hashes });
        } else {
          process.stdout.write(`${printable(result.file)}  (${formatBytes(result.size)})\n`);
          for (const name of HASH_NAMES) {
            const value = result.hashes[name];
            if (value) process.stdout.write(`  ${name.padEnd(7)} ${value}\n`);
          }
        }
      } catch (err) {
        bar?.stop();
        if (err instanceof CancelledError) break;
        reportError(err);
      }
    }
  } finally {
    interrupt.dispose();
    await engine.close();
  }
}
