/**
 * PyTorch pickles (`.ckpt`, `.pt`, `.pth`, `.bin`): loading one runs code the
 * file chooses, so the probe never opens them. All it has is the name and the
 * size, and every line of evidence says that it is a guess.
 */
import { baseFromName, kindFromName } from './name-hints';
import type { BaseModel, ModelKind, ProbeOptions } from './types';

/** Extensions that mean a pickle; the probe only stats these. */
export const PICKLE_EXTENSIONS = ['.ckpt', '.pt', '.pth', '.bin', '.pkl'];

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface PickleGuess {
  kind: ModelKind;
  baseModel: BaseModel;
  evidence: string[];
}

/**
 * Guesses kind and base from the file name and size. `why` says how the file
 * was recognised as a pickle (its extension, or its first bytes).
 */
export function guessPickle(fileName: string, size: number, why: string, options: ProbeOptions = {}): PickleGuess {
  const evidence = [`pickle (${why}): not opened, guessed by name and size`];
  const ext = /\.[^.]*$/.exec(fileName)?.[0].toLowerCase() ?? '';
  let kind: ModelKind = 'unknown';

  const byName = kindFromName(fileName);
  if (byName && byName.kind === 'vae' && size >= GiB) {
    // "…-with-vae.ckpt": a checkpoint with a baked-in VAE, not a VAE (those are ~330 MB).
    kind = 'checkpoint';
    evidence.push(`name contains "vae" but ${formatSize(size)} is checkpoint-sized (guess by name and size)`);
  } else if (byName) {
    kind = byName.kind;
    evidence.push(byName.evidence);
  } else if (size < MiB && (ext === '.pt' || ext === '.bin')) {
    kind = 'embedding';
    evidence.push(`${formatSize(size)} ${ext}: likely a textual-inversion embedding (guess by size)`);
  } else if (ext === '.pth' && size < 200 * MiB) {
    kind = 'upscaler';
    evidence.push(`${formatSize(size)} .pth: likely an ESRGAN-style upscaler (guess by extension and size)`);
  } else if (ext === '.ckpt' && size >= 1.5 * GiB) {
    kind = 'checkpoint';
    evidence.push(`${formatSize(size)} .ckpt: likely a checkpoint (guess by size)`);
  } else if (options.kindHint && options.kindHint !== 'unknown') {
    kind = options.kindHint;
    evidence.push(`kind hint from caller: ${options.kindHint}`);
  }

  const base = baseFromName(fileName);
  if (base) evidence.push(base.evidence);
  return { kind, baseModel: base?.base ?? 'unknown', evidence };
}

function formatSize(bytes: number): string {
  if (bytes < MiB) return `${Math.ceil(bytes / 1024)} KiB`;
  if (bytes < GiB) return `${(bytes / MiB).toFixed(0)} MiB`;
  return `${(bytes / GiB).toFixed(1)} GiB`;
}
