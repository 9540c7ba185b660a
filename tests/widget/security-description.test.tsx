/**
 * Security item 9: a Civitai description must not wear the panel's own styles.
 * `md-reveal` is the panel's "click to reveal" overlay (position: absolute;
 * inset: 0): a description link with that class would lie over the whole panel.
 */
import type { ModelDetails } from '../../src/kernel/protocol';
import { sanitizeHtml } from '../../src/widget/sanitize';
import { byText, card, click, openPanel, settle } from './helpers';

const HOSTILE = '<p id="md-root" name="models">Hi <a class="md-reveal" id="x" name="y" style="position:fixed;inset:0" href="https://civitai.com/models/1">a link</a></p>';

it('drops class, id, name and style from descriptions, keeping the text and the link', () => {
  const box = document.createElement('div');
  box.innerHTML = sanitizeHtml(HOSTILE);
  const link = box.querySelector('a')!;
  expect(link.textContent).toBe('a link');
  expect(link.getAttribute('href')).toBe('https://civitai.com/models/1');
  for (const el of box.querySelectorAll('*')) {
    for (const attr of ['class', 'id', 'name', 'style']) expect(el.hasAttribute(attr)).toBe(false);
  }
});

it('in the details view, the description adds no element with the panel\'s classes', async () => {
  const panel = await openPanel();
  try {
    panel.models([card(1)]);
    await settle();
    const overlaysBefore = panel.el.querySelectorAll('.md-reveal').length;
    click(byText(panel.el, 'button', 'Details'));
    const c = card(1);
    const d: ModelDetails = {
      card: c,
      evidence: [],
      fingerprint: 'fp',
      info: {
        modelName: 'M', versionName: 'V', type: 'LORA', baseModel: 'SD 1.5', description: HOSTILE, trainedWords: [], nsfwLevel: 1,
        stats: { downloadCount: 1, thumbsUpCount: 1 }, images: [], files: [], createdAt: null, publishedAt: null,
      },
    };
    await panel.reply('details', d);
    await settle();
    const dialog = panel.el.querySelector('.md-details') as HTMLElement;
    expect(dialog.textContent).toContain('a link');
    expect(panel.el.querySelectorAll('.md-reveal').length).toBe(overlaysBefore);
    expect(dialog.querySelector('#md-root, [name="models"]')).toBeNull();
  } finally {
    panel.close();
  }
});
