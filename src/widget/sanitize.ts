/**
 * Civitai descriptions are HTML written by strangers. Before any of it reaches
 * `dangerouslySetInnerHTML` it goes through DOMPurify, on a private instance
 * (our hook must not change other users of the global one), with:
 * - no script, style, iframe, frame, object, embed, form or form controls,
 *   base, link, meta, svg or math (the usual mutation-XSS carriers);
 * - no `on*` handler and no `style` attribute (a stranger's CSS could cover
 *   the notebook page with a fake dialog);
 * - only http(s) and mailto links (no `javascript:`, `data:`, `vbscript:`),
 *   images from http(s) only;
 * - every link opening in a new tab with rel="noopener noreferrer nofollow".
 */
import DOMPurify, { type Config, type DOMPurify as Purifier } from 'dompurify';

const CONFIG: Config = {
  FORBID_TAGS: ['script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'form', 'input', 'button', 'textarea', 'select', 'option', 'base', 'link', 'meta', 'svg', 'math', 'template', 'noscript', 'audio', 'video', 'source', 'portal'],
  // class, id and name too: a description must not wear the panel's own styles (an `md-reveal` link laid over the
  // whole panel) nor clobber globals or anchors by id/name.
  FORBID_ATTR: ['style', 'class', 'id', 'name', 'srcset', 'action', 'formaction', 'xlink:href', 'ping', 'background', 'poster'],
  ALLOW_DATA_ATTR: false,
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  RETURN_TRUSTED_TYPE: false,
};

let instance: Purifier | null = null;

function purifier(): Purifier {
  if (instance) return instance;
  const p = DOMPurify(window);
  p.addHook('afterSanitizeAttributes', (node) => {
    const el = node as Element;
    if (el.tagName === 'A') {
      if (el.hasAttribute('href')) {
        el.setAttribute('target', '_blank');
        el.setAttribute('rel', 'noopener noreferrer nofollow');
      } else {
        el.removeAttribute('target');
      }
    }
    if (el.tagName === 'IMG') {
      const src = el.getAttribute('src') ?? '';
      if (!/^https?:/i.test(src)) el.removeAttribute('src');
      el.setAttribute('loading', 'lazy');
      el.setAttribute('referrerpolicy', 'no-referrer');
    }
  });
  instance = p;
  return p;
}

/** Safe HTML for a description (an empty string when the input is not a string). */
export function sanitizeHtml(html: unknown): string {
  if (typeof html !== 'string' || html.length === 0) return '';
  return purifier().sanitize(html, CONFIG) as string;
}
