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
import type { ResumableFile } from '../io/resumable-file';

const SAMPLE = 4096;

function sampleOffsets(size: number): number[] {
  return [...new Set([0, Math.max(0, Math.floor(size / 2) - SAMPLE / 2), Math.max(0, size - SAMPLE)])];
}

/** The same fingerprint from a file the scan already opened (no open of its own; reads are retried). */
export async function fingerprintOpenFile(source: ResumableFile): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.alloc(SAMPLE);
  for (const at of sampleOffsets(source.size)) {
    let got = 0;
    while (got < SAMPLE && at + got < source.size) {
      const n = await source.read(buf, got, SAMPLE - got, at + got);
      if (n === 0) break;
      got += n;
    }
    h.update(buf.subarray(0, got));
  }
  return `${source.size}:${h.digest('hex').slice(0, 24)}`;
}

export async function fingerprint(file: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.alloc(SAMPLE);
  const fh = await openForReading(file);
  try {
    for (const at of sampleOffsets(size)) {
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
