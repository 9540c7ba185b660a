/** `modeldeck link FILE URL|AIR|HASH`: tie a file to a Civitai version by hand, or set a hash. */
import type { Command } from 'commander';
import type { HashName } from '../../core/hash/names';
import { closeLibrary, openLibrary, rootOf, userPath } from '../library-helpers';
import { printable, printJsonLine } from '../output';

/** A pasted hash's type, by length (8 hex is taken as AutoV1, the form A1111 shows). */
const HASH_BY_LENGTH: Record<number, HashName> = { 64: 'SHA256', 12: 'AutoV3', 10: 'AutoV2', 8: 'AutoV1' };

export function registerLink(program: Command): void {
  program
    .command('link')
    .description('link a model file to a Civitai version (URL or AIR), or set its hash (then identify it again)')
    .argument('<file>', 'model file inside a scanned library')
    .argument('<reference>', 'Civitai URL, AIR, or a hash')
    .option('--json', 'print the updated entry as JSON')
    .action(async (given: string, reference: string, flags: { json?: boolean }) => {
      const file = await userPath(given);
      const lib = await openLibrary([await rootOf(file)]);
      try {
        const ref = reference.trim();
        const hashName = /^[0-9a-fA-F]+$/.test(ref) ? HASH_BY_LENGTH[ref.length] : undefined;
        let model;
        if (hashName) {
          await lib.setHash(file, hashName, ref);
          model = await lib.refresh(file);
        } else {
          model = await lib.link(file, ref);
        }
        if (flags.json) printJsonLine(model);
        else {
          const link = model.civitai.link;
          process.stdout.write(
            link
              ? `${printable(model.absolute)}: ${printable(link.modelName)} — ${printable(link.versionName)} (${printable(link.pageUrl)}), linked by ${link.matchedBy}\n`
              : `${printable(model.absolute)}: ${hashName} set; Civitai ${model.civitai.status === 'not_found' ? 'does not know this hash' : 'was not reached'}\n`,
          );
        }
      } finally {
        await closeLibrary(lib);
      }
    });
}
