/**
 * The description sanitiser against XSS payloads. jest's jsdom runs scripts
 * and inline handlers ("dangerously"), so a payload that survived could set
 * the global flag; every event a handler could hang on is fired on every
 * element of the output to give it the chance.
 */
import type { ModelDetails } from '../../src/kernel/protocol';
import { sanitizeHtml } from '../../src/widget/sanitize';
import { byText, card, click, openPanel, settle } from './helpers';

declare global {
  // eslint-disable-next-line no-var
  var __xss: unknown;
}

const PAYLOADS = [
  '<img src=x onerror="window.__xss=1">',
  '<img src=x onerror=window.__xss=1 onload=window.__xss=1>',
  '<script>window.__xss=1</script>',
  '<script src="data:text/javascript,window.__xss=1"></script>',
  '<a href="javascript:window.__xss=1">click</a>',
  '<a href="JaVaScRiPt:window.__xss=1">click</a>',
  '<a href="&#106;avascript:window.__xss=1">entity</a>',
  '<a href=" javascript:window.__xss=1">space</a>',
  '<svg onload="window.__xss=1"><circle r=1 /></svg>',
  '<svg><animate onbegin="window.__xss=1" attributeName=x dur=1s></animate></svg>',
  '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  '<iframe src="javascript:parent.__xss=1"></iframe>',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=1">',
  '<form action="javascript:window.__xss=1"><button>go</button></form>',
  '<form><button formaction="javascript:window.__xss=1">go</button></form>',
  '<object data="data:text/html,<script>parent.__xss=1</script>"></object>',
  '<embed src="data:text/html,<script>parent.__xss=1</script>">',
  '<div onclick="window.__xss=1" onmouseover="window.__xss=1">hover</div>',
  '<body onload="window.__xss=1">',
  '<details open ontoggle="window.__xss=1"><summary>x</summary></details>',
  '<input autofocus onfocus="window.__xss=1">',
  '<video><source onerror="window.__xss=1"></video>',
  '<a href="data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3M9MTwvc2NyaXB0Pg==">data</a>',
  '<img src="data:image/svg+xml,<svg onload=window.__xss=1>">',
  '<style>@import "javascript:window.__xss=1";</style><p style="background:url(javascript:window.__xss=1)">styled</p>',
  '<base href="javascript:/"><a href="x">relative</a>',
  '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
  '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
  '<template><img src=x onerror="window.__xss=1"></template>',
  '<a href="https://civitai.com/models/1" onclick="window.__xss=1" target="_self">ok link</a>',
];

const EVENTS = ['click', 'error', 'load', 'mouseover', 'focus', 'toggle', 'begin', 'submit', 'animationstart'];

function fireEverything(root: Element) {
  for (const el of [root, ...root.querySelectorAll('*')]) {
    for (const type of EVENTS) {
      try {
        el.dispatchEvent(new Event(type, { bubbles: false, cancelable: true }));
      } catch {
        // Some events cannot be fired on some elements; nothing to test there.
      }
    }
  }
}

