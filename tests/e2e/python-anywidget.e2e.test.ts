/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The Python route in a real browser, the way Colab's manager does it: a
 * Debian python3-ipykernel kernel behind Debian's jupyter_server runs
 * `modeldeck.show()`; the test page's @jupyter-widgets/html-manager loads
 * anywidget's published front end (npm `anywidget`, dist/index.js) through
 * requirejs from a folder laid out like the CDN, and anywidget imports the
 * panel from the `_esm` in the state. Cards with previews after a scan,
 * search, the link dialog, a hostile description. Screenshots go to
 * test-output/e2e-python/.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Page } from 'playwright-core';
import { FakeCivitai } from '../fake-civitai';
import { loraBytes, register, writeModel, type MadeFile } from '../helpers/library';
import { WAIT_MS } from '../helpers/wait';
import { launchChromium, missingChromium, type Browser } from './helpers/chromium';
import { missingPrerequisites, startJupyterServer, type JupyterServer } from './helpers/jupyter-server';
import { buildSite, REPO } from './helpers/site';
import type { CellResult, E2E } from './page/harness';

const SHOTS = join(REPO, 'test-output', 'e2e-python');
const ANYWIDGET_VERSION: string = JSON.parse(readFileSync(join(REPO, 'node_modules', 'anywidget', 'package.json'), 'utf8')).version;
const HOSTILE_DESCRIPTION = '<p>Nice LoRA</p><img src=x onerror="window.__xss=1"><script>window.__xss=2</script><a href="javascript:window.__xss=3">click</a>';

const tmp = { path: '' };
let fake: FakeCivitai;
let server: JupyterServer;
let browser: Browser;
let page: Page;
let root: string;
const files: Record<string, MadeFile> = {};
let linkTarget: { modelId: number; versionId: number };

declare global {
  interface Window {
    e2e: E2E;
    __xss?: number;
  }
}

