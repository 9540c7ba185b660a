import { act } from 'preact/test-utils';
import { checkHash, checkLink } from '../../src/widget/validate';
import { byText, card, click, field, input, openPanel, settle, type Panel } from './helpers';

let panel: Panel;
afterEach(() => panel?.close());

async function openHashDialog(over = {}) {
  panel = await openPanel();
  panel.models([card(1, over)]);
  await settle();
  click(byText(panel.el, 'button', 'Hash / link'));
  await settle();
  // The dialog shows the whole card (hashes, sources), which comes with the details.
  await panel.answerDetails();
  await settle();
  return panel.el.querySelector('[role="dialog"]') as HTMLElement;
}

function submit(dialog: HTMLElement, heading: string) {
  const form = [...dialog.querySelectorAll('form')].find((f) => f.querySelector('h3')?.textContent === heading)!;
  act(() => {
    form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
  });
  return form;
}

describe('checkHash', () => {
  it.each([
    ['SHA256', 'a'.repeat(64), 'A'.repeat(64)],
    ['BLAKE3', 'b'.repeat(64), 'B'.repeat(64)],
    ['AutoV3', 'c'.repeat(12), 'C'.repeat(12)],
    ['AutoV3', 'c'.repeat(64), 'C'.repeat(64)],
    ['AutoV2', '0x' + 'd'.repeat(10), 'D'.repeat(10)],
    ['AutoV1', 'e'.repeat(8), 'E'.repeat(8)],
    ['CRC32', ' 0123 abcd ', '0123ABCD'],
  ] as const)('accepts a %s of the right length (%s)', (name, value, want) => {
    expect(checkHash(name, value)).toEqual({ ok: true, value: want });
  });

  it.each([
    ['SHA256', 'a'.repeat(63), 'has 64 hexadecimal characters; this one has 63'],
    ['AutoV3', 'a'.repeat(13), 'has 12 or 64 hexadecimal characters; this one has 13'],
    ['AutoV2', 'a'.repeat(8), 'has 10 hexadecimal characters; this one has 8'],
    ['AutoV1', 'a'.repeat(10), 'has 8 hexadecimal characters; this one has 10'],
    ['CRC32', 'zzzzzzzz', '"Z" is not a hexadecimal character'],
    ['BLAKE3', '', 'Type the BLAKE3 hash'],
  ] as const)('rejects a bad %s with a clear message', (name, value, message) => {
    const r = checkHash(name, value);
    expect(r.ok).toBe(false);
    expect((r as { message: string }).message).toContain(message);
  });
});

describe('checkLink', () => {
  it.each([
    'https://civitai.com/models/58390',
    'https://civitai.com/models/58390/some-slug?modelVersionId=62833',
    'civitai.com/models/58390',
    'https://civitai.red/models/1',
    'https://civitai.com/model-versions/62833',
    'https://civitai.com/api/download/models/62833',
    'https://civitai.com/api/v1/models/58390',
    'https://civitai.com/api/v1/model-versions/62833',
    'urn:air:sd1:lora:civitai:58390@62833',
    'sdxl:checkpoint:civitai:1@2',
  ])('accepts %s', (link) => {
    expect(checkLink(link)).toEqual({ ok: true, value: link });
  });

  it.each([
    ['', 'Paste a Civitai model page URL'],
    ['https://example.com/models/1', 'example.com is not Civitai'],
    ['javascript:alert(1)', 'Only http(s) Civitai links'],
    ['https://civitai.com/models/abc', 'no model number'],
    ['https://civitai.com/models/1?modelVersionId=x', 'modelVersionId in the URL is not a number'],
    ['https://civitai.com/images/123', 'image page'],
    ['https://civitai.com/user/someone', 'not a model or a version'],
    ['urn:air:sd1:lora:huggingface:1', 'Not a valid Civitai AIR'],
    ['a'.repeat(64), 'looks like a hash'],
    ['not a link', 'Not a URL or an AIR'],
  ])('rejects %s', (link, message) => {
    const r = checkLink(link);
    expect(r.ok).toBe(false);
    expect((r as { message: string }).message).toContain(message);
  });
});