function assertInert(root: Element) {
  expect(root.querySelectorAll('script, iframe, object, embed, form, style, svg, math, base, meta, input, button')).toHaveLength(0);
  for (const el of root.querySelectorAll('*')) {
    for (const attr of el.getAttributeNames()) {
      expect(attr.toLowerCase().startsWith('on')).toBe(false);
      expect(['style', 'srcdoc', 'formaction', 'action']).not.toContain(attr.toLowerCase());
    }
    for (const attr of ['href', 'src']) {
      const v = el.getAttribute(attr);
      if (v !== null) expect(v.trim()).toMatch(/^(https?:|mailto:|#)/i);
    }
  }
}

beforeEach(() => {
  delete globalThis.__xss;
});

describe('the test setup can catch a live handler', () => {
  it('an unsanitised inline handler does run here (control)', () => {
    const div = document.createElement('div');
    div.innerHTML = '<div onclick="window.__xss=1">x</div>';
    document.body.appendChild(div);
    fireEverything(div);
    div.remove();
    expect(globalThis.__xss).toBe(1);
  });
});

describe('sanitizeHtml', () => {
  it.each(PAYLOADS)('neutralises %s', (payload) => {
    const host = document.createElement('div');
    host.innerHTML = sanitizeHtml(payload);
    document.body.appendChild(host);
    assertInert(host);
    fireEverything(host);
    host.remove();
    expect(globalThis.__xss).toBeUndefined();
  });

  it('keeps ordinary formatting and opens links in a new tab without opener', () => {
    const host = document.createElement('div');
    host.innerHTML = sanitizeHtml('<p><b>Strong</b> <em>text</em> <a href="https://civitai.com/models/1" target="_self">link</a></p><ul><li>one</li></ul><img src="https://image.civitai.com/a.png">');
    expect(host.querySelector('b')!.textContent).toBe('Strong');
    expect(host.querySelector('li')!.textContent).toBe('one');
    const a = host.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://civitai.com/models/1');
    expect(a.getAttribute('target')).toBe('_blank');
    expect(a.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(host.querySelector('img')!.getAttribute('src')).toBe('https://image.civitai.com/a.png');
  });

  it('returns an empty string for non-strings', () => {
    expect(sanitizeHtml(null)).toBe('');
    expect(sanitizeHtml({ toString: () => '<script>x</script>' })).toBe('');
  });
});

describe('DetailsView', () => {
  const details = (description: string): ModelDetails => ({
    card: card(1),
    evidence: ['header: 2 LoRA keys (lora_unet_)'],
    fingerprint: 'f',
    info: {
      modelName: 'Hero',
      versionName: 'v1',
      type: 'LORA',
      baseModel: 'SDXL 1.0',
      description,
      trainedWords: ['hero pose'],
      nsfwLevel: 1,
      stats: { downloadCount: 1234, thumbsUpCount: 56 },
      images: [
        { url: 'https://image.civitai.com/1.png', nsfwLevel: 1, width: 512, height: 768, type: 'image' },
        { url: 'https://image.civitai.com/2.png', nsfwLevel: 16, width: 512, height: 768, type: 'image' },
        { url: 'javascript:window.__xss=1', nsfwLevel: 1, width: 1, height: 1, type: 'image' },
      ],
      files: [{ name: 'hero.safetensors', sizeKB: 2048, type: 'Model', primary: true }],
      createdAt: null,
      publishedAt: '2024-05-01T00:00:00Z',
    },
  });

  it('renders description, gallery, files and stats from the details reply, with the description sanitised', async () => {
    const panel = await openPanel();
    try {
      panel.models([card(1)]);
      await settle();
      click(byText(panel.el, 'button', 'Details'));
      expect(panel.comm.requests('details').pop()).toMatchObject({ type: 'details', id: card(1).id });
      await panel.reply('details', details('<p title="ok">Made for heroes.</p>' + PAYLOADS.join('\n')));
      await settle();
      const dialog = panel.el.querySelector('.md-details') as HTMLElement;
      const desc = dialog.querySelector('.md-description') as HTMLElement;
      expect(desc.querySelector('p[title="ok"]')!.textContent).toBe('Made for heroes.');
      assertInert(desc);
      fireEverything(desc);
      expect(globalThis.__xss).toBeUndefined();
      // Gallery: https images only; the one above the NSFW limit is blurred.
      const items = [...dialog.querySelectorAll('.md-gallery li')];
      expect(items).toHaveLength(2);
      expect(items[1].classList.contains('md-blurred')).toBe(true);
      expect(dialog.querySelector('.md-files')!.textContent).toContain('hero.safetensors (primary)');
      expect(dialog.textContent).toContain('1,234 / 56');
      expect(dialog.textContent).toContain('header: 2 LoRA keys');
    } finally {
      panel.close();
    }
  });

  it('shows a HuggingFace origin (repo, revision, commit, path, license, base models) as inert text; none for other files', async () => {
    const panel = await openPanel();
    try {
      panel.models([card(1)]);
      await settle();
      click(byText(panel.el, 'button', 'Details'));
      const hostile = '<img src=x onerror="window.__xss=1">';
      await panel.reply('details', {
        ...details('<p>Plain.</p>'),
        huggingFace: { repo: 'acme/hero', revision: 'v1', path: 'loras/hero.safetensors', commit: 'ab'.repeat(20), license: hostile, baseModels: ['stabilityai/sdxl-base', 'acme/base'] },
      });
      await settle();
      const dialog = panel.el.querySelector('.md-details') as HTMLElement;
      const facts = [...dialog.querySelectorAll('.md-facts dt')].map((dt) => [dt.textContent, dt.nextElementSibling!.textContent]);
      expect(facts).toContainEqual(['HuggingFace', `acme/hero @ v1 (commit ${'ab'.repeat(6)}) · loras/hero.safetensors`]);
      expect(facts).toContainEqual(['License', hostile]);
      expect(facts).toContainEqual(['Base model (model card)', 'stabilityai/sdxl-base, acme/base']);
      expect(dialog.querySelector('.md-facts img')).toBeNull();
      expect(globalThis.__xss).toBeUndefined();
    } finally {
      panel.close();
    }
    const other = await openPanel();
    try {
      other.models([card(1)]);
      await settle();
      click(byText(other.el, 'button', 'Details'));
      await other.reply('details', details('<p>Plain.</p>'));
      await settle();
      const dts = [...other.el.querySelectorAll('.md-details .md-facts dt')].map((dt) => dt.textContent);
      expect(dts).not.toContain('HuggingFace');
      expect(dts).not.toContain('License');
    } finally {
      other.close();
    }
  });

    it('shows no Gallery heading when no image can be shown', async () => {
    const panel = await openPanel();
    try {
      panel.models([card(1)]);
      await settle();
      click(byText(panel.el, 'button', 'Details'));
      const d = details('<p>Plain.</p>');
      d.info!.images = [{ url: 'http://insecure.example/1.png', nsfwLevel: 1, width: 1, height: 1, type: 'image' }];
      await panel.reply('details', d);
      await settle();
      const dialog = panel.el.querySelector('.md-details') as HTMLElement;
      expect(dialog.textContent).toContain('Plain.');
      expect([...dialog.querySelectorAll('h3')].map((h) => h.textContent)).not.toContain('Gallery');
      expect(dialog.querySelector('.md-gallery')).toBeNull();
    } finally {
      panel.close();
    }
  });
});
