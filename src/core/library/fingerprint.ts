/**
 * A cheap identity for a file that does not read it whole: its size and a
 * SHA-256 over three 4 KiB samples (start, middle, end). A file moved or
 * renamed inside the library keeps its fingerprint, so its hashes and Civitai
 * link follow it without a re-hash. Two different model files of the same size
 * agreeing on all three samples (the header included) do not occur in practice;
 * `scan --verify` re-hashes everything for whoever wants certainty.
 */
import { createHash } from 'node:crypto';
import { openForReading } from '../open-file';
import { FileAccessError, describeFsError } from '../errors';

const SAMPLE = 4096;

export async function fingerprint(file: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.alloc(SAMPLE);
  const fh = await openForReading(file);
  try {
    const offsets = [...new Set([0, Math.max(0, Math.floor(size / 2) - SAMPLE / 2), Math.max(0, size - SAMPLE)])];
    for (const at of offsets) {
      const { bytesRead } = await fh.read(buf, 0, SAMPLE, at);
      h.update(buf.subarray(0, bytesRead));
    }
  } catch (err) {
    throw new FileAccessError(file, describeFsError(err), { cause: err });
  } finally {
    await fh.close();
  }
  return `${size}:${h.digest('hex').slice(0, 24)}`;
}
