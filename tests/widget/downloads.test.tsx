// The panel's downloads list, the "already in the library" warning and "Download update", against a scripted kernel.
import type { DownloadItem } from '../../src/kernel/protocol';
import { byText, card, click, field, input, openPanel, settle, waitFor, type Panel } from './helpers';

let panel: Panel;
afterEach(() => panel?.close());

const item = (over: Partial<DownloadItem>): DownloadItem => ({
  downloadId: 'd1',
  input: '12345',
  origin: 'link',
  status: 'queued',
  name: null,
  root: 0,
  path: null,
  received: 0,
  total: null,
  bytesPerSecond: 0,
  etaSeconds: null,
  message: null,
  code: null,
  cardId: null,
  queuedAt: 1,
  finishedAt: null,
  ...over,
});

test('a pasted link is sent as a download request; the list shows bytes, speed and ETA, and Cancel names the download', async () => {
  panel = await openPanel();
  input(field(panel.el, 'Link to download') as HTMLInputElement, '  https://civitai.com/models/58390  ');
  await settle();
  click(byText(panel.el, 'button', 'Download'));
  const [req] = panel.comm.requests('download');
  expect(req).toMatchObject({ type: 'download', ref: 'https://civitai.com/models/58390', root: 0 });
  await panel.reply('download', { downloadId: 'd1' });
  await settle();
  expect((field(panel.el, 'Link to download') as HTMLInputElement).value).toBe('');

  panel.update({ downloads: [item({ status: 'downloading', name: 'detail.safetensors', received: 10 * 1048576, total: 40 * 1048576, bytesPerSecond: 5 * 1048576, etaSeconds: 6 })] });
  await settle();
  const row = await waitFor(() => panel.el.querySelector<HTMLElement>('[data-download="d1"]') ?? undefined);
  expect(row.querySelector('.md-download-name')!.textContent).toBe('detail.safetensors');
  expect(row.querySelector('.md-download-status')!.textContent).toBe('10.0 MB of 40.0 MB · 5.0 MB/s · 6 s left');
  expect(row.querySelector('progress')!.getAttribute('value')).toBe(String(10 * 1048576));
  expect(row.textContent).not.toContain('Retry');
  click(byText(row, 'button', 'Cancel'));
  expect(panel.comm.requests('download-cancel')[0]).toMatchObject({ downloadId: 'd1' });
});

test('a failed download shows its one-line error and offers Retry; a download of a file already in the library shows the warning', async () => {
  panel = await openPanel();
  const message = 'detail.safetensors: login required: set CIVITAI_TOKEN';
  panel.update({
    downloads: [
      item({ status: 'error', name: 'detail.safetensors', code: 'login_required', message }),
      item({ downloadId: 'd2', status: 'exists', message: 'already in the library: /lib/models/Lora/a.safetensors', cardId: '0:models/Lora/a.safetensors' }),
    ],
  });
  await settle();
  const failed = await waitFor(() => panel.el.querySelector<HTMLElement>('[data-download="d1"]') ?? undefined);
  expect(failed.querySelector('.md-download-message')!.textContent).toBe(message);
  expect(failed.querySelector('.md-download-status')!.textContent).toBe('Failed');
  expect(failed.textContent).not.toContain('Cancel');
  click(byText(failed, 'button', 'Retry'));
  expect(panel.comm.requests('download-retry')[0]).toMatchObject({ downloadId: 'd1' });

  const exists = panel.el.querySelector<HTMLElement>('[data-download="d2"]')!;
  const warning = exists.querySelector('.md-download-warning')!;
  expect(warning.textContent).toBe('already in the library: /lib/models/Lora/a.safetensors');
  expect(warning.getAttribute('role')).toBe('alert');
  expect(exists.querySelector('.md-download-status')!.textContent).toBe('Already in the library');
  click(byText(exists, 'button', 'Remove'));
  expect(panel.comm.requests('download-clear')[0]).toMatchObject({ downloadId: 'd2' });
});

test('"Download update" on a card with an update asks for that version for that card', async () => {
  panel = await openPanel();
  const cards = [card(1), card(2)];
  panel.models(cards, { reset: true });
  await settle();
  click(byText(panel.el, 'button', 'Check for updates'));
  const latest = { versionId: 22, name: 'v2', baseModel: 'SD 1.5', publishedAt: '2026-11-30T10:00:00.000Z', earlyAccess: false, size: 1048576, pageUrl: 'https://civitai.com/models/7?modelVersionId=22' };
  await panel.reply('updates', { checked: 2, ignored: 0, failed: 0, updates: [{ modelId: 7, modelName: 'Model 7', current: { versionId: 21, name: 'v1', baseModel: 'SD 1.5' }, latest, newer: 1, ids: [cards[1].id] }] });
  await settle();
  const badge = await waitFor(() => panel.el.querySelector<HTMLElement>('.md-update') ?? undefined);
  // Only the card with the update has the button.
  expect(panel.el.querySelectorAll('.md-update')).toHaveLength(1);
  click(byText(badge, 'button', 'Download update'));
  expect(panel.comm.requests('download-update')).toEqual([expect.objectContaining({ type: 'download-update', id: cards[1].id, versionId: 22 })]);
  await panel.reply('download-update', { downloadId: 'd3' });
  await settle();
  expect(panel.el.querySelector('.md-notice')!.textContent).toBe('Model 7 v2: download queued.');

  // The same from the card's details: the button under "Update available" asks for the same version.
  click(byText(panel.cards().find((c) => c.dataset.id === cards[1].id)!, 'button', 'Details'));
  await settle();
  const details = await waitFor(() => panel.el.querySelector<HTMLElement>('.md-details') ?? undefined);
  await waitFor(() => details.querySelector('.md-details-update') ?? undefined);
  click(byText(details, 'button', 'Download update'));
  expect(panel.comm.requests('download-update')).toHaveLength(2);
  expect(panel.comm.requests('download-update')[1]).toMatchObject({ type: 'download-update', id: cards[1].id, versionId: 22 });
});

test('a read-only page (serve --read-only) shows the downloads without the link box or any button', async () => {
  panel = await openPanel();
  // As the HTTP client of a read-only server reports itself.
  Object.defineProperty(panel.model, 'readOnly', { value: true, configurable: true });
  panel.update({ downloads: [item({ status: 'downloading', name: 'a.safetensors', received: 1, total: 2, bytesPerSecond: 1, etaSeconds: 1 }), item({ downloadId: 'd2', status: 'error', message: 'x: failed' })] });
  await settle();
  const list = await waitFor(() => panel.el.querySelector<HTMLElement>('.md-downloads') ?? undefined);
  expect(list.querySelectorAll('[data-download]')).toHaveLength(2);
  expect(list.querySelector('input')).toBeNull();
  expect(list.querySelectorAll('button')).toHaveLength(0);
});
