/**
 * `modeldeck lookup HASH|URL|AIR|FILE`: which Civitai model version this is.
 *
 * A FILE is hashed first; a hash (pasted or computed) goes through the cached
 * resolver, so a repeated lookup does not ask Civitai again (`--refresh` does).
 * URLs and AIRs name ids and are fetched directly.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { ModeldeckError } from '../../core/errors';
import type { FileHashes } from '../../core/hash/names';
import {
  CivitaiClient,
  NotFound,
  parseReference,
  type ModelVersion,
  type ResolveInput,
  type ResolveResult,
  type VersionFile,
} from '../../core/civitai';
import { formatBytes, interruptSignal, jsonText, printable, reportError } from '../output';

interface LookupOptions {
  json?: boolean;
  refresh?: boolean;
}

interface Found {
  version: ModelVersion;
  matchedBy: string | null;
  matchedFile: string | null;
  cached: boolean;
  file?: { path: string; size: number; hashes: FileHashes };
}

export function registerLookup(program: Command): void {
  program
    .command('lookup')
    .description('identify a model version on Civitai from a hash, a Civitai URL, an AIR, or a model file')
    .argument('<what>', 'hash (SHA256, AutoV3, ...), civitai.com URL, AIR (urn:air:...), or a local model file')
    .option('--json', 'print one JSON object')
    .option('--refresh', 'ask Civitai even if an answer is cached')
    .action(async (what: string, opts: LookupOptions) => {
      await lookup(what, opts);
    });
}

async function lookup(what: string, opts: LookupOptions): Promise<void> {
  const client = new CivitaiClient();
  const interrupt = interruptSignal();
  try {
    const found = await find(client, what, opts, interrupt.signal);
    if (opts.json) process.stdout.write(jsonText(toJson(what, found), 2) + '\n');
    else process.stdout.write(toText(found));
  } catch (err) {
    if (interrupt.signal.aborted) return;
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const code = err instanceof ModeldeckError ? err.code : 'error';
    if (opts.json) process.stdout.write(jsonText({ query: what, found: false, error: { code, message } }, 2) + '\n');
    reportError(message);
  } finally {
    interrupt.dispose();
    await client.close();
  }
}

async function find(client: CivitaiClient, what: string, opts: LookupOptions, signal: AbortSignal): Promise<Found> {
  const info = await stat(what).catch(() => undefined);
  if (info?.isDirectory()) throw new ModeldeckError('file_access', `${what}: is a directory; give one model file`);
  if (info?.isFile()) {
    // Loaded only here: URL lookups need no hashing workers.
    const { hashFile } = await import('../../core/hash');
    const hashed = await hashFile(what, { hashes: ['SHA256', 'AutoV1', 'AutoV2', 'AutoV3'], signal });
    const result = await resolveOne(client, { key: what, hashes: hashed.hashes }, opts, signal, what);
    return { ...result, file: { path: hashed.file, size: hashed.size, hashes: hashed.hashes } };
  }

  const ref = parseReference(what);
  switch (ref.kind) {
    case 'hash':
      return resolveOne(client, { key: what, hashes: {}, anyHash: ref.hash }, opts, signal, what);
    case 'version':
      return fetched(await client.getVersion(ref.versionId, { signal }));
    case 'model': {
      if (ref.versionId !== null) return fetched(await client.getVersion(ref.versionId, { signal }));
      const model = await client.getModel(ref.modelId, { signal });
      // A model page without a version means its newest version, as the site shows it.
      if (!model.versions.length) throw new NotFound(`civitai model ${model.id}`, 'the model has no published version');
      return fetched(model.versions[0]);
    }
    case 'image':
      throw new ModeldeckError('unsupported_reference', `${what}: an image page, not a model; paste the model's page URL, an AIR or a hash`);
  }
}

async function resolveOne(client: CivitaiClient, input: ResolveInput, opts: LookupOptions, signal: AbortSignal, what: string): Promise<Found> {
  const [result]: ResolveResult[] = await client.resolve([input], { refresh: opts.refresh, signal });
  if (result.status === 'error') throw result.error;
  if (result.status === 'not_found') {
    const hosts = client.hosts.map((h) => new URL(h).host).join(' or ');
    // Named after the user's input (a file or a hash), not an API path.
    throw new ModeldeckError('civitai_not_found', `${what}: no model version with this hash on ${hosts}${result.cached ? ' (cached answer; --refresh asks again)' : ''}`);
  }
  return { version: result.version, matchedBy: result.matchedBy, matchedFile: result.file?.name ?? null, cached: result.cached };
}

function fetched(version: ModelVersion): Found {
  return { version, matchedBy: null, matchedFile: null, cached: false };
}

function toJson(query: string, f: Found): Record<string, unknown> {
  const v = f.version;
  return {
    query,
    found: true,
    modelId: v.modelId,
    modelName: v.model.name,
    versionId: v.id,
    versionName: v.name,
    type: v.model.type,
    baseModel: v.baseModel,
    trainedWords: v.trainedWords,
    air: v.air,
    nsfw: v.model.nsfw,
    pageUrl: v.pageUrl,
    downloadUrl: v.downloadUrl,
    matchedBy: f.matchedBy,
    matchedFile: f.matchedFile,
    cached: f.cached,
    files: v.files.map(fileJson),
    ...(f.file ? { file: f.file } : {}),
  };
}

function fileJson(file: VersionFile): Record<string, unknown> {
  return { name: file.name, type: file.type, sizeKB: file.sizeKB, primary: file.primary, hashes: file.hashes, downloadUrl: file.downloadUrl };
}

/** Every string from Civitai's answer goes through `printable`: names, types, words, URLs. */
function toText(f: Found): string {
  const v = f.version;
  const p = printable;
  const lines = [
    `${p(v.model.name)} — ${p(v.name)}`,
    `  model     ${v.modelId}  (${p(v.model.type)})`,
    `  version   ${v.id}`,
    `  base      ${p(v.baseModel ?? '?')}`,
    `  trained   ${v.trainedWords.length ? p(v.trainedWords.join(', ')) : '-'}`,
    `  page      ${p(v.pageUrl)}`,
  ];
  if (f.matchedBy) lines.push(`  matched   ${f.matchedBy}${f.matchedFile ? ` (${p(f.matchedFile)})` : ''}${f.matchedBy !== 'SHA256' ? ' — provisional, SHA256 differs or is unknown' : ''}${f.cached ? ', cached' : ''}`);
  lines.push('  files');
  for (const file of v.files) {
    const size = file.sizeKB !== null ? formatBytes(Math.round(file.sizeKB * 1024)) : '? B';
    lines.push(`    ${p(file.name)}  (${p(file.type ?? '?')}, ${size}${file.primary ? ', primary' : ''})`);
    for (const [name, value] of Object.entries(file.hashes)) lines.push(`      ${p(name).padEnd(7)} ${p(value)}`);
  }
  return lines.join('\n') + '\n';
}
