/**
 * Keeping a library tidy: `dupes`, `mv`, `rm`, `restore`. Every path and name
 * printed comes from files or Civitai, so it goes through `printable()`.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import type { DuplicatesReport } from '../../core/library';
import { closeLibrary, openLibrary, rootOf, userPath } from '../library-helpers';
import { formatBytes, interruptSignal, printable, printJsonLine, reportError } from '../output';

export function registerMaintenance(program: Command): void {
  program
    .command('dupes')
    .description('files with the same SHA256 across the roots (from the index; nothing is changed unless asked)')
    .argument('<roots...>', 'library folders')
    .option('--json', 'one JSON object per group and line')
    .option('--keep <rule>', 'clean up: keep the "first" copy (root order, then path), the "newest", or the one under PATH-PREFIX')
    .option('--trash', "with --keep: move the other copies (and their sidecars) to their root's trash")
    .option('--hardlink', 'with --keep: replace the other copies by hard links to the kept one (same file system only)')
    .option('--symlink', 'with --keep: replace the other copies by symbolic links to the kept one')
    .option('--dry-run', 'print the clean-up plan; change nothing')
    .action(async (roots: string[], flags: { json?: boolean; keep?: string; trash?: boolean; hardlink?: boolean; symlink?: boolean; dryRun?: boolean }) => {
      const actions = (['trash', 'hardlink', 'symlink'] as const).filter((a) => flags[a]);
      if (actions.length > 1) throw new Error('choose one of --trash, --hardlink, --symlink');
      if (actions.length === 1 && !flags.keep) throw new Error(`--${actions[0]} needs --keep first|newest|PATH-PREFIX`);
      if (flags.keep && actions.length === 0 && !flags.dryRun) throw new Error('--keep needs --trash, --hardlink or --symlink (or --dry-run to see the plan)');
      const lib = await openLibrary(roots, true);
      try {
        if (!flags.keep) {
          const report = await lib.duplicates();
          for (const w of report.warnings) process.stderr.write(`modeldeck: warning: ${printable(w)}\n`);
          if (flags.json) for (const g of report.groups) printJsonLine({ type: 'duplicate', ...g });
          if (flags.json) for (const v of report.sameVersion) printJsonLine({ type: 'same-version', ...v });
          if (!flags.json) printDuplicates(report);
          return;
        }
        const { parseKeepRule } = await import('../../core/library');
        const interrupt = interruptSignal();
        try {
          const r = await lib.cleanDuplicates(parseKeepRule(flags.keep), actions[0] ?? 'trash', { dryRun: flags.dryRun, signal: interrupt.signal });
          const verb = flags.dryRun ? `would ${actions[0] ?? 'remove'}` : (actions[0] ?? 'trash');
          for (const why of r.skipped) process.stderr.write(`modeldeck: ${printable(why)}\n`);
          if (flags.dryRun) {
            for (const s of r.steps) {
              if (flags.json) printJsonLine({ type: 'plan', sha256: s.sha256, keep: s.keep.absolute, remove: s.remove.map((c) => c.absolute), action: actions[0] ?? null });
              else process.stdout.write(`keep ${printable(s.keep.absolute)}\n${s.remove.map((c) => `  ${verb} ${printable(c.absolute)}\n`).join('')}`);
            }
            return;
          }
          for (const d of r.done) {
            if (flags.json) printJsonLine({ type: 'done', ...d });
            else process.stdout.write(`${d.action === 'trash' ? 'trashed' : d.action === 'hardlink' ? 'hard-linked' : 'symlinked'} ${printable(d.path)} (kept ${printable(d.kept)})\n`);
          }
          for (const f of r.failed) reportError(new Error(`${f.path}: ${f.reason}`));
        } finally {
          interrupt.dispose();
        }
      } finally {
        await closeLibrary(lib);
      }
    });

  program
    .command('mv')
    .description('move or rename a model file with its sidecars and previews (within a root or to another); nothing is overwritten')
    .argument('<file>', 'model file inside a scanned library')
    .argument('<dest>', 'a folder, or a new path and name')
    .option('--json', 'print the moved entry as JSON')
    .action(async (given: string, destGiven: string, flags: { json?: boolean }) => {
      const file = await userPath(given);
      const dest = await userPath(destGiven);
      const roots = [await rootOf(file)];
      // A folder as DEST may be a root itself; a new name's root is found from its folder.
      const destRoot = (await rootOf(join(dest, '_'))).toString();
      if (!roots.includes(destRoot)) roots.push(destRoot);
      const lib = await openLibrary(roots, true);
      try {
        const { model, leftAlone } = await lib.move(file, destGiven.endsWith('/') ? `${dest}/` : dest);
        for (const l of leftAlone) process.stderr.write(`modeldeck: warning: ${printable(l)}: a link or not a regular file; left where it is\n`);
        if (flags.json) printJsonLine(model);
        else process.stdout.write(`${printable(file)} → ${printable(model.absolute)}\n`);
      } finally {
        await closeLibrary(lib);
      }
    });

  program
    .command('rm')
    .description("move model files with their sidecars and previews to their root's trash (.modeldeck/trash/); restore puts them back")
    .argument('<files...>', 'model files inside a scanned library')
    .action(async (given: string[]) => {
      for (const g of given) {
        try {
          const file = await userPath(g);
          const lib = await openLibrary([await rootOf(file)], true);
          try {
            const { item, leftAlone } = await lib.remove(file);
            for (const l of leftAlone) process.stderr.write(`modeldeck: warning: ${printable(l)}: a link or not a regular file; left where it is\n`);
            process.stdout.write(`trashed ${printable(file)} (${item.files.length} file(s); "modeldeck restore ${printable(item.id)}" in that root puts it back)\n`);
          } finally {
            await closeLibrary(lib);
          }
        } catch (err) {
          reportError(err, g);
        }
      }
    });

  program
    .command('restore')
    .description('list the trash of a library, or put trashed models back (by trash id or original path)')
    .argument('<root>', 'library folder')
    .argument('[items...]', 'trash ids or original paths; none lists the trash')
    .option('--json', 'list as JSON lines')
    .action(async (root: string, items: string[], flags: { json?: boolean }) => {
      const lib = await openLibrary([root], true);
      try {
        const { items: trashed, problems } = await lib.trash();
        for (const p of problems) process.stderr.write(`modeldeck: warning: ${printable(p)}\n`);
        if (items.length === 0) {
          for (const t of trashed) {
            if (flags.json) printJsonLine({ id: t.id, path: t.path, trashedAt: t.trashedAt, files: t.files.map((f) => f.path) });
            else process.stdout.write(`${printable(t.id)}  ${new Date(t.trashedAt).toISOString()}  ${printable(t.path)} (${t.files.length} file(s))\n`);
          }
          return;
        }
        for (const it of items) {
          try {
            const m = await lib.restore(it);
            process.stdout.write(`restored ${printable(m.absolute)}\n`);
          } catch (err) {
            reportError(err, it);
          }
        }
      } finally {
        await closeLibrary(lib);
      }
    });
}

function printDuplicates(r: DuplicatesReport): void {
  const out: string[] = [];
  for (const g of r.groups) {
    out.push(`${g.sha256.slice(0, 12)}  ${g.copies.length} copies of ${formatBytes(g.size)}${g.differentModels ? '  (linked to different Civitai models)' : ''}`);
    for (const c of g.copies) {
      const name = c.civitai ? `  ${printable(c.civitai.modelName)} — ${printable(c.civitai.versionName)}` : '';
      out.push(`  ${printable(c.absolute)}${name}`);
      for (const also of c.alsoAt) out.push(`    same file as ${printable(also)} (a link, not a copy)`);
    }
  }
  for (const v of r.sameVersion) {
    out.push(`same version, different files: ${printable(v.modelName)} — ${printable(v.versionName)}`);
    for (const f of v.files) out.push(`  ${printable(f.absolute)}  ${formatBytes(f.size)}`);
  }
  out.push(`${r.groups.length} group(s) of duplicates, ${formatBytes(r.reclaimable)} reclaimable`);
  process.stdout.write(out.join('\n') + '\n');
}
