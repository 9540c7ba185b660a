/**
 * `modeldeck get WHAT... [--to ROOT]`: download Civitai, HuggingFace or https
 * files into the library, verified, identified and indexed (see
 * src/core/download). A bar per download on a terminal; `--json` prints one
 * progress line per update and one result line per download.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { findRootOf } from '../../core/library';
import { getOne, parseFileSelector, MAX_CONNECTIONS, type GetResult, type OnConflict } from '../../core/download';
import { mark } from '../../core/download/timeline';
import { MODEL_KINDS, type ModelKind } from '../../core/probe/types';
import { closeLibrary, openLibrary } from '../library-helpers';
import { byteProgress, formatBytes, interruptSignal, printable, printJsonLine, reportError } from '../output';

interface GetFlags {
  to?: string;
  from?: string;
  connections?: string;
  file?: string;
  onConflict: string;
  kind?: string;
  json?: boolean;
  previews: boolean;
  nsfwLevel: string;
}

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('download models from Civitai, HuggingFace or an https URL into the library: resumable, verified, identified')
    .argument('[what...]', 'Civitai model/version/download URL, AIR, version id, HuggingFace resolve/blob URL, or https URL')
    .option('--to <root>', 'library root to download into (default: the library holding the current folder)')
    .option('--from <file>', 'read references from a file, one per line (# comments)')
    .option('--connections <n>', `connections per download, 1-${MAX_CONNECTIONS}`)
    .option('--file <selector>', 'which file of a Civitai version: type=,format=,size=,fp= (or fp16, pruned, safetensors)')
    .option('--on-conflict <rule>', 'a different file with the same name exists: skip or rename', 'rename')
    .option('--kind <kind>', 'folder for a HuggingFace or URL file whose kind its name does not tell')
    .option('--json', 'progress and results as JSON lines')
    .option('--no-previews', 'do not download a preview image')
    .option('--nsfw-level <n>', 'highest preview level: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX', '2')
    .action(async (what: string[], flags: GetFlags) => {
      const inputs = [...what];
      if (flags.from) inputs.push(...(await readFile(flags.from, 'utf8')).split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
      if (inputs.length === 0) throw new Error('nothing to download: give a link, or --from FILE');
      if (flags.onConflict !== 'skip' && flags.onConflict !== 'rename') throw new Error(`--on-conflict ${flags.onConflict}: use skip or rename`);
      if (flags.kind && !(MODEL_KINDS as readonly string[]).includes(flags.kind)) throw new Error(`--kind ${flags.kind}: use one of ${MODEL_KINDS.join(', ')}`);
      const nsfwLevel = Number(flags.nsfwLevel);
      if (![1, 2, 4, 8, 16].includes(nsfwLevel)) throw new Error(`--nsfw-level ${flags.nsfwLevel}: use 1, 2, 4, 8 or 16`);
      const connections = flags.connections === undefined ? undefined : Number(flags.connections);
      const selector = parseFileSelector(flags.file);
      const root = flags.to ? resolve(flags.to) : await findRootOf(process.cwd());
      if (!root) throw new Error('where to? give --to ROOT (a library folder)');
      mark('cli-action');
      const lib = await openLibrary([root], false);
      mark('library-open');
      const interrupt = interruptSignal();
      const secrets = [process.env.CIVITAI_TOKEN, process.env.HF_TOKEN, process.env.HUGGING_FACE_HUB_TOKEN].filter((s): s is string => !!s && s.length >= 4);
      const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('<token>'), printable(text));
      try {
        for (const input of inputs) {
          if (interrupt.signal.aborted) break;
          let bar: ReturnType<typeof byteProgress> | undefined;
          let lastLine = 0;
          try {
            const result = await getOne(lib, input, {
              root: lib.roots[0],
              connections,
              selector,
              onConflict: flags.onConflict as OnConflict,
              kind: flags.kind as ModelKind | undefined,
              previews: flags.previews,
              nsfwLevel,
              signal: interrupt.signal,
              onStart: (info) => {
                if (flags.json) printJsonLine({ event: 'start', input: scrub(input), name: info.name, path: info.path, size: info.size ?? null });
              },
              onProgress: (p) => {
                if (flags.json) {
                  const now = Date.now();
                  if (now - lastLine < 500 && p.received < p.total) return;
                  lastLine = now;
                  printJsonLine({ event: 'progress', input: scrub(input), name: p.name, received: p.received, total: p.total, bytesPerSecond: Math.round(p.bytesPerSecond), connections: p.connections });
                } else {
                  bar ??= byteProgress(printable(p.name).slice(0, 40), p.total);
                  bar.update(p.received);
                }
              },
            });
            bar?.stop();
            report(result, Boolean(flags.json), scrub);
          } catch (err) {
            bar?.stop();
            if (interrupt.signal.aborted) break;
            const message = scrub(err instanceof Error ? err.message : String(err));
            if (flags.json) printJsonLine({ event: 'error', input: scrub(input), code: (err as { code?: string }).code ?? 'error', message });
            reportError(message);
          }
        }
      } finally {
        interrupt.dispose();
        await closeLibrary(lib);
        mark('library-closed');
      }
    });
}

function report(r: GetResult, json: boolean, scrub: (s: string) => string): void {
  if (json) {
    if (r.status === 'downloaded') {
      printJsonLine({ event: 'done', status: r.status, input: scrub(r.input), path: r.path, size: r.size, fetched: r.fetched, resumedFrom: r.resumedFrom, verifiedBy: r.verifiedBy, hashes: r.model.hashes, civitai: r.model.civitai, ...(r.model.huggingFace ? { huggingFace: r.model.huggingFace } : {}), preview: r.model.preview ?? null, indexMs: r.indexMs, hashTailMs: r.hashTailMs });
    } else printJsonLine({ event: 'done', ...r, input: scrub(r.input) });
    return;
  }
  const out = (s: string) => process.stdout.write(scrub(s) + '\n');
  if (r.status === 'exists') out(`already in the library: ${r.path} (SHA256 ${r.sha256.slice(0, 12)}…); nothing downloaded`);
  else if (r.status === 'skipped') out(`skipped: ${r.path}: ${r.reason}`);
  else {
    const link = r.model.civitai.link;
    const who = link ? `${link.modelName} / ${link.versionName}` : 'not on Civitai';
    const resumed = r.resumedFrom ? `, resumed at ${formatBytes(r.resumedFrom)}` : '';
    const verified = r.verifiedBy === 'none' ? 'no published hash to verify against' : `SHA256 verified against ${r.verifiedBy === 'civitai' ? 'Civitai' : 'HuggingFace'}`;
    out(`${r.path}: ${formatBytes(r.size)}${resumed}; ${verified}; ${who}`);
  }
}
