import { MODEL_NAME, MODULE_NAME, VIEW_NAME, moduleVersionRange } from '../../src/kernel/protocol';
import pkg from '../../package.json';
import { act } from 'preact/test-utils';
import { ADAPTER, askedForState, byText, card, click, field, input, openPanel, settle, waitFor, type Panel } from './helpers';

let panel: Panel;
afterEach(() => panel?.close());

describe('ModelsPanelModel', () => {
  // The DOMWidgetModel's own coordinates; under anywidget the model is anywidget's.
  (ADAPTER === 'ipywidgets' ? it : it.skip)('has the module coordinates the kernel sends in comm_open', async () => {
    panel = await openPanel();
    const m = panel.model as any;
    expect(m.get('_model_name')).toBe(MODEL_NAME);
    expect(m.get('_view_name')).toBe(VIEW_NAME);
    expect(m.get('_model_module')).toBe(MODULE_NAME);
    expect(m.get('_view_module')).toBe(MODULE_NAME);
    expect(m.get('_model_module_version')).toBe(moduleVersionRange(pkg.version));
    expect(m.get('_view_module_version')).toBe(moduleVersionRange(pkg.version));
  });

  it('request() resolves with the reply carrying its requestId and ignores other ids', async () => {
    panel = await openPanel();
    const pending = panel.model.request('details', { id: 'x' });
    const [req] = panel.comm.requests('details');
    expect(req).toMatchObject({ type: 'details', id: 'x' });
    expect(typeof req.requestId).toBe('string');
    let settled = false;
    void pending.then(() => (settled = true));
    panel.kernel({ type: 'reply', requestId: 'someone-else', request: 'details', ok: true, result: 1 });
    await settle();
    expect(settled).toBe(false);
    panel.kernel({ type: 'reply', requestId: req.requestId, request: 'details', ok: true, result: 42 });
    await expect(pending).resolves.toMatchObject({ ok: true, result: 42 });
  });

  it('a closed comm resolves pending requests with an error reply', async () => {
    panel = await openPanel();
    const pending = panel.model.request('export', {});
    panel.comm.close();
    await expect(pending).resolves.toMatchObject({ ok: false, error: { code: 'closed' } });
  });
});

describe('ModelsPanel cards', () => {
  it('shows cards for models deltas, applies removes and resets', async () => {
    panel = await openPanel();
    panel.models([card(1), card(2), card(3)], { reset: true });
    await settle();
    expect(panel.titles()).toEqual(['Model 00001', 'Model 00002', 'Model 00003']);

    panel.kernel({ type: 'models', upsert: [card(2, { name: 'Renamed' })], remove: [card(1).id], total: 2 });
    await settle();
    expect(panel.titles()).toEqual(['Model 00003', 'Renamed']);

    panel.kernel({ type: 'models', reset: true, upsert: [card(9)], remove: [], total: 1 });
    await settle();
    expect(panel.titles()).toEqual(['Model 00009']);
  });

  it('card shows badges, status, trained words and a safe Civitai link', async () => {
    panel = await openPanel();
    panel.models([card(1, { trainedWords: ['hero pose'], civitai: { ...card(1).civitai, modelName: 'Hero', versionName: 'v2' }, size: 150 * 1024 * 1024 })]);
    await settle();
    const c = panel.cards()[0];
    expect(c.querySelector('.md-card-title')!.textContent).toBe('Hero');
    expect(c.querySelector('.md-card-sub')!.textContent).toBe('v2');
    expect([...c.querySelectorAll('.md-badge')].map((b) => b.textContent)).toEqual(['LoRA', 'SDXL', '150 MB']);
    expect(c.querySelector('.md-status-identified')!.textContent).toBe('Identified');
    const a = c.querySelector('a.md-link') as HTMLAnchorElement;
    expect(a.href).toBe('https://civitai.com/models/101?modelVersionId=1001');
    expect(a.target).toBe('_blank');
    expect(a.rel).toBe('noopener noreferrer');
    expect(c.tabIndex).toBe(0);
  });

  it('trained words copy to the clipboard on click', async () => {
    const writeText = jest.fn().mockResolvedValue(undefined);
    Object.assign(navigator, { clipboard: { writeText } });
    panel = await openPanel();
    panel.models([card(1, { trainedWords: ['hero pose'] })]);
    await settle();
    click(byText(panel.el, 'button.md-word', 'hero pose'));
    await settle();
    expect(writeText).toHaveBeenCalledWith('hero pose');
    expect(panel.el.querySelector('.md-notice')!.textContent).toContain('Copied');
  });

  it('a Civitai page URL on another host or scheme gets no link', async () => {
    panel = await openPanel();
    panel.models([card(1, { civitai: { ...card(1).civitai, pageUrl: 'javascript:alert(1)' } }), card(2, { civitai: { ...card(2).civitai, pageUrl: 'https://evil.example/models/1' } })]);
    await settle();
    expect(panel.el.querySelectorAll('a.md-link')).toHaveLength(0);
  });
});

