import { createHash, randomFillSync } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { blake3 } from 'hash-wasm';
import { HashEngine, HASH_NAMES, DEFAULT_HASHES, parseHashList } from '../src/core/hash';
import { prestartWorkers, workersFor } from '../src/core/hash/prestart';
import { CancelledError, FileAccessError, MalformedFileError } from '../src/core/errors';
import { useTmpDir } from './helpers/tmpdir';
import { buildSafetensors } from './helpers/safetensors';
import { VECTORS, writeVectorFiles } from './helpers/hash-vectors';

const tmp = useTmpDir();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').toUpperCase();
const crc32Civitai = (b: Uint8Array) => {
  const le = Buffer.alloc(4);
  le.writeUInt32LE(crc32(b));
  return le.toString('hex').toUpperCase();
};

function safetensors(tensorBytes: Buffer, metadata: Record<string, string> = {}): Buffer {
  return buildSafetensors({ metadata, tensors: { t: { dtype: 'U8', shape: [tensorBytes.length], data: tensorBytes } } });
}

/** Every hash of `bytes` computed in memory, independently of the engine's block loop. */
async function expectedHashes(bytes: Buffer, isSafetensors: boolean) {
  const out: Record<string, string> = {
    SHA256: sha256(bytes),
    AutoV2: sha256(bytes).slice(0, 10),
    BLAKE3: (await blake3(bytes)).toUpperCase(),
    CRC32: crc32Civitai(bytes),
  };
  if (bytes.length >= 0x200000) out.AutoV1 = sha256(bytes.subarray(0x100000, 0x110000)).slice(0, 8);
  if (isSafetensors) {
    const full = sha256(bytes.subarray(8 + Number(bytes.readBigUInt64LE(0))));
    out.AutoV3 = full.slice(0, 12);
    out.AutoV3Full = full;
  }
  return out;
}

describe.each([
  ['main thread only', {}],
  ['with worker threads', { workerMinFileSize: 0 }],
  // As the CLI starts it: one worker booted before the engine exists (more start on demand).
  ['with a prestarted worker', { workerMinFileSize: 0, prestarted: prestartWorkers(1) }],
])('HashEngine (%s)', (_label, engineOptions) => {
  const engine = new HashEngine(engineOptions);
  afterAll(() => engine.close());

  test('matches the shared Civitai test vectors', async () => {
    const dir = join(tmp.path, `vectors-${Object.keys(engineOptions).length}`);
    mkdirSync(dir);
    const paths = writeVectorFiles(dir);
    for (const [name, path] of Object.entries(paths)) {
      const v = VECTORS[name];
      const { size, hashes } = await engine.hashFile(path, { hashes: HASH_NAMES });
      expect(size).toBe(v.size);
      expect(hashes.SHA256).toBe(v.SHA256);
      expect(hashes.AutoV2).toBe(v.AutoV2);
      expect(hashes.BLAKE3).toBe(v.BLAKE3);
      // Civitai stores CRC32 in the little-endian byte order of its .NET scanner.
      expect(hashes.CRC32).toBe(v.CRC32_civitai_scanner);
      // Civitai has no AutoV1 for files under 2 MiB (v.AutoV1 is null then).
      expect(hashes.AutoV1 ?? null).toBe(v.AutoV1);
      if (name.endsWith('.safetensors')) {
        expect(hashes.AutoV3).toBe(v.AutoV3);
        expect(hashes.AutoV3Full).toBe(v.addnetFull);
      } else {
        // AutoV3 only means something for safetensors files.
        expect(hashes.AutoV3).toBeUndefined();
      }
    }
  });

  test('a 40 MiB safetensors file: every hash equals an independent in-memory computation', async () => {
    const bytes = safetensors(randomFillSync(Buffer.alloc(40 * 1024 * 1024 + 12345)), { ss_output_name: 'x' });
    const path = join(tmp.path, `big-${Object.keys(engineOptions).length}.safetensors`);
    writeFileSync(path, bytes);
    const { hashes } = await engine.hashFile(path, { hashes: HASH_NAMES });
    expect(hashes).toEqual(await expectedHashes(bytes, true));
  });

  test('the default hashes are SHA256, AutoV1, AutoV2 and AutoV3', async () => {
    const bytes = safetensors(randomFillSync(Buffer.alloc(3 * 1024 * 1024)));
    const path = join(tmp.path, `default-${Object.keys(engineOptions).length}.safetensors`);
    writeFileSync(path, bytes);
    const { hashes } = await engine.hashFile(path);
    const all = await expectedHashes(bytes, true);
    expect(hashes).toEqual({ SHA256: all.SHA256, AutoV1: all.AutoV1, AutoV2: all.AutoV2, AutoV3: all.AutoV3, AutoV3Full: all.AutoV3Full });
  });

  test('two files hashed at once on one engine both come out right', async () => {
    const a = randomFillSync(Buffer.alloc(20 * 1024 * 1024));
    const b = randomFillSync(Buffer.alloc(18 * 1024 * 1024));
    const pa = join(tmp.path, `a-${Object.keys(engineOptions).length}.bin`);
    const pb = join(tmp.path, `b-${Object.keys(engineOptions).length}.bin`);
    writeFileSync(pa, a);
    writeFileSync(pb, b);
    const [ra, rb] = await Promise.all([
      engine.hashFile(pa, { hashes: ['SHA256', 'BLAKE3'] }),
      engine.hashFile(pb, { hashes: ['SHA256', 'BLAKE3'] }),
    ]);
    expect(ra.hashes.SHA256).toBe(sha256(a));
    expect(rb.hashes.SHA256).toBe(sha256(b));
    expect(ra.hashes.BLAKE3).toBe((await blake3(a)).toUpperCase());
    expect(rb.hashes.BLAKE3).toBe((await blake3(b)).toUpperCase());
  });
});

