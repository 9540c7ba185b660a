// Duplicate clean-up and emptying the trash in the panel, against a scripted kernel: nothing is asked
// for without a picked action, the plan comes first, what is confirmed is the plan as shown (with the
// user's own kept copy), progress is matched to the request, and read-only hides it all.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { DuplicatesDialog } from '../../src/widget/components/DuplicatesDialog';
import type { PanelClient } from '../../src/widget/client';
import { byText, card, click, input, openPanel, settle, waitFor, type Panel } from './helpers';

let panel: Panel;
afterEach(() => panel?.close());

const SHA = 'AB'.repeat(32);
const SHA2 = 'CD'.repeat(32);

async function openDuplicates(groups: Array<{ sha256: string; ids: string[] }>): Promise<HTMLElement> {
  click(byText(panel.el, 'button', 'Duplicates'));
  await panel.reply('duplicates', { groups: groups.map((g) => ({ ...g, size: 2048, differentModels: false })), sameVersion: [], reclaimable: 2048 });
  await settle();
  return (await waitFor(() => panel.el.querySelector('.md-duplicates') ?? undefined)) as HTMLElement;
}

const radio = (root: ParentNode, selector: string) => {
  const el = root.querySelector<HTMLInputElement>(selector);
  if (!el) throw new Error(`no ${selector}`);
  return el;
};

