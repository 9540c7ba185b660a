// A slow segment is split: two connections over real HTTP to the fake storage, one of them (the range starting at
// 4 MiB) served at 256 KiB/s while the other is uncapped. Once the fast connection has fetched every other chunk it
// must take half of the slow chunk's remainder: the storage's request log shows a Range starting inside the slow
// range while that request was still in flight. The file must still verify. The split threshold is the transfer's
// option (default 16 MiB) set to 2 MiB for a 24 MiB file.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transfer } from '../src/core/download/transfer';
import { DEFAULT_HASHES } from '../src/core/hash/names';
import { useTransferStorage } from './helpers/download-fakes';
import { sha256 } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const MIB = 1024 * 1024;
const tmp = useTmpDir();
const servers = useTransferStorage();

const rangeOf = (r: { range?: string }) => {
  const m = /^bytes=(\d+)-(\d*)$/.exec(r.range ?? '');
  return m ? { start: Number(m[1]), end: m[2] ? Number(m[2]) + 1 : Infinity } : null;
};

test('a much slower connection has its chunk split by the idle one; the file verifies', async () => {
  const { storage, policy } = servers;
  const bytes = randomBytes(24 * MIB);
  const url = storage.signedUrl(storage.put('split', 'split.bin', bytes));
  // 24 MiB over 2 connections: chunks of 4 MiB; the second chunk's connection crawls.
  storage.faults = { slowRanges: [{ start: 4 * MIB, bytesPerSecond: 256 * 1024 }] };
  const partPath = join(tmp.path, 'split.bin.part');
  const result = await transfer({ url, key: 'test:split', partPath, finalName: 'split.bin', connections: 2, policy, credentials: new Map(), hashes: DEFAULT_HASHES, splitMinBytes: 2 * MIB });

  expect(result.size).toBe(bytes.length);
  expect(result.hashes.SHA256).toBe(sha256(bytes));
  expect(readFileSync(partPath).equals(bytes)).toBe(true);

  const log = storage.requests.map((r) => ({ ...r, ...rangeOf(r)! }));
  const slow = log.find((r) => r.start === 4 * MIB)!;
  expect(slow).toBeDefined();
  expect(slow.end).toBe(8 * MIB);
  // The split: a range starting strictly inside the slow one, asked while it was in flight; the first one takes the
  // slow chunk's upper half, later ones (while 2 MiB or more remain) halve what is left, each on a MiB boundary.
  const splits = log.filter((r) => r !== slow && r.start > slow.start && r.start < slow.end && r.at < slow.closedAt!).sort((a, b) => a.at - b.at);
  expect(splits.length).toBeGreaterThanOrEqual(1);
  expect(splits[0].end).toBe(8 * MIB);
  splits.forEach((r, i) => {
    expect(r.start % MIB).toBe(0);
    if (i > 0) expect(r.end).toBe(splits[i - 1].start);
  });
  // The slow connection was relieved: it sent less than its 4 MiB, the rest came over the fast one.
  expect(slow.bytes).toBeLessThan(4 * MIB);
  expect(slow.bytes).toBeGreaterThanOrEqual(splits[splits.length - 1].start - slow.start);
});
