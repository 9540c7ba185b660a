/**
 * The six hashes Civitai knows a file by, as it names them in `files[].hashes`.
 */
export const HASH_NAMES = ['SHA256', 'AutoV1', 'AutoV2', 'AutoV3', 'BLAKE3', 'CRC32'] as const;
export type HashName = (typeof HASH_NAMES)[number];

/** What `modeldeck hash` and a scan compute unless told otherwise: the SHA-256 family. */
export const DEFAULT_HASHES: readonly HashName[] = ['SHA256', 'AutoV1', 'AutoV2', 'AutoV3'];

/**
 * Hex digests, upper case as Civitai stores them. A key is absent when the hash
 * was not asked for or does not apply (AutoV1 of a file under 2 MiB, AutoV3 of a
 * file that is not safetensors).
 */
export type FileHashes = Partial<Record<HashName, string>> & {
  /** The full 64-hex AutoV3 (kohya "addnet" hash); Civitai keeps only its first 12. */
  AutoV3Full?: string;
};

const BY_LOWER = new Map(HASH_NAMES.map((n) => [n.toLowerCase(), n]));

/** Parses `sha256,autov3` or `all` (any case, spaces allowed) into hash names. */
export function parseHashList(text: string): HashName[] {
  const parts = text
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('empty hash list; use names from: all, ' + HASH_NAMES.join(', ').toLowerCase());
  if (parts.includes('all')) return [...HASH_NAMES];
  const out: HashName[] = [];
  for (const p of parts) {
    const name = BY_LOWER.get(p);
    if (!name) throw new Error(`unknown hash "${p}"; use names from: all, ${HASH_NAMES.join(', ').toLowerCase()}`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}
