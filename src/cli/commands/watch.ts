/** `modeldeck watch ROOT...`: scan, then keep scanning as model files come and go, until Ctrl-C. */
import type { Command } from 'commander';
import { closeLibrary, keepPanelWindow, openLibrary, printScanReport } from '../library-helpers';
import { interruptSignal, printable, printJsonLine } from '../output';

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('scan, then watch the folders and scan new, changed, moved and removed model files as they come (Ctrl-C stops)')
    .argument('<roots...>', 'library folders')
    .option('--offline', 'hash and probe only; no Civitai lookups')
    .option('--poll [seconds]', 'poll instead of file events (the default on Google Drive and network mounts); interval in seconds, default 5')
    .option('--json', 'one JSON line per event')
    .action(async (roots: string[], flags: { offline?: boolean; poll?: boolean | string; json?: boolean }) => {
      const lib = await openLibrary(roots, flags.offline);
      const interrupt = interruptSignal();
      const say = (kind: string, data: unknown, human: () => void) => (flags.json ? printJsonLine({ event: kind, ...(data as object) }) : human());
      // The panel's first window, kept after each scan: one at a time, and once more if scans came meanwhile.
      let keeping: Promise<void> | null = null;
      let keepAgain = false;
      const keep = (): void => {
        if (keeping) {
          keepAgain = true;
          return;
        }
        keeping = keepPanelWindow(lib).finally(() => {
          keeping = null;
          if (!keepAgain) return;
          keepAgain = false;
          keep();
        });
      };
      try {
        const first = await lib.scan({ offline: flags.offline, signal: interrupt.signal });
        say('scan', first, () => printScanReport(first, Boolean(flags.offline)));
        keep();
        const pollIntervalMs = typeof flags.poll === 'string' ? Math.max(0.2, Number(flags.poll)) * 1000 : undefined;
        const watcher = lib.watch({
          poll: flags.poll === undefined ? 'auto' : true,
          pollIntervalMs,
          scan: { offline: flags.offline, signal: interrupt.signal },
          onBatch: (b) =>
            say('change', b, () => {
              for (const [what, list] of [['added', b.added], ['changed', b.changed], ['removed', b.removed]] as const) {
                for (const p of list) process.stdout.write(`${what}: ${printable(p)}\n`);
              }
            }),
          onScan: (r) => {
            say('scan', r, () => printScanReport(r, Boolean(flags.offline)));
            keep();
          },
          onError: (err) => say('error', { message: err.message }, () => process.stderr.write(`modeldeck: ${printable(err.message)}\n`)),
        });
        await watcher.ready;
        say('watching', { roots: lib.roots, polled: watcher.polledRoots }, () =>
          process.stdout.write(`watching ${lib.roots.join(', ')}${watcher.polledRoots.length ? ` (polling ${watcher.polledRoots.join(', ')})` : ''}; Ctrl-C stops\n`),
        );
        await new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve(), { once: true }));
        await watcher.close();
        keepAgain = false;
        await keeping;
        process.exitCode = 0;
      } finally {
        interrupt.dispose();
        await closeLibrary(lib);
      }
    });
}
