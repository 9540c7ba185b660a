/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The models panel end to end in a real browser: Debian's headless Chromium
 * (playwright-core) opens a test page served by Debian's jupyter_server, which
 * runs the `modeldeck` kernel; the page's html-manager loads dist/index.js
 * through requirejs from a folder laid out like the CDN, bridges the widget's
 * comm to the kernel, and a cell calls `show()` on a generated library whose
 * models the fake Civitai knows. Screenshots go to test-output/e2e/; KEEP=1
 * keeps the scratch folder (server log, static site) for a look afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Page } from 'playwright-core';
import { FakeCivitai } from '../fake-civitai';
import { loraBytes, register, writeModel, type MadeFile } from '../helpers/library';
import { buildSafetensors } from '../helpers/safetensors';
import { WAIT_MS } from '../helpers/wait';
import { launchChromium, missingChromium, type Browser } from './helpers/chromium';
import { missingPrerequisites, startJupyterServer, type JupyterServer } from './helpers/jupyter-server';
import { buildSite, REPO } from './helpers/site';
import type { CellResult, E2E } from './page/harness';

const SHOTS = join(REPO, 'test-output', 'e2e');
const VERSION: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
const HOSTILE_DESCRIPTION = '<p>Nice LoRA</p><img src=x onerror="window.__xss=1"><script>window.__xss=2</script><a href="javascript:window.__xss=3">click</a>';

// Not useTmpDir: the folder must outlive the server and the browser, which stop in this file's afterAll.
const tmp = { path: '' };
let fake: FakeCivitai;
let server: JupyterServer;
let browser: Browser;
let page: Page;
let root: string;
const files: Record<string, MadeFile> = {};
const ids: Record<string, { modelId: number; versionId: number }> = {};

declare global {
  interface Window {
    e2e: E2E;
    __xss?: number;
  }
}

function embeddingBytes(): Buffer {
  return buildSafetensors({ tensors: { emb_params: { dtype: 'F32', shape: [2, 768], data: randomBytes(2 * 768 * 4) } } });
}

