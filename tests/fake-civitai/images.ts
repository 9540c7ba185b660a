/**
 * Tiny but valid preview images, generated rather than stored: an 8×8 PNG in
 * one colour, an 8×8 mid-grey baseline JPEG assembled by hand (one DC and
 * one AC Huffman code, a single block whose coefficients are all zero), and an
 * 8×8 WebP.
 */
import { crc32, deflateSync } from 'node:zlib';

export function tinyPng(rgb: [number, number, number] = [0x6a, 0x8c, 0xaf]): Buffer {
  const size = 8;
  const row = Buffer.alloc(1 + size * 3);
  for (let x = 0; x < size; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

export function tinyJpeg(): Buffer {
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const oneCodeTable = (classAndId: number) => [classAndId, 1, ...new Array(15).fill(0), 0x00];
  return Buffer.from([
    0xff, 0xd8, // SOI
    ...seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]), // APP0 JFIF 1.1
    ...seg(0xdb, [0x00, ...new Array(64).fill(1)]), // DQT: table 0, all ones
    ...seg(0xc0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]), // SOF0: 8-bit, 8×8, one component
    ...seg(0xc4, oneCodeTable(0x00)), // DHT DC0: code "0" = category 0
    ...seg(0xc4, oneCodeTable(0x10)), // DHT AC0: code "0" = EOB
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
    0x3f, // DC "0" + AC EOB "0", padded with ones
    0xff, 0xd9, // EOI
  ]);
}

/**
 * An 8×8 lossless WebP in one colour (38 bytes): made once with Debian's
 * `cwebp -lossless -exact -metadata none` from `tinyPng([0xaf, 0x6a, 0x8c])`,
 * and checked with `dwebp`. Node has no WebP encoder, so it is kept as bytes.
 */
export function tinyWebp(): Buffer {
  return Buffer.from('UklGRh4AAABXRUJQVlA4TBEAAAAvB8ABAAdQtb6Wsf+BiOh/AAA=', 'base64');
}