describe('search, filters and sort', () => {
  const library = () => [
    card(1, { name: 'Alpha', kind: 'checkpoint', baseModel: 'sd1', size: 5_000, addedAt: 3, trainedWords: ['sunset'] }),
    card(2, { name: 'Bravo', kind: 'lora', baseModel: 'sdxl', size: 1_000, addedAt: 1, status: ['not_found'], file: 'bravo-special.safetensors' }),
    card(3, { name: 'Charlie', kind: 'lora', baseModel: 'pony', size: 3_000, addedAt: 2, status: ['identified', 'manual'] }),
    card(4, { name: 'Delta', kind: 'embedding', baseModel: 'sd1', size: 2_000, addedAt: 4, status: ['unverified', 'error'] }),
  ];

  it('search matches name, file name and trained words', async () => {
    panel = await openPanel();
    panel.models(library());
    await settle();
    const search = field<HTMLInputElement>(panel.el, 'Search');
    input(search, 'sunset');
    await settle();
    expect(panel.titles()).toEqual(['Alpha']);
    input(search, 'special');
    await settle();
    expect(panel.titles()).toEqual(['Bravo']);
    input(search, 'char');
    await settle();
    expect(panel.titles()).toEqual(['Charlie']);
    input(search, 'nothing-matches-this');
    await settle();
    expect(panel.cards()).toHaveLength(0);
    expect(panel.el.querySelector('.md-empty')!.textContent).toContain('No model matches');
  });

  it('kind, base model and status filters narrow the cards', async () => {
    panel = await openPanel();
    panel.models(library());
    await settle();
    input(field(panel.el, 'Kind'), 'lora');
    await settle();
    expect(panel.titles()).toEqual(['Bravo', 'Charlie']);
    input(field(panel.el, 'Base model'), 'pony');
    await settle();
    expect(panel.titles()).toEqual(['Charlie']);
    input(field(panel.el, 'Kind'), 'any');
    input(field(panel.el, 'Base model'), 'any');
    for (const [status, want] of [
      ['identified', ['Alpha', 'Charlie']],
      ['not_found', ['Bravo']],
      ['manual', ['Charlie']],
      ['unverified', ['Delta']],
      ['error', ['Delta']],
    ] as const) {
      input(field(panel.el, 'Status'), status);
      await settle();
      expect(panel.titles()).toEqual(want);
    }
    expect(panel.el.querySelector('.md-count')!.textContent).toBe('1 of 4 models');
  });

  it('sort by name, date added, size and base model, both directions', async () => {
    panel = await openPanel();
    panel.models(library());
    await settle();
    expect(panel.titles()).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta']);
    input(field(panel.el, 'Sort by'), 'added');
    await settle();
    expect(panel.titles()).toEqual(['Bravo', 'Charlie', 'Alpha', 'Delta']);
    input(field(panel.el, 'Sort by'), 'size');
    await settle();
    expect(panel.titles()).toEqual(['Bravo', 'Delta', 'Charlie', 'Alpha']);
    click(panel.el.querySelector('.md-sort-dir'));
    await settle();
    expect(panel.titles()).toEqual(['Alpha', 'Charlie', 'Delta', 'Bravo']);
    click(panel.el.querySelector('.md-sort-dir'));
    input(field(panel.el, 'Sort by'), 'base');
    await settle();
    // Labels: Pony < SD 1.x < SDXL; ties by name.
    expect(panel.titles()).toEqual(['Charlie', 'Alpha', 'Delta', 'Bravo']);
  });
});