describe('duplicate clean-up', () => {
  it('plan first, another kept copy, confirm the plan as shown, progress of this request only, the result', async () => {
    panel = await openPanel();
    const cards = [card(1), card(2), card(3)];
    panel.models(cards, { reset: true });
    await settle();
    const ids = cards.map((c) => c.id);
    const dialog = await openDuplicates([{ sha256: SHA, ids }]);

    // No action picked: no plan can be asked for.
    const showPlan = byText<HTMLButtonElement>(dialog, 'button', 'Show plan');
    expect(showPlan.disabled).toBe(true);
    click(radio(dialog, 'input[name="md-dupe-action"][value="trash"]'));
    await settle();
    click(byText(dialog, 'button', 'Show plan'));
    expect(panel.comm.requests('clean-duplicates')).toEqual([expect.objectContaining({ keep: { kind: 'first' }, action: 'trash', dryRun: true })]);
    await panel.reply('clean-duplicates', { dryRun: true, action: 'trash', plan: [{ sha256: SHA, size: 2048, keep: ids[0], remove: [ids[1], ids[2]] }], skipped: [], done: [], failed: [], bytes: 4096, cancelled: false });
    await settle();
    expect(dialog.querySelector('.md-dupe-summary')!.textContent).toContain('2 copies in 1 group(s) to trash, 4.0 KB freed once the trash is emptied');
    expect(dialog.querySelector('.md-dupe-plan')!.textContent).toContain(`keep ${cards[0].name} — ${cards[0].path}`);

    // The user keeps the second copy instead.
    click(dialog.querySelectorAll<HTMLInputElement>(`input[name="md-keep-${SHA}"]`)[1]);
    await settle();
    expect(dialog.querySelector('.md-dupe-plan')!.textContent).toContain(`would trash ${cards[0].name}`);
    click(byText(dialog, 'button', 'Confirm: trash 2 copies'));
    await settle();
    const sent = panel.comm.requests('clean-duplicates');
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ keep: { kind: 'choices', groups: [{ sha256: SHA, keep: ids[1], remove: [ids[0], ids[2]] }] }, action: 'trash' });
    expect((sent[1] as { dryRun?: boolean }).dryRun).toBeUndefined();

    const base = { type: 'cleanup-progress' as const, filesTotal: 3, bytesTotal: 6144, copiesDone: 0, copiesTotal: 2 };
    panel.kernel({ ...base, requestId: 'another-tab-1', filesDone: 2, bytesDone: 4096, current: null });
    panel.kernel({ ...base, requestId: sent[1].requestId, filesDone: 1, bytesDone: 2048, current: ids[0] });
    await settle();
    const running = dialog.querySelector('.md-dupe-running')!;
    expect(running.textContent).toContain('1 of 3 file(s) read, 2.0 KB of 6.0 KB');
    expect(running.textContent).toContain(cards[0].path);
    expect((running.querySelector('progress') as HTMLProgressElement).value).toBe(2048);
    click(byText(running as HTMLElement, 'button', 'Cancel'));
    expect(panel.comm.requests('cancel-cleanup')).toHaveLength(1);

    await panel.reply('clean-duplicates', {
      dryRun: false,
      action: 'trash',
      plan: [],
      skipped: [],
      done: [{ id: ids[0], kept: ids[1] }],
      failed: [{ id: ids[2], path: `/content/models/${cards[2].path}`, reason: 'cancelled before it was verified; left alone' }],
      bytes: 2048,
      cancelled: true,
    });
    await settle();
    const result = dialog.querySelector('.md-dupe-result')!;
    expect(result.textContent).toContain('Cancelled. 1 copy moved to the trash (2.0 KB); 1 left alone.');
    expect(result.textContent).toContain(`${cards[2].name} — ${cards[2].path}: cancelled before it was verified; left alone`);
    // The list is asked for again after the change.
    expect(panel.comm.requests('duplicates')).toHaveLength(2);
  });

  it('a group left out is not sent; with every group out nothing can be confirmed', async () => {
    panel = await openPanel();
    const dialog = await openDuplicates([
      { sha256: SHA, ids: ['0:a/x.safetensors', '0:b/x.safetensors'] },
      { sha256: SHA2, ids: ['0:a/y.safetensors', '0:b/y.safetensors'] },
    ]);
    click(radio(dialog, 'input[name="md-dupe-action"][value="hardlink"]'));
    input(dialog.querySelector('.md-dupe-choose select') as HTMLSelectElement, 'prefix');
    await settle();
    input(dialog.querySelector('.md-dupe-prefix input') as HTMLInputElement, 'b');
    await settle();
    click(byText(dialog, 'button', 'Show plan'));
    expect(panel.comm.requests('clean-duplicates')[0]).toMatchObject({ keep: { kind: 'prefix', prefix: 'b' }, action: 'hardlink', dryRun: true });
    const plan = [
      { sha256: SHA, size: 2048, keep: '0:b/x.safetensors', remove: ['0:a/x.safetensors'] },
      { sha256: SHA2, size: 2048, keep: '0:b/y.safetensors', remove: ['0:a/y.safetensors'] },
    ];
    await panel.reply('clean-duplicates', { dryRun: true, action: 'hardlink', plan, skipped: [], done: [], failed: [], bytes: 4096, cancelled: false });
    await settle();
    const boxes = dialog.querySelectorAll<HTMLInputElement>('.md-dupe-plan-group legend input[type="checkbox"]');
    click(boxes[0]);
    await settle();
    expect(dialog.querySelector('.md-dupe-plan')!.textContent).toContain('left alone a/x.safetensors');
    click(byText(dialog, 'button', 'Confirm: replace by a hard link 1 copy'));
    expect(panel.comm.requests('clean-duplicates')[1]).toMatchObject({ keep: { kind: 'choices', groups: [{ sha256: SHA2, keep: '0:b/y.safetensors', remove: ['0:a/y.safetensors'] }] } });
    await panel.reply('clean-duplicates', undefined, { code: 'busy', message: 'a clean-up is already running in this panel; wait for it or cancel it' });
    await settle();
    expect(dialog.textContent).toContain('a clean-up is already running');
    click(dialog.querySelectorAll<HTMLInputElement>('.md-dupe-plan-group legend input[type="checkbox"]')[1]);
    await settle();
    expect(byText<HTMLButtonElement>(dialog, 'button', /^Confirm:/).disabled).toBe(true);
  });

  it('read-only: the duplicates are listed, no clean-up control is shown', async () => {
    panel = await openPanel();
    const readOnly = Object.create(panel.model, { readOnly: { value: true } }) as PanelClient;
    const host = document.createElement('div');
    document.body.appendChild(host);
    await act(async () => {
      render(<DuplicatesDialog result={{ groups: [{ sha256: SHA, size: 1, ids: ['0:a', '0:b'], differentModels: false }], sameVersion: [], reclaimable: 1 }} cardOf={() => undefined} onClose={() => undefined} model={readOnly} />, host);
    });
    expect(host.querySelector('.md-duplicates')!.textContent).toContain('not offered here (read-only)');
    expect(host.querySelector('.md-dupe-cleanup')).toBeNull();
    expect(host.querySelectorAll('input')).toHaveLength(0);
    await act(async () => render(null, host));
    host.remove();
  });
});

