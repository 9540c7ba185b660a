/**
 * Civitai descriptions are HTML (from a rich-text editor). A1111's `.json`
 * wants text, so tags go, block ends become line breaks and entities are
 * decoded. Done with a small tokenizer rather than a parser: the input is
 * untrusted, the output is text, and nothing is ever evaluated.
 *
 * A1111 inserts `description` into its card HTML unescaped, so the text must
 * not be able to form a tag there: any `<` or `>` left in the text (decoded
 * from `&lt;`, or a stray one) is written as `&lt;`/`&gt;`, which A1111's card
 * shows as the character.
 */

/** Elements whose content is not text a reader should see. */
const DROP_CONTENT = new Set(['script', 'style', 'template', 'iframe', 'object', 'noscript', 'svg', 'math', 'head', 'title']);
/** Elements after which the text continues on a new line. */
const BLOCKS = new Set(['p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'ul', 'ol', 'blockquote', 'pre', 'tr', 'table', 'section', 'article', 'br', 'hr']);

/** Descriptions longer than this are cut before conversion (Civitai's are a few KB). */
const MAX_HTML_CHARS = 512 * 1024;

const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«', raquo: '»', copy: '©', reg: '®', trade: '™',
  middot: '·', bull: '•', times: '×', deg: '°', euro: '€', shy: '',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      // Control characters and surrogates are not text; invalid code points stay as written.
      if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp < 0x20 && cp !== 9 && cp !== 10)) return '';
      return String.fromCodePoint(cp);
    }
    return NAMED[body.toLowerCase()] ?? whole;
  });
}

/**
 * Plain text of an HTML fragment (see the file comment for the `<`/`>` rule).
 * One left-to-right pass over tags (linear time whatever the input).
 */
export function htmlToText(html: string): string {
  const input = html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;
  const token = /<!--[\s\S]*?(?:-->|$)|<(\/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*(?:>|$)|<[!?][^>]*(?:>|$)/g;
  let out = '';
  let last = 0;
  let dropping: string | null = null;
  for (let m = token.exec(input); m; m = token.exec(input)) {
    if (!dropping) out += input.slice(last, m.index);
    last = token.lastIndex;
    const closing = m[1] === '/';
    const tag = m[2]?.toLowerCase();
    if (!tag) continue; // comment, doctype, processing instruction
    if (dropping) {
      if (closing && tag === dropping) dropping = null;
      continue;
    }
    if (!closing && DROP_CONTENT.has(tag) && !m[0].endsWith('/>')) dropping = tag;
    else if (tag === 'li') {
      if (!closing) out += (out === '' || out.endsWith('\n') ? '' : '\n') + '- ';
    }
    else if (BLOCKS.has(tag) && (closing || tag === 'br' || tag === 'hr')) out += '\n';
  }
  if (!dropping) out += input.slice(last);
  let s = decodeEntities(out);
  s = s.replace(/</g, '&lt;').replace(/>/g, '&gt;');
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  s = s.replace(/\r\n?/g, '\n').replace(/[ \t\u00a0]+/g, ' ').replace(/ *\n */g, '\n').replace(/\n{3,}/g, '\n\n');
  return s.trim();
}
