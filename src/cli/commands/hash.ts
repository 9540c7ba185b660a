/** `modeldeck hash FILE...`: the six Civitai hashes of each file, from one read. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { CancelledError } from '../../core/errors';
import { DEFAULT_HASHES, HASH_NAMES, HashEngine, parseHashList, type HashName } from '../../core/hash';
import { byteProgress, formatBytes, interruptSignal, printJsonLine, reportError, printable } from '../output';

/** Files smaller than this hash in well under a second: no bar. */
const PROGRESS_MIN_BYTES = 256 * 1024 * 1024;

export function registerHash(program: Command): void {
  program
    .command('hash')
    .description('compute Civitai hashes (SHA256, AutoV1, AutoV2, AutoV3, BLAKE3, CRC32) of model files')
    .argument('<files...>', 'model files')
    .option('--hashes <list>', `comma-separated, or "all" (${HASH_NAMES.join(', ')})`, DEFAULT_HASHES.join(','))
    .option('--json', 'one JSON object per file and line')
    .action(async (files: string[], opts: { hashes: string; json?: boolean }) => {
      const hashes = parseHashList(opts.hashes);
      await hashAll(files, hashes, Boolean(opts.json));
    });
}

async function hashAll(files: string[], hashes: HashName[], json: boolean): Promise<void> {
  const engine = new HashEngine();
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
