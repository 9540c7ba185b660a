/** `modeldeck scan ROOT...`: index, hash, identify and write sidecars for every model under the roots. */
import type { Command } from 'commander';
import type { ScanProgress } from '../../core/library';
import { closeLibrary, openLibrary, printScanReport } from '../library-helpers';
import { byteProgress, interruptSignal, printJsonLine } from '../output';

interface ScanFlags {
  json?: boolean;
  verify?: boolean;
  offline?: boolean;
  previews: boolean;
  nsfwLevel: string;
  refresh?: boolean;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('index model folders: hash what is new, identify it on Civitai, write sidecars and previews')
    .argument('<roots...>', 'library folders')
    .option('--json', 'print the scan report as JSON')
    .option('--verify', 're-hash every file and report hashes that were wrong')
    .option('--offline', 'hash and probe only; report what waits for a Civitai lookup')
    .option('--no-previews', 'do not download preview images')
    .option('--nsfw-level <n>', 'highest preview level: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX', '2')
    .option('--refresh', 'ask Civitai again even where an answer is cached')
    .action(async (roots: string[], flags: ScanFlags) => {
      const nsfwLevel = Number(flags.nsfwLevel);
      if (![1, 2, 4, 8, 16].includes(nsfwLevel)) throw new Error(`--nsfw-level ${flags.nsfwLevel}: use 1, 2, 4, 8 or 16`);
      const lib = await openLibrary(roots, flags.offline);
      const interrupt = interruptSignal();
      let bar: ReturnType<typeof byteProgress> | undefined;
      try {
        const report = await lib.scan({
          verify: flags.verify,
          offline: flags.offline,
          previews: flags.previews,
          nsfwLevel,
          refresh: flags.refresh,
          signal: interrupt.signal,
          onProgress: (p: ScanProgress) => {
            if (p.phase === 'hash' && p.bytesToHash > 0 && !bar) bar = byteProgress(`hashing ${p.filesToHash} files`, p.bytesToHash);
            bar?.update(p.bytesHashed);
            if (p.phase !== 'hash' && bar) {
              bar.stop();
              bar = undefined;
            }
          },
        });
        bar?.stop();
        if (flags.json) printJsonLine(report);
        else printScanReport(report, Boolean(flags.offline));
        if (report.cancelled) process.exitCode = 130;
      } finally {
        interrupt.dispose();
        await closeLibrary(lib);
      }
    });
}
