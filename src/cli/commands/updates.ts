/** `modeldeck updates ROOT...`: newer published versions of the identified models, and ignoring them. */
import type { Command } from 'commander';
import type { UpdatesReport } from '../../core/library';
import { closeLibrary, openLibrary } from '../library-helpers';
import { downloadUpdates } from './updates-download';
import { formatBytes, interruptSignal, printable, printJsonLine, reportError } from '../output';

interface UpdateFlags {
  json?: boolean;
  allBases?: boolean;
  includeEarlyAccess?: boolean;
  refresh?: boolean;
  ignoreModel?: string;
  ignoreVersion?: string;
  unignore?: string;
  download?: boolean;
}

const id = (flag: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} ${v}: not a Civitai id`);
  return n;
};

export function registerUpdates(program: Command): void {
  program
    .command('updates')
    .description('newer published versions of the identified models (asked in bulk, cached a day)')
    .argument('<roots...>', 'library folders')
    .option('--json', 'one JSON object per update and line')
    .option('--all-bases', 'also versions for another base model')
    .option('--include-early-access', 'also versions in early access (marked)')
    .option('--refresh', 'ask Civitai again even where its answer is cached')
    .option('--ignore-version <versionId>', 'stop offering this update (a newer version is offered again)')
    .option('--ignore-model <modelId>', 'stop offering any update of this Civitai model')
    .option('--unignore <modelId>', 'forget the ignores of this Civitai model')
    .option('--download', 'download each update through "get", beside the version it updates')
    .action(async (roots: string[], flags: UpdateFlags) => {
      const ignoreModel = id('--ignore-model', flags.ignoreModel);
      const ignoreVersion = id('--ignore-version', flags.ignoreVersion);
      const unignore = id('--unignore', flags.unignore);
      const lib = await openLibrary(roots);
      const interrupt = interruptSignal();
      try {
        const options = { allBases: flags.allBases, includeEarlyAccess: flags.includeEarlyAccess, refresh: flags.refresh, signal: interrupt.signal };
        if (ignoreModel !== undefined || unignore !== undefined) {
          const modelId = (ignoreModel ?? unignore)!;
          const n = await lib.ignoreUpdates(modelId, ignoreModel !== undefined ? { model: true } : { clear: true });
          process.stdout.write(`${ignoreModel !== undefined ? 'ignoring updates of' : 'no longer ignoring updates of'} Civitai model ${modelId} (${n} file(s))\n`);
          return;
        }
        const report = await lib.updates(options);
        if (ignoreVersion !== undefined) {
          const u = report.updates.find((x) => x.latest.versionId === ignoreVersion);
          if (!u) throw new Error(`--ignore-version ${ignoreVersion}: not an update offered now (run "modeldeck updates" to see them)`);
          await lib.ignoreUpdates(u.modelId, { version: ignoreVersion });
          process.stdout.write(`ignoring ${printable(u.modelName)} — ${printable(u.latest.name)} until a newer version appears\n`);
          return;
        }
        for (const f of report.failed) reportError(new Error(`${f.ids.length} model(s) not checked: ${f.message}`));
        if (flags.json) for (const u of report.updates) printJsonLine(u);
        else printUpdates(report);
        if (flags.download) await downloadUpdates(lib, report, { json: flags.json, signal: interrupt.signal });
      } finally {
        interrupt.dispose();
        await closeLibrary(lib);
      }
    });
}

function printUpdates(r: UpdatesReport): void {
  const out: string[] = [];
  for (const u of r.updates) {
    const l = u.latest;
    const date = l.publishedAt ? l.publishedAt.slice(0, 10) : 'no date';
    const size = l.size === null ? 'size unknown' : formatBytes(l.size);
    out.push(`${printable(u.modelName)}: ${printable(u.current.name)} → ${printable(l.name)}  [${printable(l.baseModel ?? 'no base model')}, ${date}, ${size}]${l.earlyAccess ? '  EARLY ACCESS' : ''}${u.newer > 1 ? `  (${u.newer} newer versions)` : ''}`);
    out.push(`    ${printable(l.pageUrl)}  (version ${l.versionId}; beside ${printable(u.current.files[0]?.absolute ?? '?')})`);
  }
  out.push(`${r.updates.length} update(s) among ${r.checked} Civitai model(s)${r.ignored ? `, ${r.ignored} ignored` : ''}${r.missing.length ? `, ${r.missing.length} no longer on Civitai` : ''}`);
  process.stdout.write(out.join('\n') + '\n');
}
