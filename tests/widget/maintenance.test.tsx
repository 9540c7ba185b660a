// The panel's updates badge, filter and sort, the duplicates view and the Trash action, against a scripted kernel.
import { byText, card, click, field, input, openPanel, settle, waitFor, type Panel } from './helpers';

let panel: Panel;
afterEach(() => panel?.close());

const update = (id: string, modelId: number) => ({
  modelId,
  modelName: `Model ${modelId}`,
  current: { versionId: 1, name: 'v1', baseModel: 'SD 1.5' },
  latest: { versionId: 2, name: 'v2', baseModel: 'SD 1.5', publishedAt: '2026-11-30T10:00:00.000Z', earlyAccess: false, size: 1048576, pageUrl: 'https://civitai.com/models/1?modelVersionId=2' },
  newer: 1,
  ids: [id],
});

describe('updates', () => {
  it('a check puts a badge on the cards it names, filters and sorts by it, and ignores a version', async () => {
    panel = await openPanel();
    const cards = [card(1), card(2), card(3)];
    panel.models(cards, { reset: true });
    await settle();
    click(byText(panel.el, 'button', 'Check for updates'));
    await panel.reply('updates', { checked: 2, updates: [update(cards[2].id, 7)], ignored: 0, failed: 0 });
    await settle();
    const badge = await waitFor(() => panel.el.querySelector('.md-update') ?? undefined);
    expect(badge.textContent).toContain('Update: v1 → v2');
    expect(badge.textContent).toContain('SD 1.5 · 2026-11-30 · 1.0 MB');
    expect(panel.el.querySelector('.md-maintenance-result')!.textContent).toBe('1 update(s) among 2 model(s)');

    input(field(panel.el, 'Sort by') as HTMLSelectElement, 'update');
    await settle();
    expect(panel.cards()[0].dataset.id).toBe(cards[2].id);
    input(field(panel.el, 'Status') as HTMLSelectElement, 'update');
    await settle();
    expect(panel.cards().map((c) => c.dataset.id)).toEqual([cards[2].id]);

    click(byText(panel.cards()[0], 'button', 'Details'));
    await settle();
    const details = await waitFor(() => panel.el.querySelector('.md-details-update') ?? undefined);
    expect(details.textContent).toBe('v1 → v2 (SD 1.5, 2026-11-30, 1.0 MB)');
    click(byText(panel.el.querySelector('.md-details') as HTMLElement, 'button', /×|Close/));
    await settle();

    click(byText(badge as HTMLElement, 'button', 'Ignore version'));
    const [req] = panel.comm.requests('ignore-update');
    expect(req).toMatchObject({ id: cards[2].id, scope: 'version', versionId: 2 });
    await panel.reply('ignore-update', { changed: 1 });
    await settle();
    expect(panel.el.querySelector('.md-update')).toBeNull();
  });
});

describe('duplicates and trash', () => {
  it('lists groups by card, and Trash sends a remove request', async () => {
    panel = await openPanel();
    const cards = [card(1), card(2)];
    panel.models(cards, { reset: true });
    await settle();
    click(byText(panel.el, 'button', 'Duplicates'));
    await panel.reply('duplicates', { groups: [{ sha256: 'AB'.repeat(32), size: 2048, ids: cards.map((c) => c.id), differentModels: false }], sameVersion: [], reclaimable: 2048 });
    await settle();
    const dialog = await waitFor(() => panel.el.querySelector('.md-duplicates') ?? undefined);
    expect(dialog.textContent).toContain('1 group(s) of identical files, 2.0 KB reclaimable');
    expect(dialog.querySelectorAll('li')).toHaveLength(2);
    expect(dialog.textContent).toContain(cards[0].path);
    click(byText(dialog as HTMLElement, 'button', 'Close'));
    await settle();
    expect(panel.el.querySelector('.md-duplicates')).toBeNull();

    click(byText(panel.cards()[0], 'button', 'Trash'));
    expect(panel.comm.requests('remove')).toEqual([expect.objectContaining({ id: panel.cards()[0].dataset.id })]);
    await panel.reply('remove', { trashId: 'x' });
    await settle();
    expect(panel.el.querySelector('.md-notice')!.textContent).toContain("moved to the library's trash");
  });
});

describe('move and restore', () => {
  it('Move sends the new path and closes; a refused move shows why', async () => {
    panel = await openPanel();
    const cards = [card(1)];
    panel.models(cards, { reset: true });
    await settle();
    click(byText(panel.cards()[0], 'button', 'Move'));
    await settle();
    await panel.answerDetails();
    const dialog = await waitFor(() => panel.el.querySelector('.md-move') ?? undefined);
    input(field(dialog as HTMLElement, 'New path') as HTMLInputElement, '../out.safetensors');
    await settle();
    expect((byText(dialog as HTMLElement, 'button', 'Move') as HTMLButtonElement).disabled).toBe(true);
    input(field(dialog as HTMLElement, 'New path') as HTMLInputElement, 'Other/');
    await settle();
    click(byText(dialog as HTMLElement, 'button', 'Move'));
    const [req] = panel.comm.requests('move');
    expect(req).toMatchObject({ id: cards[0].id, dest: 'Other/' });
    await panel.reply('move', undefined, { code: 'exists', message: 'Other/model-1.json: already exists; nothing was moved' });
    await settle();
    expect(panel.el.querySelector('.md-move')!.textContent).toContain('already exists; nothing was moved');
    click(byText(panel.el.querySelector('.md-move') as HTMLElement, 'button', 'Move'));
    await panel.reply('move', { ...cards[0], id: '0:Other/model-1.safetensors', path: 'Other/model-1.safetensors' });
    await settle();
    expect(panel.el.querySelector('.md-move')).toBeNull();
    expect(panel.el.querySelector('.md-notice')!.textContent).toContain('moved to Other/model-1.safetensors');
  });

  it('Trash lists what the trash holds and restores an item', async () => {
    panel = await openPanel();
    click(byText(panel.el, 'button', 'Open trash'));
    await panel.reply('trash', { items: [{ trashId: 't1', root: 0, path: 'loras/gone.safetensors', trashedAt: 1 }] });
    await settle();
    const dialog = await waitFor(() => panel.el.querySelector('.md-trash') ?? undefined);
    expect(dialog.textContent).toContain('loras/gone.safetensors');
    click(byText(dialog as HTMLElement, 'button', 'Restore'));
    expect(panel.comm.requests('restore')).toEqual([expect.objectContaining({ root: 0, trashId: 't1' })]);
    await panel.reply('restore', { ...card(9), path: 'loras/gone.safetensors' });
    await settle();
    expect(panel.el.querySelector('.md-trash')!.textContent).toContain('The trash is empty.');
  });
});
