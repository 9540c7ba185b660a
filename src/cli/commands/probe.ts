/** `modeldeck probe FILE...`: kind, base model and embedded AutoV3 of each file, from its header only. */
import type { Command } from 'commander';
import { BASE_MODEL_LABELS, probeFile, type ProbeResult } from '../../core/probe';
import { formatBytes, printable, printJsonLine, reportError } from '../output';

/** Human mode shows at most this many metadata keys and characters per value. */
const MAX_METADATA_KEYS = 40;
const MAX_VALUE_CHARS = 100;

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('tell what model files are (kind, base model, embedded AutoV3) from their headers, without hashing')
    .argument('<files...>', 'model files')
    .option('--json', 'one JSON object per file and line')
    .action(async (files: string[], opts: { json?: boolean }) => {
      await probeAll(files, Boolean(opts.json));
    });
}

async function probeAll(files: string[], json: boolean): Promise<void> {
  for (const file of files) {
    let result: ProbeResult;
    try {
      result = await probeFile(file);
    } catch (err) {
      // One bad file must not stop the others; the exit code says something failed.
      reportError(err, file);
      continue;
    }
    if (json) printJsonLine(toJson(result));
    else process.stdout.write(formatHuman(result));
  }
}

/** The documented JSON shape: fixed keys first, optional ones only when present. */
function toJson(r: ProbeResult): Record<string, unknown> {
  return {
    file: r.file,
    size: r.size,
    format: r.format,
    kind: r.kind,
    baseModel: r.baseModel,
    evidence: r.evidence,
    conflicts: r.conflicts,
    embeddedAutoV3: r.embeddedAutoV3,
    metadata: r.metadata,
    tensorCount: r.tensorCount,
    gguf: r.gguf,
  };
}

export function formatHuman(r: ProbeResult): string {
  const lines = [r.file];
  const tensors = r.tensorCount === undefined ? '' : `, ${r.tensorCount} tensor${r.tensorCount === 1 ? '' : 's'}`;
  lines.push(`  ${r.format}, ${formatBytes(r.size)}${tensors}`);
  lines.push(`  kind: ${r.kind}   base: ${BASE_MODEL_LABELS[r.baseModel]}`);
  if (r.embeddedAutoV3) lines.push(`  embedded AutoV3: ${r.embeddedAutoV3.short} (${r.embeddedAutoV3.source})`);
  if (r.evidence.length > 0) lines.push('  evidence:', ...r.evidence.map((e) => `    - ${printable(e)}`));
  if (r.conflicts?.length) lines.push('  conflicts:', ...r.conflicts.map((c) => `    - ${printable(c)}`));
  if (r.gguf) {
    const general = ['general.architecture', 'general.name']
      .filter((k) => r.gguf!.metadata[k] !== undefined)
      .map((k) => `${k}=${truncate(String(r.gguf!.metadata[k]))}`);
    lines.push(`  gguf v${r.gguf.version}, ${r.gguf.kvCount} keys${general.length ? `: ${general.join(', ')}` : ''}`);
  }
  const keys = Object.keys(r.metadata ?? {}).sort();
  if (keys.length > 0) {
    lines.push(`  metadata (${keys.length} keys):`);
    for (const key of keys.slice(0, MAX_METADATA_KEYS)) lines.push(`    ${truncate(key)}: ${truncate(r.metadata![key])}`);
    if (keys.length > MAX_METADATA_KEYS) lines.push(`    … ${keys.length - MAX_METADATA_KEYS} more (use --json)`);
  }
  return `${lines.join('\n')}\n`;
}

/** `ss_tag_frequency` and thumbnails can be megabytes: show the start and the full length. */
function truncate(value: string): string {
  const flat = printable(value);
  // The length is the value's own, not the printed one's (controls are removed from what is printed).
  return flat.length > MAX_VALUE_CHARS ? `${flat.slice(0, MAX_VALUE_CHARS)}… (${value.length} chars)` : flat;
}
