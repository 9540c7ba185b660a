/**
 * `probeFile`: what a model file is, from its header alone (a few KB to a few
 * MB read, never the tensors), or from its name and size for pickles.
 *
 * Errors are per file and one line: FileAccessError when the file cannot be
 * read, MalformedFileError when its header breaks its format.
 */
import { openForReading } from '../open-file';
import { stat, type FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { FileAccessError, describeFsError } from '../errors';
import { MAX_HEADER_BYTES, hasSafetensorsExtension, readSafetensorsHeaderFrom } from '../safetensors';
import { embeddedAutoV3Conflict, readEmbeddedAutoV3 } from './autov3';
import { isGgufMagic, readGgufHeaderFrom } from './gguf';
import { ggufArchitecture } from './gguf-arch';
import { inferBase, shapeNotes } from './infer-base';
import { inferKind } from './infer-kind';
import { baseFromName, kindFromName, quote } from './name-hints';
import { PICKLE_EXTENSIONS, guessPickle } from './pickle';
import { type ModelView, type ProbeOptions, type ProbeResult } from './types';

export async function probeFile(file: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  let size: number;
  try {
    const st = await stat(file);
    // Checked before any open: opening a FIFO would block, a directory reads as EISDIR.
    if (st.isDirectory()) throw new FileAccessError(file, 'is a directory, not a file');
    if (!st.isFile()) throw new FileAccessError(file, 'not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof FileAccessError) throw err;
    throw new FileAccessError(file, describeFsError(err), { cause: err });
  }

  const ext = extname(file).toLowerCase();
  if (PICKLE_EXTENSIONS.includes(ext)) return pickleResult(file, size, `${ext} extension`, options);

  const fh = await openForReading(file);
  try {
    return await probeOpenFile(fh, file, (await fh.stat()).size, options);
  } finally {
    await fh.close();
  }
}

/**
 * The probe of a file the caller already opened (a scan opens each new file
 * once for its fingerprint, probe and hashes); the caller closes it.
 */
export async function probeOpenFile(fh: FileHandle, file: string, size: number, options: ProbeOptions = {}): Promise<ProbeResult> {
  const ext = extname(file).toLowerCase();
  if (PICKLE_EXTENSIONS.includes(ext)) return pickleResult(file, size, `${ext} extension`, options);
  if (hasSafetensorsExtension(file)) return probeSafetensors(fh, file, size, options);
  if (ext === '.gguf') return probeGguf(fh, file, size, options);
  return probeBySniffing(fh, file, size, options);
}

async function probeSafetensors(fh: FileHandle, file: string, size: number, options: ProbeOptions): Promise<ProbeResult> {
  const header = await readSafetensorsHeaderFrom(fh, file, size);
  const view: ModelView = { fileName: basename(file), metadata: header.metadata, tensors: header.tensors };
  const kind = inferKind(view, options);
  const base = inferBase(view);
  const conflicts = [...kind.conflicts, ...base.conflicts];
  const autoV3Conflict = embeddedAutoV3Conflict(header.metadata);
  if (autoV3Conflict) conflicts.push(autoV3Conflict);

  const result: ProbeResult = {
    file,
    size,
    format: 'safetensors',
    kind: kind.value,
    baseModel: base.value,
    evidence: unique([...kind.evidence, ...base.evidence, ...shapeNotes(header.tensors)]),
    tensorCount: header.tensors.size,
  };
  if (conflicts.length > 0) result.conflicts = conflicts;
  const embedded = readEmbeddedAutoV3(header.metadata);
  if (embedded) result.embeddedAutoV3 = embedded;
  if (Object.keys(header.metadata).length > 0) result.metadata = header.metadata;
  return result;
}

async function probeGguf(fh: FileHandle, file: string, size: number, options: ProbeOptions): Promise<ProbeResult> {
  const { info, tensors } = await readGgufHeaderFrom(fh, file, size);
  // GGUF tensor names are the original state-dict names (city96's converter keeps them),
  // so the safetensors rules apply; the string fields the rules know are passed as metadata.
  const metadata: Record<string, string> = {};
  for (const key of ['general.architecture', 'general.name']) {
    const value = info.metadata[key];
    if (typeof value === 'string') metadata[key] = value;
  }
  const view: ModelView = { fileName: basename(file), metadata, tensors };
  const kind = inferKind(view, options);
  const base = inferBase(view);
  const evidence = [...kind.evidence, ...base.evidence];
  const arch = metadata['general.architecture'];
  if (arch && !ggufArchitecture(arch).image) {
    evidence.push(`general.architecture=${quote(arch)} (a language or text-encoder model)`);
  }
  if (info.truncated) evidence.push('GGUF header read in part (a cap on keys, tensors or bytes was reached)');

  const result: ProbeResult = {
    file,
    size,
    format: 'gguf',
    kind: kind.value,
    baseModel: base.value,
    evidence: unique(evidence),
    tensorCount: info.tensorCount,
    gguf: info,
  };
  const conflicts = [...kind.conflicts, ...base.conflicts];
  if (conflicts.length > 0) result.conflicts = conflicts;
  return result;
}

/** A file with an extension we do not know: look at its first bytes (reading is safe; unpickling is not). */
async function probeBySniffing(fh: FileHandle, file: string, size: number, options: ProbeOptions): Promise<ProbeResult> {
  const prefix = Buffer.alloc(Math.min(size, 16));
  let got = 0;
  try {
    if (prefix.length > 0) ({ bytesRead: got } = await fh.read(prefix, 0, prefix.length, 0));
  } catch (err) {
    throw new FileAccessError(file, describeFsError(err), { cause: err });
  }
  const head = prefix.subarray(0, got);
  if (isGgufMagic(head)) return probeGguf(fh, file, size, options);
  if (head.length >= 9 && head[8] === 0x7b) {
    const n = head.readBigUInt64LE(0);
    if (n >= 2n && n <= BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) return probeSafetensors(fh, file, size, options);
  }
  // PyTorch's zip container, or a bare pickle starting with the PROTO opcode.
  if (head.toString('latin1', 0, 4) === 'PK\x03\x04') return pickleResult(file, size, 'zip container found in its first bytes', options);
  if (head[0] === 0x80 && head[1] !== undefined && head[1] >= 2 && head[1] <= 5) {
    return pickleResult(file, size, 'pickle opcode found in its first bytes', options);
  }

  const evidence = [size === 0 ? 'empty file' : 'unrecognised format (not safetensors, GGUF or a pickle)'];
  const byName = kindFromName(basename(file));
  let kind = byName?.kind ?? 'unknown';
  if (byName) evidence.push(byName.evidence);
  else if (options.kindHint && options.kindHint !== 'unknown') {
    kind = options.kindHint;
    evidence.push(`kind hint from caller: ${options.kindHint}`);
  }
  const baseByName = baseFromName(basename(file));
  if (baseByName) evidence.push(baseByName.evidence);
  return { file, size, format: 'unknown', kind, baseModel: baseByName?.base ?? 'unknown', evidence };
}

function pickleResult(file: string, size: number, why: string, options: ProbeOptions): ProbeResult {
  const guess = guessPickle(basename(file), size, why, options);
  return { file, size, format: 'pickle', kind: guess.kind, baseModel: guess.baseModel, evidence: guess.evidence };
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}