describe('EditHashDialog', () => {
  it('lists every hash with its source', async () => {
    const dialog = await openHashDialog({ hashes: { SHA256: 'A'.repeat(64), AutoV2: 'B'.repeat(10), AutoV3: 'C'.repeat(12) }, hashSources: { SHA256: 'computed', AutoV2: 'a1111-cache', AutoV3: 'header' } });
    const rows = [...dialog.querySelectorAll('.md-hash-table tbody tr')].map((r) => [...r.children].map((c) => c.textContent));
    expect(rows).toContainEqual(['SHA256', 'A'.repeat(64), 'computed from the file']);
    expect(rows).toContainEqual(['AutoV2', 'B'.repeat(10), 'adopted from A1111 cache.json']);
    expect(rows).toContainEqual(['AutoV3', 'C'.repeat(12), 'read from the file header']);
    expect(rows).toContainEqual(['BLAKE3', '—', '']);
  });

  it('does not send an invalid hash and says why; sends a valid one as set-hash', async () => {
    const dialog = await openHashDialog();
    input(field(dialog, 'Hash'), 'AutoV2');
    input(field(dialog, 'Value'), '12345');
    submit(dialog, 'Set a hash by hand');
    await settle();
    expect(panel.comm.requests('set-hash')).toHaveLength(0);
    expect(dialog.querySelector('[role="alert"]')!.textContent).toBe('A AutoV2 hash has 10 hexadecimal characters; this one has 5.');
    expect(field(dialog, 'Value').getAttribute('aria-invalid')).toBe('true');

    input(field(dialog, 'Value'), 'abcdef0123');
    submit(dialog, 'Set a hash by hand');
    await settle();
    expect(panel.comm.requests('set-hash').pop()).toMatchObject({ type: 'set-hash', id: card(1).id, name: 'AutoV2', value: 'ABCDEF0123' });
    await panel.reply('set-hash', card(1));
    expect(dialog.querySelector('.md-outcome')!.textContent).toContain('AutoV2 set by hand');
  });

  it('validates the link before sending it, and sends link with the card id', async () => {
    const dialog = await openHashDialog();
    input(field(dialog, 'Civitai URL or AIR'), 'https://evil.example/models/1');
    submit(dialog, 'Link to Civitai');
    await settle();
    expect(panel.comm.requests('link')).toHaveLength(0);
    expect(dialog.querySelector('[role="alert"]')!.textContent).toContain('evil.example is not Civitai');

    input(field(dialog, 'Civitai URL or AIR'), ' urn:air:sdxl:lora:civitai:58390@62833 ');
    submit(dialog, 'Link to Civitai');
    await settle();
    expect(panel.comm.requests('link').pop()).toMatchObject({ type: 'link', id: card(1).id, ref: 'urn:air:sdxl:lora:civitai:58390@62833' });
  });

  it('shows a failed link reply inside the dialog, not in the banner', async () => {
    const dialog = await openHashDialog();
    input(field(dialog, 'Civitai URL or AIR'), 'https://civitai.com/models/1');
    submit(dialog, 'Link to Civitai');
    await panel.reply('link', undefined, { code: 'bad_link', message: 'the model has no published version' });
    expect(dialog.querySelector('.md-outcome-error')!.textContent).toBe('the model has no published version');
    expect(panel.el.querySelector('.md-errors')).toBeNull();
  });

  it('Ask Civitai again sends refresh; Re-hash library sends scan with verify', async () => {
    const dialog = await openHashDialog();
    click(byText(dialog, 'button', 'Ask Civitai again'));
    expect(panel.comm.requests('refresh').pop()).toMatchObject({ type: 'refresh', id: card(1).id });
    await panel.reply('refresh', card(1));
    click(byText(dialog, 'button', 'Re-hash library'));
    expect(panel.comm.requests('scan').pop()).toMatchObject({ type: 'scan', verify: true });
  });

  it('traps focus, closes on Escape and gives focus back', async () => {
    panel = await openPanel();
    panel.models([card(1)]);
    await settle();
    const opener = byText(panel.el, 'button', 'Hash / link');
    opener.focus();
    click(opener);
    await settle();
    await panel.answerDetails();
    await settle();
    const dialog = panel.el.querySelector('[role="dialog"]') as HTMLElement;
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(dialog.contains(document.activeElement)).toBe(true);
    const focusables = [...dialog.querySelectorAll<HTMLElement>('button:not([disabled]), input, select')];
    const last = focusables[focusables.length - 1];
    last.focus();
    act(() => {
      last.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', bubbles: true, cancelable: true }));
    });
    expect(document.activeElement).toBe(focusables[0]);
    act(() => {
      focusables[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', shiftKey: true, bubbles: true, cancelable: true }));
    });
    expect(document.activeElement).toBe(last);
    act(() => {
      document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }));
    });
    await settle();
    expect(panel.el.querySelector('[role="dialog"]')).toBeNull();
    expect(document.activeElement).toBe(opener);
  });
});
