/** `modeldeck ls ROOT`: the models a scan indexed, with search, filters and sort. */
import type { Command } from 'commander';
import { MODEL_STATUSES, SORT_KEYS, displayName, statusesOf, type ModelFilter } from '../../core/library';
import { BASE_MODELS, BASE_MODEL_LABELS, MODEL_KINDS, type BaseModel, type ModelKind } from '../../core/probe/types';
import { closeLibrary, openLibrary } from '../library-helpers';
import { formatBytes, printable, printJsonLine } from '../output';

const FILTER_KEYS = ['kind', 'base', 'status', 'text', 'sort'];

/** `--filter kind=lora --filter base=sdxl --filter text="add detail"` into a ModelFilter, checked. */
export function parseFilters(pairs: string[]): ModelFilter {
  const f: ModelFilter = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    const value = pair.slice(eq + 1);
    const oneOf = (allowed: readonly string[]) => {
      if (!allowed.includes(value)) throw new Error(`--filter ${key}=${value}: use one of ${allowed.join(', ')}`);
      return value;
    };
    if (key === 'kind') f.kind = oneOf(MODEL_KINDS) as ModelKind;
    else if (key === 'base') f.baseModel = oneOf(BASE_MODELS) as BaseModel;
    else if (key === 'status') f.status = oneOf(MODEL_STATUSES) as ModelFilter['status'];
    else if (key === 'sort') f.sort = oneOf(SORT_KEYS) as ModelFilter['sort'];
    else if (key === 'text') f.text = value;
    else throw new Error(`--filter ${pair}: use KEY=VALUE with KEY one of ${FILTER_KEYS.join(', ')}`);
  }
  return f;
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list indexed models (run "modeldeck scan" first)')
    .argument('<root>', 'library folder')
    .option('--json', 'one JSON object per model and line')
    .option('--filter <key=value>', `repeatable; keys: ${FILTER_KEYS.join(', ')}`, (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (root: string, flags: { json?: boolean; filter: string[] }) => {
      const filter = parseFilters(flags.filter);
      const lib = await openLibrary([root], true);
      try {
        for (const m of lib.models(filter)) {
          if (flags.json) {
            printJsonLine({ ...m, status: statusesOf(m) });
            continue;
          }
          const link = m.civitai.link;
          const where = link ? `civitai ${link.modelId}@${link.versionId}` : m.civitai.status === 'not_found' ? 'not on Civitai' : 'not identified';
          process.stdout.write(
            `${printable(displayName(m))}  [${m.kind}, ${printable(link?.baseModel ?? BASE_MODEL_LABELS[m.baseModel])}, ${formatBytes(m.size)}]  ${where}\n    ${printable(m.path)}\n`,
          );
        }
      } finally {
        await closeLibrary(lib);
      }
    });
}