/** A dozen models: identified with previews, identified without, unknown to Civitai, two kinds, one hostile description. */
function makeLibrary(dir: string): void {
  const add = (rel: string, bytes: Buffer) => (files[rel] = writeModel(dir, rel, bytes));
  const civitai = (rel: string, name: string, images: number, trainedWords = ['trigger']) =>
    (ids[rel] = register(fake, files[rel], { name, images, trainedWords }));
  for (const name of ['Aurora Glow', 'Brushwork Ink', 'Cyber Alley', 'Dune Sunset', 'Ember Knight']) {
    const rel = `Lora/${name.toLowerCase().replace(' ', '-')}.safetensors`;
    add(rel, loraBytes());
    // Ember Knight has no image on Civitai, so no preview.
    civitai(rel, name, name === 'Ember Knight' ? 0 : 2, [`${name.split(' ')[0].toLowerCase()}_style`]);
  }
  add('Lora/hostile-notes.safetensors', loraBytes());
  civitai('Lora/hostile-notes.safetensors', 'Hostile Notes', 1);
  const hostile = fake.records.version(ids['Lora/hostile-notes.safetensors'].versionId)!;
  hostile.version.description = HOSTILE_DESCRIPTION;
  hostile.model.description = HOSTILE_DESCRIPTION;
  add('Lora/mystery-one.safetensors', loraBytes());
  add('Lora/mystery-two.safetensors', loraBytes());
  add('Lora/to-link.safetensors', loraBytes());
  add('embeddings/fine-hands.safetensors', embeddingBytes());
  civitai('embeddings/fine-hands.safetensors', 'Fine Hands', 1);
  add('embeddings/bad-pose.safetensors', embeddingBytes());
  add('embeddings/soft-light.safetensors', embeddingBytes());
  civitai('embeddings/soft-light.safetensors', 'Soft Light', 0);
  // On Civitai, but under a hash the file does not have: found only by linking it by URL.
  const target = fake.addVersion({ modelName: 'Linked By Url', baseModel: 'SD 1.5', trainedWords: ['linked_word'], images: 1, files: [{ name: 'linked-by-url.safetensors', hashes: { SHA256: 'AB'.repeat(32) } }] });
  ids.linkTarget = target;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function run(code: string): Promise<CellResult> {
  return page.evaluate((c) => window.e2e.run(c), code);
}

const cards = () => page.locator('.widget-area article.md-card');
/** A card by its title (its accessible name is the title, then the version). */
const card = (title: string) => page.getByRole('article', { name: new RegExp(`^${title}\\b`) });
/** Titles of the cards in the DOM, in grid order. */
const titles = () => page.locator('.widget-area article.md-card .md-card-title').allTextContents();
const count = () => page.locator('.widget-area .md-count').textContent();

/** Polls `read` until it gives `expected` (then passes) or `timeoutMs` passes (then fails showing the last value). */
async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await read();
    if (isDeepStrictEqual(last, expected) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(last).toEqual(expected);
}

/** The page's own error log and the browser's console errors. */
async function pageErrors(): Promise<string[]> {
  return [...(await page.evaluate(() => window.e2e.errors)), ...browser.errors];
}

beforeAll(async () => {
  const missing = missingChromium() ?? missingPrerequisites();
  if (missing) throw new Error(`e2e prerequisites: ${missing} (.ci/run installs them)`);
  mkdirSync(SHOTS, { recursive: true });
  tmp.path = mkdtempSync(join(tmpdir(), 'modeldeck-e2e-'));
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  root = join(tmp.path, 'models');
  makeLibrary(root);
  const site = buildSite(join(tmp.path, 'static'));
  server = await startJupyterServer({
    dir: join(tmp.path, 'jupyter'),
    staticDir: site.dir,
    env: { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', CIVITAI_TOKEN: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache'), MODELDECK_COLAB: '0' },
  });
  browser = await launchChromium(tmp.path);
  page = browser.page;
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${server.url}/static/index.html?${new URLSearchParams({ token: server.token, kernel: 'modeldeck' })}`);
  await page.waitForFunction(() => window.e2e && window.e2e.state !== 'starting', null, { timeout: WAIT_MS });
  const state = await page.evaluate(() => ({ state: window.e2e.state, failure: window.e2e.failure }));
  if (state.state !== 'ready') throw new Error(`the test page failed to start: ${state.failure}\n${server.log()}`);
}, 240_000);

afterAll(async () => {
  await page?.evaluate(() => window.e2e.shutdown()).catch(() => undefined);
  await browser?.close();
  await server?.stop();
  await fake?.stop();
  if (tmp.path && !process.env.KEEP) rmSync(tmp.path, { recursive: true, force: true, maxRetries: 3 });
}, 60_000);

test('show() in a cell: the comm reaches the page, the bundle loads from the CDN layout, the panel renders', async () => {
  const cell = await run(`import { show } from "modeldeck";\nconst panel = show(${JSON.stringify(root)});`);
  const seen = await page.evaluate(() => ({ commOpens: window.e2e.commOpens, modules: window.e2e.modules, errors: window.e2e.errors }));
  expect(cell.error).toBeNull();
  expect(cell.status).toBe('ok');
  expect(seen.commOpens).toEqual([expect.objectContaining({ target: 'jupyter.widget', modelModule: 'modeldeck', modelName: 'ModelsPanelModel' })]);
  expect(cell.widgets).toEqual([seen.commOpens[0].commId]);
  // Asked for once for the model class and once for the view class; both from the CDN layout.
  expect(seen.modules.length).toBeGreaterThan(0);
  const range = VERSION.replace(/^(\d+)\.(\d+)\..*$/, '^$1.$2.0');
  for (const m of seen.modules) expect(m).toMatchObject({ name: 'modeldeck', version: range, url: `/static/modeldeck@${VERSION}/dist/index.js`, ok: true });
  expect(seen.errors).toEqual([]);
  expect(await page.getByRole('toolbar', { name: 'Library actions' }).count()).toBe(1);
  await shot('01-shown');
});

test('Scan: cards appear with previews from the kernel (object URLs), identified and not', async () => {
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  await eventually(count, '12 models');
  await eventually(() => page.locator('.widget-area .md-status-identified').count(), 8);
  await eventually(() => page.locator('.widget-area .md-status-not_found').count(), 4);
  expect(await cards().count()).toBe(12);
  // Six models have a preview on Civitai; each is fetched by the kernel and sent as bytes.
  const loaded = () =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLImageElement>('.widget-area article.md-card .md-preview img')].map((img) => ({
        title: img.closest('article')!.querySelector('.md-card-title')!.textContent,
        blob: img.src.startsWith('blob:'),
        ok: img.complete && img.naturalWidth > 0,
      })),
    );
  await eventually(async () => (await loaded()).filter((i) => i.blob && i.ok).length, 6);
  expect((await loaded()).map((i) => i.title).sort()).toEqual(['Aurora Glow', 'Brushwork Ink', 'Cyber Alley', 'Dune Sunset', 'Fine Hands', 'Hostile Notes']);
  // No preview on Civitai: a placeholder, not a broken image.
  expect(await card('Ember Knight').locator('img').count()).toBe(0);
  expect(await card('Ember Knight').locator('.md-preview-empty').count()).toBe(1);
  await shot('02-cards');
});

test('at several widths the grid\'s columns fit its scroll area: the right-most card keeps its right border', async () => {
  /** Waits until the grid has measured the width it has now, then reports each card of the first row against the clip edge. */
  const measured = async () => {
    await page.waitForFunction(() => {
      const scroller = document.querySelector<HTMLElement>('.widget-area .md-scroller');
      const canvas = document.querySelector<HTMLElement>('.widget-area .md-canvas');
      return !!scroller && !!canvas && Number(scroller.dataset.width) === canvas.getBoundingClientRect().width;
    });
    // The rows are their own compositing layer (will-change: transform), rastered in whole pixels: a border
    // that ends past the last whole pixel of the rows' width is cut off. So every card must end within it.
    return page.evaluate(() => {
      const rows = document.querySelector<HTMLElement>('.widget-area .md-rows')!.getBoundingClientRect();
      const all = [...document.querySelectorAll<HTMLElement>('.widget-area article.md-card')].map((c) => c.getBoundingClientRect());
      const firstRow = all.filter((r) => r.top === all[0].top);
      return { width: rows.width, edge: Math.floor(rows.width), rights: firstRow.map((r) => r.right - rows.left), widths: firstRow.map((r) => r.width) };
    });
  };
  const notebook = page.locator('#notebook');
  const viewport = page.viewportSize();
  try {
    await page.setViewportSize({ width: 1400, height: 900 });
    // The window the issue saw, then fractional and narrow outputs (JupyterLab's side-by-side mode, zoom).
    for (const width of ['auto', '1233.5px', '1000.25px', '700.6px', '480px', '333.3px']) {
      await notebook.evaluate((el, w) => (el.style.width = w), width);
      const m = await measured();
      expect({ width, rights: m.rights, fits: m.rights.every((r) => r <= m.edge) }).toMatchObject({ width, fits: true });
      expect(m.rights.length).toBeGreaterThanOrEqual(1);
      if (m.width >= 220) expect(Math.min(...m.widths)).toBeGreaterThanOrEqual(220);
      if (width === 'auto') await shot('02b-cards-1400');
    }
  } finally {
    await notebook.evaluate((el) => (el.style.width = ''));
    if (viewport) await page.setViewportSize(viewport);
  }
});

test('filters by kind and status, and searches by name and trained word', async () => {
  await page.getByLabel('Kind').selectOption('embedding');
  await eventually(count, '3 of 12 models');
  expect((await titles()).sort()).toEqual(['Fine Hands', 'Soft Light', 'bad-pose']);
  await shot('03-filter-kind');
  await page.getByLabel('Kind').selectOption('any');
  await page.getByLabel('Status').selectOption('not_found');
  await eventually(count, '4 of 12 models');
  expect((await titles()).sort()).toEqual(['bad-pose', 'mystery-one', 'mystery-two', 'to-link']);
  await page.getByLabel('Status').selectOption('any');
  await eventually(count, '12 models');

  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.fill('dune');
  await eventually(titles, ['Dune Sunset']);
  await search.fill('ember_style');
  await eventually(titles, ['Ember Knight']);
  await search.fill('mystery');
  await eventually(titles, ['mystery-one', 'mystery-two']);
  await shot('04-search');
  await search.fill('');
  await eventually(count, '12 models');
});

test('the hash / link dialog links a file by its Civitai URL and the card updates', async () => {
  const target = card('to-link');
  expect(await target.locator('.md-status-not_found').count()).toBe(1);
  await target.getByRole('button', { name: 'Hash / link' }).click();
  const dialog = page.getByRole('dialog');
  await eventually(() => dialog.count(), 1);
  // Every computed hash is listed with its source.
  expect(await dialog.textContent()).toContain(files['Lora/to-link.safetensors'].SHA256);
  const url = `https://civitai.com/models/${ids.linkTarget.modelId}?modelVersionId=${ids.linkTarget.versionId}`;
  await dialog.getByLabel('Civitai URL or AIR').fill(url);
  await shot('05-link-dialog');
  await dialog.getByRole('button', { name: 'Link', exact: true }).click();
  await eventually(() => card('Linked By Url').count(), 1);
  await shot('06-linked');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await eventually(() => dialog.count(), 0);
  const linked = card('Linked By Url');
  expect(await linked.locator('.md-status-manual').count()).toBe(1);
  expect(await linked.locator('.md-status-not_found').count()).toBe(0);
  expect(await linked.locator('.md-card-sub').textContent()).toBe(`v${ids.linkTarget.versionId}`);
  expect(await linked.textContent()).toContain('linked_word');
  expect(await card('to-link').count()).toBe(0);
});