describe('HashEngine edge cases', () => {
  const engine = new HashEngine({ workerMinFileSize: 0 });
  afterAll(() => engine.close());

  test('an empty file', async () => {
    const path = join(tmp.path, 'empty.bin');
    writeFileSync(path, '');
    const { size, hashes } = await engine.hashFile(path, { hashes: HASH_NAMES });
    expect(size).toBe(0);
    expect(hashes).toEqual({
      SHA256: 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
      AutoV2: 'E3B0C44298',
      BLAKE3: 'AF1349B9F5F9A1A6A0404DEA36DCC9499BCB25C9ADC112B7CC9A93CAE41F3262',
      CRC32: '00000000',
    });
  });

  test('AutoV1 starts at exactly 2 MiB', async () => {
    const big = randomFillSync(Buffer.alloc(0x200000));
    const under = join(tmp.path, 'under-2m.bin');
    const at = join(tmp.path, 'at-2m.bin');
    writeFileSync(under, big.subarray(0, 0x200000 - 1));
    writeFileSync(at, big);
    expect((await engine.hashFile(under)).hashes.AutoV1).toBeUndefined();
    expect((await engine.hashFile(at)).hashes.AutoV1).toBe(sha256(big.subarray(0x100000, 0x110000)).slice(0, 8));
  });

  test('a safetensors file with no tensor bytes has the AutoV3 of nothing', async () => {
    const header = Buffer.from('{"__metadata__":{}}      ');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const path = join(tmp.path, 'header-only.safetensors');
    writeFileSync(path, Buffer.concat([len, header]));
    expect((await engine.hashFile(path)).hashes.AutoV3).toBe('E3B0C44298FC');
  });

  test('progress runs up to the file size and cancellation stops the work', async () => {
    const bytes = randomFillSync(Buffer.alloc(48 * 1024 * 1024));
    const path = join(tmp.path, 'progress.bin');
    writeFileSync(path, bytes);
    const seen: number[] = [];
    await engine.hashFile(path, { onProgress: (done, total) => (expect(total).toBe(bytes.length), seen.push(done)) });
    expect(seen.length).toBeGreaterThan(1);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen[seen.length - 1]).toBe(bytes.length);

    const controller = new AbortController();
    let calls = 0;
    const run = engine.hashFile(path, {
      hashes: ['SHA256', 'BLAKE3'],
      signal: controller.signal,
      onProgress: () => {
        calls++;
        controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(calls).toBe(1);
    // The engine is still usable, and its buffers were not left half-used.
    expect((await engine.hashFile(path, { hashes: ['SHA256'] })).hashes.SHA256).toBe(sha256(bytes));
  });

  test('an already-aborted signal cancels before reading', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(engine.hashFile(join(tmp.path, 'empty.bin'), { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  test('a missing file and a directory are one-line access errors', async () => {
    const missing = engine.hashFile(join(tmp.path, 'nope.safetensors'));
    await expect(missing).rejects.toBeInstanceOf(FileAccessError);
    await expect(missing).rejects.toThrow(/nope\.safetensors: no such file$/);
    await expect(engine.hashFile(tmp.path)).rejects.toThrow(/not a regular file/);
  });

  test('a safetensors length prefix past the end is a malformed file when AutoV3 is asked for', async () => {
    const path = join(tmp.path, 'truncated.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1000n);
    writeFileSync(path, Buffer.concat([len, Buffer.from('{"a":1}')]));
    await expect(engine.hashFile(path)).rejects.toBeInstanceOf(MalformedFileError);
    await expect(engine.hashFile(path)).rejects.toThrow(/truncated\.safetensors: truncated or not a safetensors file: header length 1000/);
    // The whole-file hashes do not depend on the header.
    expect((await engine.hashFile(path, { hashes: ['SHA256'] })).hashes.SHA256).toBe(sha256(Buffer.concat([len, Buffer.from('{"a":1}')])));
    expect(statSync(path).size).toBe(15);
  });
});

describe('prestarted workers', () => {
  test('a prestarted worker that is gone before the engine adopts it is replaced', async () => {
    const pre = prestartWorkers(1);
    await pre.lanes[0].terminate();
    const engine = new HashEngine({ workerMinFileSize: 0, prestarted: pre });
    try {
      const bytes = safetensors(randomFillSync(Buffer.alloc(5 * 1024 * 1024)));
      const path = join(tmp.path, 'prestart-dead.safetensors');
      writeFileSync(path, bytes);
      const { hashes } = await engine.hashFile(path);
      const all = await expectedHashes(bytes, true);
      expect(hashes).toEqual({ SHA256: all.SHA256, AutoV1: all.AutoV1, AutoV2: all.AutoV2, AutoV3: all.AutoV3, AutoV3Full: all.AutoV3Full });
    } finally {
      await engine.close();
    }
  });

  test('workersFor counts the workers the engine will want, as assignLanes does', () => {
    const GiB = 2 ** 30;
    expect(workersFor('m.safetensors', GiB, DEFAULT_HASHES)).toBe(1);
    expect(workersFor('m.safetensors', GiB, ['SHA256'])).toBe(0);
    expect(workersFor('m.safetensors', GiB, HASH_NAMES)).toBe(2);
    expect(workersFor('m.ckpt', GiB, DEFAULT_HASHES)).toBe(0);
    expect(workersFor('m.ckpt', GiB, HASH_NAMES)).toBe(1);
    // Under the engine's 16 MiB threshold everything runs on the main thread.
    expect(workersFor('m.safetensors', 1024 * 1024, DEFAULT_HASHES)).toBe(0);
  });
});

describe('parseHashList', () => {
  test('names in any case, "all", and unknown names', () => {
    expect(parseHashList('sha256, AUTOV3')).toEqual(['SHA256', 'AutoV3']);
    expect(parseHashList('all')).toEqual([...HASH_NAMES]);
    expect(() => parseHashList('md5')).toThrow('unknown hash "md5"');
    expect(() => parseHashList(' , ')).toThrow('empty hash list');
  });
});