describe('emptying the trash', () => {
  it('asks what would go, says how many files and bytes, removes only the items shown', async () => {
    panel = await openPanel();
    click(byText(panel.el, 'button', 'Open trash'));
    const items = [{ trashId: 't1', root: 0, path: 'loras/old.safetensors', trashedAt: 1 }, { trashId: 't2', root: 0, path: 'loras/new.safetensors', trashedAt: 2 }];
    await panel.reply('trash', { items });
    await settle();
    const dialog = (await waitFor(() => panel.el.querySelector('.md-trash') ?? undefined)) as HTMLElement;
    input(dialog.querySelector('input[aria-label="Older than days"]') as HTMLInputElement, '30');
    await settle();
    click(byText(dialog, 'button', 'Empty trash…'));
    expect(panel.comm.requests('empty-trash')).toEqual([expect.objectContaining({ dryRun: true, olderThanDays: 30 })]);
    await panel.reply('empty-trash', { dryRun: true, items: [{ ...items[0], files: 3, bytes: 3 * 1024 * 1024 }], files: 3, bytes: 3 * 1024 * 1024, problems: [] });
    await settle();
    const confirm = dialog.querySelector('.md-trash-confirm')!;
    expect(confirm.textContent).toContain('Delete 1 item(s) for good: 3 file(s), 3.0 MB. They cannot be restored afterwards.');
    click(byText(confirm as HTMLElement, 'button', 'Delete 3 file(s) for good'));
    const sent = panel.comm.requests('empty-trash');
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ items: [{ root: 0, trashId: 't1' }] });
    expect((sent[1] as { dryRun?: boolean }).dryRun).toBeUndefined();
    await panel.reply('empty-trash', { dryRun: false, items: [{ ...items[0], files: 3, bytes: 3 * 1024 * 1024 }], files: 3, bytes: 3 * 1024 * 1024, problems: [] });
    await settle();
    expect(panel.el.querySelector('.md-notice')!.textContent).toContain('Removed for good: 1 item(s), 3 file(s), 3.0 MB.');
    // The listing is asked for again.
    expect(panel.comm.requests('trash')).toHaveLength(2);
  });

  it('Cancel in the confirmation sends nothing', async () => {
    panel = await openPanel();
    click(byText(panel.el, 'button', 'Open trash'));
    await panel.reply('trash', { items: [{ trashId: 't1', root: 0, path: 'x.safetensors', trashedAt: 1 }] });
    await settle();
    const dialog = (await waitFor(() => panel.el.querySelector('.md-trash') ?? undefined)) as HTMLElement;
    click(byText(dialog, 'button', 'Empty trash…'));
    await panel.reply('empty-trash', { dryRun: true, items: [{ trashId: 't1', root: 0, path: 'x.safetensors', trashedAt: 1, files: 1, bytes: 10 }], files: 1, bytes: 10, problems: [] });
    await settle();
    click(byText(dialog.querySelector('.md-trash-confirm') as HTMLElement, 'button', 'Cancel'));
    await settle();
    expect(dialog.querySelector('.md-trash-confirm')).toBeNull();
    expect(panel.comm.requests('empty-trash')).toHaveLength(1);
  });
});