describe('virtualised grid', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => card(i));

  it('with 10,000 models only the visible cards are in the DOM and only their previews are requested', async () => {
    panel = await openPanel();
    panel.models(many(10_000));
    await settle();
    const shown = panel.cards();
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThanOrEqual(40);
    const ids = shown.map((c) => c.dataset.id);
    const requests = panel.comm.requests('previews');
    expect(requests).toHaveLength(1);
    expect((requests[0] as any).ids).toEqual(ids);
    expect(panel.el.querySelector('.md-count')!.textContent).toBe('10,000 models');
  });

  it('scrolling replaces the cards and asks only for the new previews', async () => {
    panel = await openPanel();
    panel.models(many(10_000));
    await settle();
    const before = new Set(panel.cards().map((c) => c.dataset.id));
    const scroller = panel.el.querySelector('.md-scroller') as HTMLElement;
    scroller.scrollTop = 356 * 1000;
    scroller.dispatchEvent(new Event('scroll'));
    await settle();
    const after = panel.cards().map((c) => c.dataset.id!);
    expect(after.length).toBeLessThanOrEqual(40);
    expect(after.some((id) => before.has(id))).toBe(false);
    expect(Number(panel.cards()[0].dataset.index)).toBeGreaterThan(3000);
    const requests = panel.comm.requests('previews');
    expect(requests).toHaveLength(2);
    expect((requests[1] as any).ids).toEqual(after);
  });

  it('a preview message becomes an image on its card, and is not asked for again', async () => {
    panel = await openPanel();
    panel.models(many(3));
    await settle();
    const c = card(1);
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    panel.kernel({ type: 'preview', id: c.id, preview: c.preview, mime: 'image/png', size: 4 }, [new DataView(bytes.buffer)]);
    await settle();
    const img = panel.el.querySelector(`[data-id="${c.id}"] img`) as HTMLImageElement;
    expect(img.getAttribute('src')).toMatch(/^blob:/);
    const blob = (globalThis as any).__objectUrls.created.get(img.getAttribute('src')) as Blob;
    expect(blob.type).toBe('image/png');
    expect(blob.size).toBe(4);
    // A re-render with the same visible cards does not ask again for what is cached or pending.
    panel.models([card(0, { name: 'Zed' })]);
    await settle();
    const all = panel.comm.requests('previews').flatMap((r: any) => r.ids);
    expect(all.filter((id: string) => id === c.id)).toHaveLength(1);
  });

  it('a preview above the NSFW limit is blurred until clicked', async () => {
    panel = await openPanel({ settings: { nsfwLevel: 2, previews: true, offline: false } });
    const c = card(1, { civitai: { ...card(1).civitai, nsfwLevel: 16 } });
    panel.models([c]);
    await settle();
    panel.kernel({ type: 'preview', id: c.id, preview: c.preview, mime: 'image/png', size: 1 }, [new ArrayBuffer(1)]);
    await settle();
    const preview = () => panel.el.querySelector('.md-preview')!;
    expect(preview().classList.contains('md-blurred')).toBe(true);
    click(preview().querySelector('button.md-reveal'));
    await settle();
    expect(preview().classList.contains('md-blurred')).toBe(false);
  });

  it('arrow keys move focus between cards', async () => {
    panel = await openPanel();
    panel.models(many(20));
    await settle();
    const first = panel.cards()[0];
    first.focus();
    first.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    await settle();
    expect((document.activeElement as HTMLElement).dataset.index).toBe('1');
    (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    await settle();
    expect((document.activeElement as HTMLElement).dataset.index).toBe('19');
  });
});

