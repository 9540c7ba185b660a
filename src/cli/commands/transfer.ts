/** `modeldeck export ROOT` and `modeldeck import FILE ROOT`: carry hashes, links and edits to another machine. */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { printable } from '../output';
import { closeLibrary, openLibrary } from '../library-helpers';

export function registerTransfer(program: Command): void {
  program
    .command('export')
    .description('write every model\'s hashes, Civitai ids and manual links to one JSON file (no paths outside the root, no token)')
    .argument('<root>', 'library folder')
    .option('-o, --output <file>', 'write here instead of standard output')
    .action(async (root: string, flags: { output?: string }) => {
      const lib = await openLibrary([root], true);
      try {
        const text = JSON.stringify(lib.export(), null, 1) + '\n';
        if (flags.output) await writeFile(flags.output, text);
        else process.stdout.write(text);
      } finally {
        await closeLibrary(lib);
      }
    });
  program
    .command('import')
    .description('apply an export to a library, matching files by SHA256 (works after moves and renames)')
    .argument('<file>', 'a file written by "modeldeck export"')
    .argument('<root>', 'library folder (files it has not indexed yet are indexed first, offline)')
    .action(async (file: string, root: string) => {
      let doc: unknown;
      try {
        doc = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new Error(`${file}: not a modeldeck export (${(err as Error).message})`);
      }
      const lib = await openLibrary([root], true);
      try {
        const r = await lib.import(doc);
        if (r.indexed) process.stdout.write(`indexed ${r.indexed} new file(s) first (offline; hashed only where a fingerprint matched)\n`);
        process.stdout.write(`${r.matched} of ${r.models} exported models matched files in ${printable(lib.roots[0])} (${r.matchedBySha256} by SHA256, ${r.matchedByFingerprint} by fingerprint)\n`);
        if (r.unmatched.length) process.stdout.write(`not found here (not in this folder, or changed): ${printable(r.unmatched.join(', '))}\n`);
        for (const why of r.rejected) process.stderr.write(`modeldeck: ${printable(file)}: left out, not a valid model entry: ${printable(why)}\n`);
        for (const why of r.dropped ?? []) process.stderr.write(`modeldeck: ${printable(file)}: HuggingFace origin left out (the rest imported): ${printable(why)}\n`);
      } finally {
        await closeLibrary(lib);
      }
    });
}
