/** `modeldeck info FILE`: everything the index knows about one model file. */
import type { Command } from 'commander';
import { statusesOf } from '../../core/library';
import { HASH_NAMES } from '../../core/hash/names';
import { closeLibrary, openLibrary, rootOf, userPath } from '../library-helpers';
import { formatBytes, printable, printJsonLine, reportError } from '../output';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show what the library knows about model files: hashes and where they came from, Civitai link, warnings')
    .argument('<files...>', 'model files inside a scanned library')
    .option('--json', 'one JSON object per file and line')
    .action(async (files: string[], flags: { json?: boolean }) => {
      for (const file of files) {
        try {
          const abs = await userPath(file);
          const lib = await openLibrary([await rootOf(abs)], true);
          try {
            const m = lib.get(abs);
            if (!m) throw new Error(`${file}: not in the index yet (run "modeldeck scan" on its library)`);
            if (flags.json) {
              printJsonLine({ ...m, status: statusesOf(m) });
              continue;
            }
            const link = m.civitai.link;
            const lines = [printable(m.absolute), `  ${m.kind}, ${m.baseModel}, ${formatBytes(m.size)}; status: ${statusesOf(m).join(', ')}`];
            for (const name of HASH_NAMES) {
              if (m.hashes[name]) lines.push(`  ${name.padEnd(7)} ${m.hashes[name]}  (${m.hashSources[name] ?? 'unknown'})`);
            }
            if (link) {
              lines.push(`  Civitai: ${printable(link.modelName)} — ${printable(link.versionName)} (${printable(link.type)}, ${printable(link.baseModel ?? '?')})`, `    ${printable(link.pageUrl)}`);
              if (link.trainedWords.length) lines.push(`    trained words: ${printable(link.trainedWords.join(', '))}`);
              lines.push(`    matched by ${link.matchedBy}`);
            } else {
              lines.push(`  Civitai: ${m.civitai.status === 'not_found' ? 'not on Civitai' : 'not identified yet'}`);
            }
            const hf = m.huggingFace;
            if (hf) {
              lines.push(`  HuggingFace: ${printable(hf.repo)} @ ${printable(hf.revision)}${hf.commit ? ` (commit ${hf.commit.slice(0, 12)})` : ''}, ${printable(hf.path)}`);
              if (hf.license) lines.push(`    license: ${printable(hf.license)}`);
              if (hf.baseModels?.length) lines.push(`    base model: ${printable(hf.baseModels.join(', '))}`);
            }
            if (m.civitai.lastError) lines.push(`  last lookup failed: ${printable(m.civitai.lastError.message)}`);
            if (m.preview) lines.push(`  preview: ${printable(m.preview)}`);
            for (const c of m.conflicts) lines.push(`  conflict: ${printable(c)}`);
            for (const w of m.warnings) lines.push(`  warning: ${printable(w)}`);
            process.stdout.write(lines.join('\n') + '\n');
          } finally {
            await closeLibrary(lib);
          }
        } catch (err) {
          reportError(err, file);
        }
      }
    });
}
