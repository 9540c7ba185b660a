/**
 * Preview images for the cards the widget shows, read straight from the
 * sidecar files beside the models and sent as binary buffers.
 *
 * The file comes from the library's entry (never from the message), must stay
 * inside the entry's root once symlinks are resolved, must be a regular file
 * under the size cap, and must start like an image or video: anything else is
 * refused, so a tampered index cannot turn this into a file reader.
 */
import { realpath } from 'node:fs/promises';
import { describeFsError } from '../../core/errors';
import { readFileCapped } from '../../core/read-capped';
import { sniffImageType, type ImageType } from '../../core/sidecars';
import type { LibraryModel } from '../../core/library';

/** Default cap on one preview sent to the widget. */
export const PREVIEW_SEND_MAX_BYTES = 2 * 1024 * 1024;

export type PreviewRead = { ok: true; bytes: Uint8Array; mime: string } | { ok: false; error: string };

/** Where a card's preview is: its root and the path the library's entry gives, and the card's `preview` value. */
export interface PreviewSource {
  root: string;
  preview?: string;
  name: string | null;
}

export async function readPreview(model: Pick<LibraryModel, 'root' | 'preview'>, maxBytes = PREVIEW_SEND_MAX_BYTES): Promise<PreviewRead> {
  if (!model.preview) return { ok: false, error: 'no preview' };
  const root = model.root;
  const rel = model.preview;
  if (rel.startsWith('/') || rel.split('/').includes('..')) return { ok: false, error: 'preview path leaves the library root' };
  let file: string;
  try {
    file = await realpath(`${root}/${rel}`);
  } catch (err) {
    return { ok: false, error: `preview unreadable (${describeFsError(err)})` };
  }
  if (!file.startsWith(root.endsWith('/') ? root : root + '/')) return { ok: false, error: 'preview resolves outside the library root' };
  const read = await readFileCapped(file, maxBytes);
  switch (read.kind) {
    case 'missing':
      return { ok: false, error: 'preview unreadable (no such file)' };
    case 'not_a_file':
      return { ok: false, error: `preview refused (${read.reason})` };
    case 'too_large':
      return { ok: false, error: read.size === null ? `preview is over ${maxBytes} bytes` : `preview is ${read.size} bytes; at most ${maxBytes} are sent` };
    case 'unreadable':
      return { ok: false, error: `preview unreadable (${describeFsError(read.error)})` };
  }
  const bytes = read.bytes;
  const mime = sniffMime(bytes);
  if (!mime) return { ok: false, error: 'preview is not an image' };
  return { ok: true, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), mime };
}

const IMAGE_MIME: Record<ImageType, string> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

/**
 * The MIME type the first bytes announce: the still images the sidecar writer
 * accepts (its own sniffer), plus AVIF and MP4/WebM, since previews saved by
 * other tools can be videos.
 */
export function sniffMime(b: Uint8Array): string | null {
  const image = sniffImageType(b);
  if (image) return IMAGE_MIME[image];
  const ascii = (from: number, to: number) => (b.length >= to ? String.fromCharCode(...b.subarray(from, to)) : '');
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    return 'video/mp4';
  }
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'video/webm';
  return null;
}