test("a description carrying <img onerror> and <script> runs nothing and leaves no handler in the page", async () => {
  await card('Hostile Notes').getByRole('button', { name: 'Details' }).click();
  const dialog = page.getByRole('dialog');
  const description = dialog.locator('.md-description');
  await eventually(() => description.count(), 1);
  expect(await description.textContent()).toContain('Nice LoRA');
  // Anything that survived would run when its image fails to load: wait for
  // every image in the description to have settled (its load or error event
  // fired), then for one more task, in which such handlers would have run.
  await page.waitForFunction(() => [...document.querySelectorAll('.widget-area .md-description img')].every((img) => (img as HTMLImageElement).complete));
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  const found = await page.evaluate(() => {
    const area = document.querySelector('.widget-area')!;
    const withHandlers = [...area.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on')));
    return {
      xss: window.__xss,
      scripts: area.querySelectorAll('script').length,
      handlers: withHandlers.map((el) => el.outerHTML),
      javascriptUrls: area.querySelectorAll('[href^="javascript:" i], [src^="javascript:" i]').length,
      html: area.querySelector('.md-description')!.innerHTML,
    };
  });
  expect(found.xss).toBeUndefined();
  expect(found.scripts).toBe(0);
  expect(found.handlers).toEqual([]);
  expect(found.javascriptUrls).toBe(0);
  expect(found.html).not.toMatch(/onerror|<script|javascript:/i);
  await shot('07-details-hostile');
  await dialog.getByRole('button', { name: 'Close' }).click();
});

test('no page errors along the way; card links only ever point at https Civitai pages', async () => {
  expect(await pageErrors()).toEqual([]);
  // The fake's page URLs are http://127.0.0.1:<port>/models/...: not Civitai, so no card links to them.
  const hrefs = await page.locator('.widget-area a.md-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  for (const href of hrefs) expect(href).toMatch(/^https:\/\/civitai\.com\//);
});
