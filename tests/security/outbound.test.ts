/**
 * Security item 4: URLs from an API answer (preview images, and each redirect
 * hop) must not reach the user's own machine or network. An "internal service"
 * listens on 127.0.0.1 next to the fake Civitai (also on 127.0.0.1, and the
 * configured base), and counts every request it gets: the attack is an answer
 * that points there, and the proof is that the count stays 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Library } from '../../src/core/library';
import { OutboundPolicy, RefusedUrlError, isBlockedAddress } from '../../src/core/net';
import { FakeCivitai } from '../fake-civitai';
import { loraBytes, register, writeModel } from '../helpers/library';
import { useTmpDir } from '../helpers/tmpdir';

const tmp = useTmpDir('mdk-sec-net-');
let fake: FakeCivitai;
let internal: Server;
let internalOrigin: string;
let internalHits: string[] = [];
let serial = 0;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  internal = createServer((req, res) => {
    internalHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/png' });
    // PNG magic, so that a fetch that got through would be saved as a preview.
    res.end(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
  });
  await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
  internalOrigin = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => internal.close(r));
  await fake.stop();
});
beforeEach(() => {
  internalHits = [];
  fake.reset();
});

async function scanWithImage(imageUrl: string, env: NodeJS.ProcessEnv = {}): Promise<{ warnings: string[]; dir: string }> {
  const root = join(tmp.path, `lib-${++serial}`);
  const m = writeModel(root, 'Lora/m.safetensors', loraBytes());
  register(fake, m, { imageUrls: [imageUrl] });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const lib = await Library.open([root], { civitai: { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, `cache-${serial}`), maxAttempts: 1 } });
    try {
      const report = await lib.scan();
      expect(report.identified).toBe(1);
      return { warnings: report.warnings.map((w) => w.message), dir: join(root, 'Lora') };
    } finally {
      await lib.close();
    }
  } finally {
    process.env = saved;
  }
}

test('an image URL on an internal host is not fetched', async () => {
  const { warnings, dir } = await scanWithImage(`${internalOrigin}/admin/delete-everything.png`);
  expect(internalHits).toEqual([]);
  expect(warnings.join('\n')).toMatch(/refused to fetch: previews come only from Civitai's image hosts or the configured Civitai origin, not 127\.0\.0\.1/);
  expect(readdirSync(dir).filter((f) => f.includes('.preview.'))).toEqual([]);
});

test('a redirect from the image host to an internal host is checked again and refused', async () => {
  fake.inject({ kind: 'redirect', location: `${internalOrigin}/admin/secret.png` }, { route: 'image-cdn' });
  const { warnings, dir } = await scanWithImage('https://image.civitai.com/x/u1/width=450/1.png');
  expect(fake.count('image-cdn')).toBe(1);
  expect(internalHits).toEqual([]);
  expect(warnings.join('\n')).toMatch(/refused to fetch/);
  expect(readdirSync(dir).filter((f) => f.includes('.preview.'))).toEqual([]);
});

test('MODELDECK_ALLOWED_ORIGINS opens that one origin, and only it', async () => {
  const allowed = await scanWithImage(`${internalOrigin}/mirror/ok.png`, { MODELDECK_ALLOWED_ORIGINS: `http://127.0.0.1:1, ${internalOrigin}` });
  expect(internalHits).toEqual(['/mirror/ok.png']);
  expect(readdirSync(allowed.dir).filter((f) => f.includes('.preview.'))).toHaveLength(1);
  // The same host on another port is another origin.
  const policy = new OutboundPolicy({ baseUrl: fake.url, exemptOrigins: [internalOrigin] });
  const otherPort = `http://127.0.0.1:${Number(new URL(internalOrigin).port) + 1}/x.png`;
  expect(() => policy.check(otherPort, 'preview')).toThrow(RefusedUrlError);
});

test('a name that resolves to a loopback address is refused at connect time, with no request sent', async () => {
  const policy = new OutboundPolicy({ baseUrl: fake.url });
  // Past the URL checks (http is allowed because the base is http; downloads may come from any host)...
  const url = policy.check(`http://localhost:${new URL(internalOrigin).port}/admin`, 'download');
  const { request } = await import('undici');
  // ...but the guarded lookup sees 127.0.0.1 / ::1 and refuses to connect.
  const err = await request(url, { dispatcher: policy.dispatcherFor(url) }).catch((e: unknown) => e);
  await policy.close();
  const chain: unknown[] = [];
  for (let e = err; e; e = (e as { cause?: unknown }).cause) chain.push(e);
  expect(chain.some((e) => e instanceof RefusedUrlError && /localhost resolves to a local or private address/.test(e.message))).toBe(true);
  expect(internalHits).toEqual([]);
});

test('https only, unless the configured base is http; no credentials in URLs; literal private addresses refused', () => {
  const real = new OutboundPolicy({ baseUrl: 'https://civitai.com' });
  expect(real.check('https://image.civitai.com/a/width=450/1.jpeg', 'preview').host).toBe('image.civitai.com');
  expect(() => real.check('http://image.civitai.com/a/1.jpeg', 'preview')).toThrow(/only https URLs are fetched/);
  expect(() => real.check('https://evil.example/1.jpeg', 'preview')).toThrow(/not evil\.example/);
  expect(() => real.check('https://user:pw@image.civitai.com/1.jpeg', 'preview')).toThrow(/credentials/);
  expect(() => real.check('file:///etc/passwd', 'download')).toThrow(/only https/);
  for (const host of ['127.0.0.1', '10.0.0.8', '169.254.169.254', '[::1]', '[fd00::1]', '[::ffff:127.0.0.1]', '192.168.1.1']) {
    expect(() => real.check(`https://${host}/x`, 'download')).toThrow(/is a local or private address/);
  }
  expect(real.check('https://files.example.org/model.safetensors', 'download').host).toBe('files.example.org');
});

test('the blocked ranges, checked address by address', () => {
  const blocked = ['127.0.0.1', '127.255.0.1', '0.0.0.0', '10.1.2.3', '100.64.0.1', '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.168.0.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:10.0.0.1', '64:ff9b::7f00:1'];
  const open = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'];
  expect(blocked.filter((a) => !isBlockedAddress(a))).toEqual([]);
  expect(open.filter((a) => isBlockedAddress(a))).toEqual([]);
});
