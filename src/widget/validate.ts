/**
 * Checks of what the user types in the hash dialog, before anything is sent.
 * They mirror the kernel's own checks (which still run): the widget's job is
 * to say clearly what is wrong while the user is typing.
 */
import type { HashName } from '../kernel/protocol';

export const HASH_NAMES: readonly HashName[] = ['SHA256', 'AutoV3', 'AutoV2', 'AutoV1', 'BLAKE3', 'CRC32'];

/** Hex digits each hash has (AutoV3 is shown as 12, some tools write all 64). */
export const HASH_LENGTHS: Record<HashName, readonly number[]> = {
  SHA256: [64],
  BLAKE3: [64],
  AutoV3: [12, 64],
  AutoV2: [10],
  AutoV1: [8],
  CRC32: [8],
};

export type Checked = { ok: true; value: string } | { ok: false; message: string };

/** A hash as typed: spaces and a `0x` prefix are dropped, letters upper-cased. */
export function checkHash(name: HashName, input: string): Checked {
  const value = input.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase();
  const want = HASH_LENGTHS[name];
  const lengths = want.join(' or ');
  if (value.length === 0) return { ok: false, message: `Type the ${name} hash: ${lengths} hexadecimal characters (0-9, A-F).` };
  const bad = /[^0-9A-F]/.exec(value);
  if (bad) return { ok: false, message: `"${bad[0]}" is not a hexadecimal character: a ${name} hash has only 0-9 and A-F.` };
  if (!want.includes(value.length)) {
    return { ok: false, message: `A ${name} hash has ${lengths} hexadecimal characters; this one has ${value.length}.` };
  }
  return { ok: true, value };
}

const HOST = /^(?:www\.|api\.)?civitai\.(?:com|red|green|blue)$/i;
const AIR = /^(?:urn:)?(?:air:)?[a-z0-9_-]+:[a-z0-9_-]+:civitai:\d+(?:@\d+)?(?:\+\d+)?(?:\.[a-z0-9_-]+)?$/i;

const FORMS =
  'Paste a Civitai model page URL (https://civitai.com/models/58390?modelVersionId=62833), a version or download URL, ' +
  'or an AIR (urn:air:sd1:lora:civitai:58390@62833).';

/** A Civitai model or version reference the kernel's `link` accepts. */
export function checkLink(input: string): Checked {
  const text = input.trim();
  if (text.length === 0) return { ok: false, message: FORMS };
  if (text.length > 2048) return { ok: false, message: 'That is too long for a Civitai link (at most 2048 characters).' };
  if (/^(?:0x)?[0-9a-f]+$/i.test(text) && [8, 10, 12, 64].includes(text.replace(/^0x/i, '').length)) {
    return { ok: false, message: 'That looks like a hash, not a link: set it under "Set a hash by hand".' };
  }
  if (/:civitai:/i.test(text) || /^urn:/i.test(text)) {
    return AIR.test(text) ? { ok: true, value: text } : { ok: false, message: `Not a valid Civitai AIR: the form is urn:air:<ecosystem>:<type>:civitai:<model id>[@<version id>].` };
  }
  let url: URL;
  try {
    url = new URL(/^(?:www\.|api\.)?civitai\.[a-z]+\//i.test(text) ? `https://${text}` : text);
  } catch {
    return { ok: false, message: `Not a URL or an AIR. ${FORMS}` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: `Only http(s) Civitai links can be used. ${FORMS}` };
  if (!HOST.test(url.hostname)) return { ok: false, message: `${url.hostname} is not Civitai. ${FORMS}` };
  const segs = url.pathname.split('/').filter(Boolean).map((s) => s.toLowerCase());
  const id = (s: string | undefined) => s !== undefined && /^\d+$/.test(s) && Number(s) > 0;
  const version = url.searchParams.get('modelVersionId');
  if (segs[0] === 'models') {
    if (!id(segs[1])) return { ok: false, message: 'The URL has no model number after /models/.' };
    if (version !== null && !id(version)) return { ok: false, message: 'modelVersionId in the URL is not a number.' };
    return { ok: true, value: text };
  }
  if (segs[0] === 'model-versions' && segs.length === 2 && id(segs[1])) return { ok: true, value: text };
  if (segs[0] === 'api' && segs[1] === 'download' && segs[2] === 'models' && segs.length === 4 && id(segs[3])) return { ok: true, value: text };
  if (segs[0] === 'api' && segs[1] === 'v1' && (segs[2] === 'models' || segs[2] === 'model-versions') && segs.length === 4 && id(segs[3])) {
    return { ok: true, value: text };
  }
  if (segs[0] === 'images') return { ok: false, message: 'That is an image page; link the model it was made with instead.' };
  return { ok: false, message: `That Civitai page is not a model or a version. ${FORMS}` };
}
