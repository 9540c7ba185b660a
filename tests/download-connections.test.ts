// Each of a download's connections is one socket, kept alive across its chunks, with the next chunk's request
// pipelined behind the running one (src/core/download/connection.ts): over real HTTP to the fake storage, 32 MiB
// on 2 connections capped at 16 MB/s each. The storage's log says which client port every request came from,
// whether it arrived while its connection was still sending the answer before it, and how many bodies it was
// sending at most at once: never more than the 2 connections asked for (the per-connection cap is not dodged).
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

test('a connection keeps one socket for its chunks and pipelines the next request; never more bodies at once than connections', async () => {
  const { storage, policy } = servers;
  const bytes = randomBytes(32 * MIB);
  const url = storage.signedUrl(storage.put('conns', 'conns.bin', bytes));
  storage.faults = { bytesPerSecond: 16 * 1000 * 1000 };
  const partPath = join(tmp.path, 'conns.bin.part');
  const result = await transfer({ url, key: 'test:conns', partPath, finalName: 'conns.bin', connections: 2, policy, credentials: new Map(), hashes: DEFAULT_HASHES });

  expect(result.hashes.SHA256).toBe(sha256(bytes));
  expect(readFileSync(partPath).equals(bytes)).toBe(true);
  // Nothing fetched twice, beyond what the server had written of the open-ended first answer when it was cut.
  expect(storage.bytesServed).toBeLessThan(bytes.length + MIB);

  // The first request is open-ended (it learns the size) and is cut at the first chunk's end, so its socket goes;
  // every later, bounded request came over one of the two connections' own sockets.
  const [first, ...rest] = storage.requests;
  expect(first.range).toBe('bytes=0-');
  expect(rest.length).toBeGreaterThan(8);
  expect(rest.every((r) => /^bytes=\d+-\d+$/.test(r.range ?? '') && r.status === 206)).toBe(true);
  const ports = new Set(rest.map((r) => r.port));
  expect(ports.size).toBe(2);
  expect(ports.has(first.port)).toBe(false);
  // On each socket the requests after its first were written before the answer ahead of them had ended.
  for (const port of ports) {
    const on = rest.filter((r) => r.port === port);
    expect(on.slice(1).filter((r) => r.pipelined).length).toBeGreaterThanOrEqual(on.length - 2);
  }
  expect(storage.maxSending).toBeLessThanOrEqual(2);
});
