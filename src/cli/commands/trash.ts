/**
 * `modeldeck trash ROOT... [--empty] [--older-than DAYS]`: what the trash of
 * each root holds (items, files, bytes), and emptying it for good. Restoring
 * is `restore`'s; removing for good needs `--empty`, and prints what went.
 */
import type { Command } from 'commander';
import type { TrashEmptyReport } from '../../core/library';
import { closeLibrary, openLibrary } from '../library-helpers';
import { formatBytes, printable, printJsonLine } from '../output';

const DAY_MS = 24 * 60 * 60 * 1000;

export function registerTrash(program: Command): void {
  program
    .command('trash')
    .description('list what the trash of each root holds; --empty removes it for good (files, sidecars, previews)')
    .argument('<roots...>', 'library folders')
    .option('--empty', 'remove the items for good (restore is no longer possible)')
    .option('--older-than <days>', 'only items trashed more than DAYS days ago')
    .option('--dry-run', 'with --empty: print what would be removed; change nothing')
    .option('--json', 'one JSON object per item and line, then the total')
    .action(async (roots: string[], flags: { empty?: boolean; olderThan?: string; dryRun?: boolean; json?: boolean }) => {
      let before: number | undefined;
      if (flags.olderThan !== undefined) {
        const days = Number(flags.olderThan);
        if (!/^\d+(\.\d+)?$/.test(flags.olderThan.trim()) || !Number.isFinite(days)) throw new Error(`--older-than: "${flags.olderThan}" is not a number of days`);
        before = Date.now() - days * DAY_MS;
      }
      const remove = flags.empty === true && flags.dryRun !== true;
      const lib = await openLibrary(roots, true);
      try {
        const r = await lib.emptyTrash({ before, dryRun: !remove });
        print(r, remove ? 'removed' : flags.empty ? 'would remove' : 'in the trash', flags.json === true);
        if (r.problems.length) process.exitCode = 1;
      } finally {
        await closeLibrary(lib);
      }
    });
}

function print(r: TrashEmptyReport, verb: 'removed' | 'would remove' | 'in the trash', json: boolean): void {
  for (const p of r.problems) process.stderr.write(`modeldeck: ${printable(p)}\n`);
  for (const i of r.items) {
    if (json) printJsonLine({ type: 'item', ...i });
    else {
      const when = i.trashedAt === null ? 'unknown date' : new Date(i.trashedAt).toISOString();
      const what = i.path === null ? '(no readable manifest)' : printable(i.path);
      process.stdout.write(`${printable(i.id)}  ${when}  ${what} (${i.files} file(s), ${formatBytes(i.bytes)})\n`);
    }
  }
  if (json) printJsonLine({ type: verb === 'removed' ? 'removed' : 'total', items: r.items.length, files: r.files, bytes: r.bytes });
  else if (verb === 'in the trash') process.stdout.write(`${r.items.length} item(s), ${r.files} file(s), ${formatBytes(r.bytes)} in the trash\n`);
  else process.stdout.write(`${verb} ${r.items.length} item(s): ${r.files} file(s), ${formatBytes(r.bytes)}\n`);
}
