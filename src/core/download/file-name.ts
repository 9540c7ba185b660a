/**
 * The name a downloaded file gets: from Civitai's `files[].name`, a
 * `Content-Disposition`, or the URL's last segment, made safe for every file
 * system the library may live on (ext4, Drive, an NTFS or exFAT share): no
 * separators, no `..`, no control or Windows-reserved characters or names, no
 * trailing dot or space, and short enough that `.part`, `.civitai.info` and
 * `.preview.jpeg` still fit in 255 bytes.
 */

/** 255 minus the longest suffix modeldeck adds beside a model (`.preview.jpeg.part` style names stay under it). */
export const MAX_DOWNLOAD_NAME_BYTES = 200;

const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

export function safeFileName(raw: string, fallback = 'download.bin'): string {
  // Only the last segment of whatever path the name pretends to have.
  let name = String(raw).split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*]/g, '_');
  name = name.replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
  name = name.replace(/\.{2,}/g, '.').trim().replace(/[. ]+$/, '');
  // A leading dot would hide the file from the scanner (and from A1111).
  name = name.replace(/^[. ]+/, '');
  if (!name) name = fallback;
  if (RESERVED.test(name)) name = `_${name}`;
  if (Buffer.byteLength(name, 'utf8') > MAX_DOWNLOAD_NAME_BYTES) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    let stem = ext ? name.slice(0, dot) : name;
    while (Buffer.byteLength(stem + ext, 'utf8') > MAX_DOWNLOAD_NAME_BYTES) stem = Array.from(stem).slice(0, -1).join('');
    name = stem + ext;
  }
  return name;
}

/** The file name a `Content-Disposition` header gives (RFC 6266: `filename*` wins over `filename`), unsanitised. */
export function nameFromContentDisposition(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[2].trim().replace(/^"|"$/g, ''));
    } catch {
      /* a broken encoding: fall back to the plain form */
    }
  }
  const plain = /filename\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]+)/i.exec(header);
  if (!plain) return undefined;
  return plain[2] !== undefined ? plain[2].replace(/\\(.)/g, '$1') : plain[1].trim();
}

/** The URL's last path segment, decoded. */
export function nameFromUrl(url: string): string | undefined {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last) : undefined;
  } catch {
    return undefined;
  }
}
