/// <reference lib="dom" />
/**
 * `modeldeck serve` in a real browser: Debian's headless Chromium opens the
 * printed URL (through a prefix-stripping proxy shaped like
 * jupyter-server-proxy's `/proxy/<port>/`, so the page must use relative URLs
 * only) on a generated library the fake Civitai knows. Cards with previews,
 * search, a scan with progress, the link dialog, two tabs in step, and a
 * reconnect after the event stream is cut while the library changes.
 * Screenshots go to test-output/serve/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Page } from 'playwright-core';
import { FakeCivitai } from '../fake-civitai';
import { FakeStorage } from '../fake-civitai/storage';
import { existsSync, readFileSync } from 'node:fs';
import { loraBytes, register, sha256, writeModel, type MadeFile } from '../helpers/library';
import { messageOf, raw, SseReader, startServe, type ServeProcess } from '../helpers/serve';
import { WAIT_MS } from '../helpers/wait';
import { launchChromium, missingChromium, type Browser } from './helpers/chromium';
import { PrefixProxy } from './helpers/prefix-proxy';
import { REPO } from './helpers/site';

const SHOTS = join(REPO, 'test-output', 'serve');

let work: string;
let root: string;
let fake: FakeCivitai;
let storage: FakeStorage;
let serve: ServeProcess;
let proxy: PrefixProxy;
let pageUrl: string;
let browser: Browser;
let page: Page;
let second: Page;
const files: Record<string, MadeFile> = {};
let linkTarget: { modelId: number; versionId: number };

declare global {
  interface Window {
    modeldeck: { snapshots: number; connection: string };
    __progress?: number[];
  }
}

const cards = (p: Page) => p.locator('#modeldeck article.md-card');
const card = (p: Page, title: string) => p.getByRole('article', { name: new RegExp(`^${title}\\b`) });
const titles = (p: Page) => p.locator('#modeldeck article.md-card .md-card-title').allTextContents();
const count = (p: Page) => p.locator('#modeldeck .md-count').textContent();

async function eventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let last: T;
  for (;;) {
    last = await read();
    if (isDeepStrictEqual(last, expected) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(last).toEqual(expected);
}

const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  const missing = missingChromium();
  if (missing) throw new Error(`e2e prerequisites: ${missing} (.ci/run installs them)`);
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'mdk-serve-e2e-'));
  root = join(work, 'models');
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  storage = await new FakeStorage().start();
  fake.storage = storage;
  const names = ['Aurora Glow', 'Brushwork Ink', 'Cyber Alley', 'Dune Sunset', 'Ember Knight'];
  for (const name of names) {
    const rel = `Lora/${name.toLowerCase().replace(' ', '-')}.safetensors`;
    // Some bulk, so the scan runs long enough to show its progress bar.
    files[rel] = writeModel(root, rel, loraBytes({}, 24 * 1024 * 1024));
    register(fake, files[rel], { name, images: name === 'Ember Knight' ? 0 : 1, trainedWords: [`${name.split(' ')[0].toLowerCase()}_style`] });
  }
  files['Lora/to-link.safetensors'] = writeModel(root, 'Lora/to-link.safetensors', loraBytes());
  files['Lora/mystery.safetensors'] = writeModel(root, 'Lora/mystery.safetensors', loraBytes());
  linkTarget = fake.addVersion({ modelName: 'Linked By Url', baseModel: 'SD 1.5', trainedWords: ['linked_word'], images: 1, files: [{ name: 'linked-by-url.safetensors', hashes: { SHA256: 'AB'.repeat(32) } }] });
  serve = await startServe([root], [], { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', CIVITAI_TOKEN: '', MODELDECK_CACHE_DIR: join(work, 'cache'), MODELDECK_ALLOWED_ORIGINS: storage.url });
  proxy = new PrefixProxy(serve.port);
  pageUrl = `${await proxy.start()}?token=${serve.token}`;
  browser = await launchChromium(work, { width: 1200, height: 860 });
  page = browser.page;
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.modeldeck && window.modeldeck.connection === 'open');
});

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  await serve?.stop();
  await fake?.stop();
  await storage?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the page takes the token out of the address bar and loads under the proxy prefix', async () => {
  expect(page.url()).toBe(pageUrl.replace(/\?token=.*$/, ''));
  expect(await page.getByRole('toolbar', { name: 'Library actions' }).count()).toBe(1);
  await shot(page, '01-opened');
});

test('a scan shows its progress, then cards with previews fetched by GET', async () => {
  second = await browser.context.newPage();
  second.setDefaultTimeout(WAIT_MS);
  await second.goto(pageUrl);
  await second.waitForFunction(() => window.modeldeck && window.modeldeck.connection === 'open');
  // Record every value the progress bar shows, in both tabs.
  for (const p of [page, second]) {
    await p.evaluate(() => {
      window.__progress = [];
      new MutationObserver(() => {
        const bar = document.querySelector('[role=progressbar]');
        if (bar) window.__progress!.push(Number(bar.getAttribute('aria-valuenow')));
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
  }
  await page.getByRole('button', { name: 'Scan', exact: true }).click();
  await eventually(() => count(page), '7 models');
  await eventually(() => page.locator('#modeldeck .md-status-identified').count(), 5);
  const loaded = () =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLImageElement>('#modeldeck article.md-card .md-preview img')].map((img) => ({
        title: img.closest('article')!.querySelector('.md-card-title')!.textContent,
        ok: img.complete && img.naturalWidth > 0,
      })),
    );
  await eventually(async () => (await loaded()).filter((i) => i.ok).length, 4);
  expect((await loaded()).map((i) => i.title).sort()).toEqual(['Aurora Glow', 'Brushwork Ink', 'Cyber Alley', 'Dune Sunset']);
  expect(await card(page, 'Ember Knight').locator('.md-preview-empty').count()).toBe(1);
  // Both tabs saw the bar of the scan the first one started.
  for (const p of [page, second]) expect((await p.evaluate(() => window.__progress!)).length).toBeGreaterThan(0);
  // The second tab got the same cards without asking.
  await eventually(() => count(second), '7 models');
  await shot(page, '02-cards');
  await shot(second, '02b-second-tab');
});

test('previews are cached by the browser: a reload revalidates them (304) instead of fetching them again', async () => {
  const from = proxy.previewStatuses.length;
  await page.reload();
  await page.waitForFunction(() => window.modeldeck && window.modeldeck.connection === 'open');
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#modeldeck .md-preview img')].filter((i) => i.complete && i.naturalWidth > 0).length === 4);
  // The first scan's test saw each of the four fetched once (200); after the reload the server only confirms them.
  expect(proxy.previewStatuses.slice(0, from).filter((s) => s === 200).length).toBe(4);
  await eventually(async () => proxy.previewStatuses.slice(from).filter((s) => s === 304).length, 4);
  expect(proxy.previewStatuses.slice(from).filter((s) => s === 200)).toEqual([]);
});

test('search filters the cards in one tab only', async () => {
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.fill('dune');
  await eventually(() => titles(page), ['Dune Sunset']);
  await search.fill('ember_style');
  await eventually(() => titles(page), ['Ember Knight']);
  await shot(page, '03-search');
  expect(await cards(second).count()).toBe(7);
  await search.fill('');
  await eventually(() => count(page), '7 models');
});

test('the link dialog links a file by URL, and the other tab shows it', async () => {
  await card(page, 'to-link').getByRole('button', { name: 'Hash / link' }).click();
  const dialog = page.getByRole('dialog');
  await eventually(() => dialog.count(), 1);
  expect(await dialog.textContent()).toContain(files['Lora/to-link.safetensors'].SHA256);
  await dialog.getByLabel('Civitai URL or AIR').fill(`https://civitai.com/models/${linkTarget.modelId}?modelVersionId=${linkTarget.versionId}`);
  await shot(page, '04-link-dialog');
  await dialog.getByRole('button', { name: 'Link', exact: true }).click();
  await eventually(() => card(page, 'Linked By Url').count(), 1);
  await dialog.getByRole('button', { name: 'Close' }).click();
  expect(await card(page, 'Linked By Url').locator('.md-status-manual').count()).toBe(1);
  await eventually(() => card(second, 'Linked By Url').count(), 1);
  expect(await card(second, 'to-link').count()).toBe(0);
  await shot(second, '05-linked-in-second-tab');
});

test('after the event stream is cut while the library changes, the tab reconnects with Last-Event-ID and misses nothing', async () => {
  const before = await page.evaluate(() => window.modeldeck.snapshots);
  const asked = proxy.eventRequests.length;
  proxy.pause();
  await page.waitForFunction(() => window.modeldeck.connection === 'reconnecting');
  // While the tabs are cut off: a new model file, and a scan asked for directly.
  writeModel(root, 'Lora/arrived-later.safetensors', loraBytes());
  const auth = { 'X-Modeldeck-Token': serve.token };
  const snap = JSON.parse((await raw(serve.base, { path: '/api/snapshot', headers: auth })).body);
  const watch = await SseReader.open(serve.base, `/api/events?since=${snap.lastEventId}`, auth);
  const posted = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'scan', requestId: 'while-cut' }) });
  expect(posted.status).toBe(202);
  await watch.next((e) => messageOf(e).content?.requestId === 'while-cut', 'the scan reply');
  watch.close();
  expect(await count(page)).toBe('7 models');
  proxy.resume();
  for (const p of [page, second]) {
    await eventually(() => count(p), '8 models');
    await p.waitForFunction(() => window.modeldeck.connection === 'open');
  }
  // Caught up from the replay, not from a new snapshot; the reconnect carried the last id it had.
  expect(await page.evaluate(() => window.modeldeck.snapshots)).toBe(before);
  expect(proxy.eventRequests.slice(asked).some((id) => id !== null && /^[0-9a-f]{8}-\d+$/.test(id))).toBe(true);
  await shot(page, '06-after-reconnect');
  expect(browser.errors.filter((e) => !/EventSource|ERR_|net::|Failed to load resource/.test(e))).toEqual([]);
});

test('a pasted link downloads with progress into the library, the card appears in both tabs, and the same link again warns', async () => {
  const bytes = loraBytes({}, 8 * 1024 * 1024);
  const m = fake.addVersion({ modelName: 'Pasted Download', type: 'LORA', baseModel: 'SD 1.5', images: 1, files: [{ name: 'pasted-download.safetensors', hashes: { SHA256: sha256(bytes) }, sizeKB: bytes.length / 1024, primary: true, content: bytes }] });
  // Slow enough for the list to show its progress line at least once.
  storage.faults = { bytesPerSecond: 2 * 1024 * 1024 };
  const form = page.getByRole('region', { name: 'Downloads' });
  await form.getByLabel('Link to download').fill(`https://civitai.com/models/${m.modelId}`);
  await form.getByRole('button', { name: 'Download', exact: true }).click();
  const row = form.locator('.md-download').first();
  await eventually(async () => /MB\/s/.test((await row.locator('.md-download-status').textContent()) ?? ''), true);
  await shot(page, '07a-downloading');
  await eventually(async () => ((await row.locator('.md-download-status').textContent()) ?? '').startsWith('Done:'), true);
  storage.faults = {};
  expect(readFileSync(join(root, 'Lora', 'pasted-download.safetensors')).equals(bytes)).toBe(true);
  expect(existsSync(join(root, 'Lora', 'pasted-download.safetensors.part'))).toBe(false);
  await eventually(() => card(page, 'Pasted Download').count(), 1);
  await eventually(() => card(second, 'Pasted Download').count(), 1);
  // The same file again: nothing downloaded, the warning names where it is.
  const served = storage.requests.length;
  await form.getByLabel('Link to download').fill(`urn:air:sd1:lora:civitai:${m.modelId}@${m.versionId}`);
  await form.getByRole('button', { name: 'Download', exact: true }).click();
  const warning = form.locator('.md-download-warning');
  await eventually(() => warning.count(), 1);
  expect(await warning.textContent()).toBe(`already in the library: ${join(root, 'Lora', 'pasted-download.safetensors')}`);
  expect(storage.requests.length).toBe(served);
  await shot(page, '07b-downloaded');
});

test('on a phone-sized screen the panel fits the width', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await shot(page, '07-phone');
  expect(overflow).toBeLessThanOrEqual(0);
});

test('a read-only server shows the cards to browse and no control that would change the library', async () => {
  const ro = await startServe([root], ['--read-only'], { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', CIVITAI_TOKEN: '', MODELDECK_CACHE_DIR: join(work, 'cache') });
  const tab = await browser.context.newPage();
  try {
    tab.setDefaultTimeout(WAIT_MS);
    await tab.goto(`${ro.base}/?token=${ro.token}`);
    await tab.waitForFunction(() => window.modeldeck && window.modeldeck.connection === 'open');
    // The library the other server scanned, browsed and searched here.
    await eventually(async () => (await cards(tab).count()) > 0, true);
    await tab.getByRole('searchbox').fill('aurora');
    await eventually(() => titles(tab), ['Aurora Glow']);
    await expect(tab.locator('#modeldeck .md-readonly').textContent()).resolves.toBe('Read-only');
    for (const label of ['Scan', 'Identify missing', 'Import', 'Export', 'Refresh', 'Hash / link', 'Move', 'Trash', 'Check for updates', 'Open trash']) {
      expect(await tab.getByRole('button', { name: label, exact: true }).count()).toBe(0);
    }
    expect(await tab.getByRole('button', { name: 'Details', exact: true }).count()).toBe(1);
    expect(await tab.getByRole('button', { name: 'Duplicates', exact: true }).count()).toBe(1);
    await shot(tab, '08-read-only');
  } finally {
    await tab.close();
    await ro.stop();
  }
});