describe('toolbar and progress', () => {
  it('Scan, Identify missing and Cancel send their requests', async () => {
    panel = await openPanel();
    click(byText(panel.el, 'button', 'Scan'));
    expect(panel.comm.requests('scan').pop()).toMatchObject({ type: 'scan' });
    expect(panel.comm.requests('scan').pop()).not.toHaveProperty('refresh');
    click(byText(panel.el, 'button', 'Identify missing'));
    expect(panel.comm.requests('scan').pop()).toMatchObject({ type: 'scan', refresh: true, offline: false });
    panel.update({ progress: { running: true, phase: 'hash', filesFound: 10, filesToHash: 4, filesHashed: 1, bytesToHash: 4 * 2 ** 30, bytesHashed: 2 ** 30, bytesPerSecond: 200 * 2 ** 20, etaSeconds: 15, lookups: 0, previews: 0, currentFile: 'loras/a.safetensors', startedAt: 1, cancelled: false } });
    await settle();
    const bar = panel.el.querySelector('[role="progressbar"]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('25');
    const line = panel.el.querySelector('.md-progress')!.textContent!;
    expect(line).toContain('1 / 4 files hashed');
    expect(line).toContain('200 MB/s');
    expect(line).toContain('ETA 15 s');
    expect(line).toContain('loras/a.safetensors');
    click(byText(panel.el, 'button', 'Cancel'));
    expect(panel.comm.requests('cancel')).toHaveLength(1);
  });

  it('Import sends the file bytes in a buffer; Export downloads the reply', async () => {
    panel = await openPanel();
    const doc = { format: 'modeldeck-export', models: [] };
    const file = new File([JSON.stringify(doc)], 'lib.json', { type: 'application/json' });
    const fileInput = panel.el.querySelector('input[type="file"]') as HTMLInputElement;
    Object.defineProperty(fileInput, 'files', { value: [file] });
    act(() => {
      fileInput.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const req = await waitFor(() => panel.comm.requests('import').pop());
    expect(req).not.toHaveProperty('doc');
    expect(String.fromCharCode(...(req.buffers[0] as Uint8Array))).toBe(JSON.stringify(doc));
    await panel.reply('import', { models: 3, matched: 2, unmatched: 1 });
    expect(panel.el.querySelector('.md-notice')!.textContent).toContain('2 matched');

    const clicked: string[] = [];
    const orig = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      clicked.push(this.download);
    };
    try {
      click(byText(panel.el, 'button', 'Export'));
      await panel.reply('export', doc);
    } finally {
      HTMLAnchorElement.prototype.click = orig;
    }
    expect(clicked).toEqual(['modeldeck-models.json']);
  });

  it('the NSFW limit is written to settings (the one writable key)', async () => {
    panel = await openPanel();
    input(field(panel.el, 'Show up to'), '8');
    const update = panel.comm.sent.find((s) => s.data.method === 'update');
    expect(update!.data.state).toEqual({ settings: { nsfwLevel: 8, previews: true, offline: false } });
  });
});

describe('ErrorBanner', () => {
  it('shows kernel errors, dismisses them with a dismiss request, and the panel keeps working', async () => {
    panel = await openPanel();
    panel.models([card(1)]);
    panel.update({ errors: [{ id: 7, code: 'index', message: 'index.json was damaged', at: 1 }] });
    await settle();
    const banner = panel.el.querySelector('.md-errors')!;
    expect(banner.textContent).toContain('index.json was damaged');
    click(banner.querySelector('button[aria-label^="Dismiss error"]'));
    expect(panel.comm.requests('dismiss').pop()).toMatchObject({ type: 'dismiss', ids: [7] });
    panel.update({ errors: [] });
    await settle();
    expect(panel.el.querySelector('.md-errors')).toBeNull();
    expect(panel.titles()).toEqual(['Model 00001']);
  });

  it('a failed reply shows in the banner and is dismissed locally', async () => {
    panel = await openPanel();
    panel.models([card(1)]);
    await settle();
    click(byText(panel.el, 'button', 'Refresh'));
    await panel.reply('refresh', undefined, { code: 'offline', message: 'refreshing needs Civitai' });
    const banner = panel.el.querySelector('.md-errors')!;
    expect(banner.textContent).toContain('refreshing needs Civitai');
    const before = panel.comm.requests('dismiss').length;
    click(banner.querySelector('button[aria-label^="Dismiss error"]'));
    await settle();
    expect(panel.el.querySelector('.md-errors')).toBeNull();
    expect(panel.comm.requests('dismiss')).toHaveLength(before);
    click(byText(panel.el, 'button', 'Scan'));
    expect(panel.comm.requests('scan')).toHaveLength(1);
  });
});

describe('view lifecycle', () => {
  it('remove() unmounts the panel and drops its model listeners', async () => {
    panel = await openPanel();
    panel.models([card(1)]);
    await settle();
    const events = panel.listeners() as Record<string, unknown[] | undefined>;
    expect((events['change:errors'] ?? []).length).toBeGreaterThan(0);
    panel.close();
    expect(panel.el.querySelector('.md-panel')).toBeNull();
    expect((events['change:errors'] ?? []).length).toBe(0);
    expect((events['change:progress'] ?? []).length).toBe(0);
    panel = undefined as any;
  });

  it('asks for request_state when the library is ready but no card list arrived, not when it did', async () => {
    panel = await openPanel();
    const other = await openPanel();
    other.models([card(1)]);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 1100));
    });
    expect(askedForState(panel.comm)).toBe(true);
    expect(askedForState(other.comm)).toBe(false);
    other.close();
  });
});
