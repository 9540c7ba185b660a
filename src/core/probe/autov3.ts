/**
 * The AutoV3 a trainer embedded in the header. kohya writes the addnet hash
 * (SHA-256 of the tensor bytes, which is what Civitai calls AutoV3) as
 * `sshs_model_hash`, and SAI ModelSpec as `modelspec.hash_sha256`, sometimes
 * `0x`-prefixed. Reading it lets a LoRA be looked up on Civitai before its full
 * hash is computed. It is a claim by the writer: editing the tensors afterwards
 * without rewriting the metadata leaves it stale, so the real hash still wins.
 */
import type { EmbeddedAutoV3 } from './types';

/** SHA-256 of nothing: what a trainer writes when it hashed before saving any tensors. */
const EMPTY_SHA256 = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';

const SOURCES: readonly EmbeddedAutoV3['source'][] = ['sshs_model_hash', 'modelspec.hash_sha256'];

/** Normalises a claimed hash to 64 upper-case hex, or undefined when it is not one. */
export function normalizeSha256(value: string): string | undefined {
  const hex = value.trim().replace(/^0x/i, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex) || hex === EMPTY_SHA256) return undefined;
  return hex;
}

/** The first usable embedded AutoV3, kohya's key first; undefined when there is none. */
export function readEmbeddedAutoV3(metadata: Readonly<Record<string, string>>): EmbeddedAutoV3 | undefined {
  for (const source of SOURCES) {
    const value = metadata[source];
    const full = value === undefined ? undefined : normalizeSha256(value);
    if (full) return { full, short: full.slice(0, 12), source };
  }
  return undefined;
}

/** A note when the two embedded hashes are both valid and disagree, else undefined. */
export function embeddedAutoV3Conflict(metadata: Readonly<Record<string, string>>): string | undefined {
  const values = SOURCES.map((s) => (metadata[s] === undefined ? undefined : normalizeSha256(metadata[s])));
  if (values[0] && values[1] && values[0] !== values[1]) {
    return `sshs_model_hash and modelspec.hash_sha256 differ; using sshs_model_hash`;
  }
  return undefined;
}
