/**
 * Hash values found in other tools' files, checked before they are believed.
 * Tools disagree on case (LM lower, CBP/SM/Civitai upper, A1111 cache lower;
 * formats §12), so everything is compared and stored upper-case, as Civitai
 * stores it. A value of the wrong length or with non-hex characters is dropped.
 */
import type { HashName } from '../hash/names';

const HEX_LENGTH: Record<HashName, number[]> = {
  SHA256: [64],
  BLAKE3: [64],
  CRC32: [8],
  AutoV1: [8],
  AutoV2: [10],
  // Civitai keeps the first 12 hex of the kohya addnet hash; some tools store all 64.
  AutoV3: [12, 64],
};

/** The upper-case form of a valid `name` hash, or null. A 64-hex AutoV3 is cut to its 12-hex Civitai form. */
export function normaliseHashValue(name: HashName, value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const s = value.trim().replace(/^0x/i, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(s) || !HEX_LENGTH[name].includes(s.length)) return null;
  return name === 'AutoV3' ? s.slice(0, 12) : s;
}