function makeLibrary(dir: string): void {
  for (const name of ['Aurora Glow', 'Brushwork Ink', 'Cyber Alley']) {
    const rel = `Lora/${name.toLowerCase().replace(' ', '-')}.safetensors`;
    files[rel] = writeModel(dir, rel, loraBytes());
    register(fake, files[rel], { name, images: 1, trainedWords: [`${name.split(' ')[0]!.toLowerCase()}_style`] });
  }
  files.hostile = writeModel(dir, 'Lora/hostile-notes.safetensors', loraBytes());
  const hostile = register(fake, files.hostile, { name: 'Hostile Notes', images: 1 });
  const record = fake.records.version(hostile.versionId)!;
  record.version.description = HOSTILE_DESCRIPTION;
  record.model.description = HOSTILE_DESCRIPTION;
  files.link = writeModel(dir, 'Lora/to-link.safetensors', loraBytes());
  linkTarget = fake.addVersion({ modelName: 'Linked By Url', baseModel: 'SD 1.5', trainedWords: ['linked_word'], images: 1, files: [{ name: 'linked-by-url.safetensors', hashes: { SHA256: 'CD'.repeat(32) } }] });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

function run(code: string): Promise<CellResult> {
  return page.evaluate((c) => window.e2e.run(c), code);
}

const card = (title: string) => page.getByRole('article', { name: new RegExp(`^${title}\\b`) });
const titles = () => page.locator('.widget-area article.md-card .md-card-title').allTextContents();
const count = () => page.locator('.widget-area .md-count').textContent();

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

beforeAll(async () => {
  const missing = missingChromium() ?? missingPrerequisites();
  if (missing) throw new Error(`e2e prerequisites: ${missing} (.ci/run installs them)`);
  mkdirSync(SHOTS, { recursive: true });
  tmp.path = mkdtempSync(join(tmpdir(), 'modeldeck-e2e-py-'));
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  root = join(tmp.path, 'models');
  makeLibrary(root);
  const site = buildSite(join(tmp.path, 'static'));
  // anywidget's published front end where the CDN has it: anywidget@<version>/dist/index.js.
  const cdn = join(site.dir, `anywidget@${ANYWIDGET_VERSION}`, 'dist');
  mkdirSync(cdn, { recursive: true });
  copyFileSync(join(REPO, 'node_modules', 'anywidget', 'dist', 'index.js'), join(cdn, 'index.js'));
  server = await startJupyterServer({
    dir: join(tmp.path, 'jupyter'),
    staticDir: site.dir,
    env: {
      CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', CIVITAI_TOKEN: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache'), MODELDECK_COLAB: '0',
      PYTHONPATH: join(REPO, 'python'), MODELDECK_ANYWIDGET_VERSION: ANYWIDGET_VERSION,
    },
  });
  browser = await launchChromium(tmp.path);
  page = browser.page;
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${server.url}/static/index.html?${new URLSearchParams({ token: server.token, kernel: 'python3' })}`);
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

test('modeldeck.show() in a Python cell: anywidget loads from the CDN layout and renders the panel from _esm', async () => {
  const cell = await run(`import modeldeck\npanel = modeldeck.show(${JSON.stringify(root)})`);
  const seen = await page.evaluate(() => ({ commOpens: window.e2e.commOpens, modules: window.e2e.modules, errors: window.e2e.errors }));
  expect(cell.error).toBeNull();
  expect(seen.commOpens).toEqual([expect.objectContaining({ target: 'jupyter.widget', modelModule: 'anywidget', modelName: 'AnyModel' })]);
  expect(cell.widgets).toEqual([seen.commOpens[0]!.commId]);
  expect(seen.modules.length).toBeGreaterThan(0);
  for (const m of seen.modules) expect(m).toMatchObject({ name: 'anywidget', url: `/static/anywidget@${ANYWIDGET_VERSION}/dist/index.js`, ok: true });
  // The panel is anywidget's view rendering modeldeck's module: its toolbar is there, with the stylesheet from _css.
  await page.getByRole('toolbar', { name: 'Library actions' }).waitFor();
  expect(await page.evaluate(() => [...document.querySelectorAll('style')].some((s) => s.textContent!.includes('.md-card')))).toBe(true);
  expect(seen.errors).toEqual([]);
  await shot('01-shown');
});

test('Scan from the panel: cards with previews whose bytes came through the Python relay', async () => {
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  await eventually(count, '5 models');
  await eventually(() => page.locator('.widget-area .md-status-identified').count(), 4);
  const loaded = () => page.evaluate(() => [...document.querySelectorAll<HTMLImageElement>('.widget-area article.md-card .md-preview img')].filter((img) => img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0).length);
  await eventually(loaded, 4);
  await shot('02-cards');
});

test('search by name and trained word', async () => {
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.fill('cyber');
  await eventually(titles, ['Cyber Alley']);
  await search.fill('aurora_style');
  await eventually(titles, ['Aurora Glow']);
  await shot('03-search');
  await search.fill('');
  await eventually(count, '5 models');
});

test('the hash / link dialog links a file by its Civitai URL', async () => {
  await card('to-link').getByRole('button', { name: 'Hash / link' }).click();
  const dialog = page.getByRole('dialog');
  await eventually(() => dialog.count(), 1);
  expect(await dialog.textContent()).toContain(files.link!.SHA256);
  await dialog.getByLabel('Civitai URL or AIR').fill(`https://civitai.com/models/${linkTarget.modelId}?modelVersionId=${linkTarget.versionId}`);
  await dialog.getByRole('button', { name: 'Link', exact: true }).click();
  await eventually(() => card('Linked By Url').count(), 1);
  await shot('04-linked');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await eventually(() => dialog.count(), 0);
  expect(await card('Linked By Url').locator('.md-status-manual').count()).toBe(1);
});

test('a hostile description runs nothing; the Python API sees what the panel did', async () => {
  await card('Hostile Notes').getByRole('button', { name: 'Details' }).click();
  const dialog = page.getByRole('dialog');
  const description = dialog.locator('.md-description');
  await eventually(() => description.count(), 1);
  expect(await description.textContent()).toContain('Nice LoRA');
  await page.waitForFunction(() => [...document.querySelectorAll('.widget-area .md-description img')].every((img) => (img as HTMLImageElement).complete));
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  const found = await page.evaluate(() => {
    const area = document.querySelector('.widget-area')!;
    return {
      xss: window.__xss,
      scripts: area.querySelectorAll('script').length,
      handlers: [...area.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).length,
    };
  });
  expect(found).toEqual({ xss: undefined, scripts: 0, handlers: 0 });
  await shot('05-details-hostile');
  await dialog.getByRole('button', { name: 'Close' }).click();
  const cell = await run('import json\nprint(json.dumps(sorted(m["civitai"]["status"] for m in panel.models)))');
  expect(JSON.parse(cell.text)).toEqual(['found', 'found', 'found', 'found', 'found']);
  expect([...(await page.evaluate(() => window.e2e.errors)), ...browser.errors]).toEqual([]);
});
