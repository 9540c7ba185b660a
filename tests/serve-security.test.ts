/**
 * `modeldeck serve` under hostile requests, over real HTTP to a real server
 * process: no token, a wrong token, a forged Origin, a rebinding Host,
 * traversal in preview ids, a 50 MB body, a client sending one byte a second,
 * 200 event streams at once. Each is refused or bounded, the server keeps
 * answering, the Civitai token never reaches a page, and nothing is written
 * outside the library.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCivitai } from './fake-civitai';
import { TOKEN as CIVITAI_TOKEN } from './helpers/civitai';
import { runCli } from './helpers/cli';
import { loraBytes, register, writeModel } from './helpers/library';
import { messageOf, raw, SseReader, startServe, type ServeProcess } from './helpers/serve';
import { WAIT_MS } from './helpers/wait';
import { outsideFile, type OutsideFile } from './security/outside';

let work: string;
let root: string;
let fake: FakeCivitai;
let serve: ServeProcess;
let secret: OutsideFile;
let env: NodeJS.ProcessEnv;
const seen: string[] = [];

const auth = () => ({ 'X-Modeldeck-Token': serve.token });
const host = () => `127.0.0.1:${serve.port}`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mdk-serve-sec-'));
  root = join(work, 'models');
  secret = outsideFile(work, 'secret.txt', 'not for the page');
  fake = await new FakeCivitai().start();
  for (const name of ['alpha', 'beta']) register(fake, writeModel(root, `Lora/${name}.safetensors`, loraBytes()), { name, images: 1 });
  writeModel(root, 'Lora/unknown.safetensors', loraBytes());
  env = {
    CIVITAI_BASE_URL: fake.url,
    CIVITAI_FALLBACK_BASE_URLS: '',
    CIVITAI_TOKEN,
    MODELDECK_CACHE_DIR: join(work, 'cache'),
    MODELDECK_SERVE_LIMITS: JSON.stringify({ headersTimeoutMs: 3000, requestTimeoutMs: 4000 }),
  };
  serve = await startServe([root], [], env);
  // A scan through the served session, so that cards and previews exist.
  const stream = await SseReader.open(serve.base, `/api/events?since=${encodeURIComponent(await lastEventId())}`, auth());
  const posted = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'scan', requestId: 'scan-1' }) });
  expect(posted.status).toBe(202);
  const reply = await stream.next((e) => messageOf(e).content?.type === 'reply' && messageOf(e).content.requestId === 'scan-1', 'the scan reply');
  expect(messageOf(reply).content.ok).toBe(true);
  stream.close();
});

afterAll(async () => {
  await serve?.stop();
  await fake?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function lastEventId(): Promise<string> {
  const snap = await raw(serve.base, { path: '/api/snapshot', headers: auth() });
  seen.push(snap.body);
  return JSON.parse(snap.body).lastEventId;
}

async function snapshot(): Promise<{ state: { summary: { models: number } }; readOnly: boolean }> {
  const snap = await raw(serve.base, { path: '/api/snapshot', headers: auth() });
  expect(snap.status).toBe(200);
  seen.push(snap.body);
  return JSON.parse(snap.body);
}

/** The server still answers a plain, proper request. */
async function stillServing(): Promise<void> {
  const snap = await snapshot();
  expect(snap.state.summary.models).toBe(3);
}

/** The cards of a window over the whole library, as the page asks for them: a POSTed request, the reply as an event. */
async function windowCards(requestId: string): Promise<{ id: string; preview: string | null; name: string }[]> {
  const stream = await SseReader.open(serve.base, `/api/events?since=${encodeURIComponent(await lastEventId())}`, auth());
  try {
    const query = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };
    const posted = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'window', requestId, query, offset: 0, limit: 50, seq: 1 }) });
    expect(posted.status).toBe(202);
    const reply = messageOf(await stream.next((e) => messageOf(e).content?.type === 'reply' && messageOf(e).content.requestId === requestId, 'the window reply'));
    expect(reply.content.ok).toBe(true);
    return reply.content.result.cards;
  } finally {
    stream.close();
  }
}

describe('the token', () => {
  test.each(['/', '/api/snapshot', '/api/events?since=x', '/api/previews/0%3ALora%2Falpha.safetensors'])('GET %s without a token is refused', async (path) => {
    const r = await raw(serve.base, { path });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.code).toBe('bad_token');
  });

  test('a POST without a token is refused and does nothing', async () => {
    const r = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'scan', requestId: 'x' }) });
    expect(r.status).toBe(403);
  });

  test.each([
    ['in the URL', (t: string) => ({ path: `/api/snapshot?token=${t}` })],
    ['in the header', (t: string) => ({ path: '/api/snapshot', headers: { 'X-Modeldeck-Token': t } })],
    ['in the cookie', (t: string) => ({ path: '/api/snapshot', headers: { Cookie: `modeldeck-token-${serve.port}=${t}` } })],
  ])('a wrong token %s is refused', async (_where, make) => {
    for (const wrong of [serve.token.slice(0, -1), serve.token + 'x', '', 'a'.repeat(5000)]) {
      const r = await raw(serve.base, make(wrong));
      expect(r.status).toBe(403);
    }
  });

  test('the page opened with the token sets an HttpOnly SameSite=Strict cookie, which then lets requests in', async () => {
    const page = await raw(serve.base, { path: `/?token=${serve.token}` });
    expect(page.status).toBe(200);
    const cookie = String(page.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const r = await raw(serve.base, { path: '/api/snapshot', headers: { Cookie: cookie.split(';')[0] } });
    expect(r.status).toBe(200);
  });

  test('every answer carries the security headers; the page has no inline script', async () => {
    const page = await raw(serve.base, { path: `/?token=${serve.token}` });
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toMatch(/<script src="panel\.js"><\/script>/);
    expect(page.body).not.toMatch(/<script>/);
    // Every URL in the page is relative (it must work under a proxy's path prefix).
    expect(page.body).not.toMatch(/(src|href)="\//);
    const refused = await raw(serve.base, { path: '/api/snapshot' });
    expect(refused.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('Host and Origin', () => {
  test.each(['evil.example', `evil.example:${0}`, 'attacker.test:80', '127.0.0.1.nip.io', ''])('a rebinding Host %j is refused even with the token', async (h) => {
    const r = await raw(serve.base, { path: '/api/snapshot', headers: { ...auth(), Host: h || 'bad host' } });
    expect(r.status).toBe(421);
    expect(r.body).not.toContain('"state"');
  });

  test('loopback names are answered', async () => {
    for (const h of [host(), `localhost:${serve.port}`]) {
      const r = await raw(serve.base, { path: '/api/snapshot', headers: { ...auth(), Host: h } });
      expect(r.status).toBe(200);
    }
  });

  test('a POST with a forged Origin is refused, with the right token too', async () => {
    for (const origin of ['http://evil.example', `http://127.0.0.1:${serve.port + 1}`, 'null', `https://127.0.0.1:${serve.port}.evil.example`]) {
      const r = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), Origin: origin, 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'dismiss', requestId: 'o' }) });
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body).error.code).toBe('bad_origin');
    }
    const crossSite = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/json' }, body: '{"type":"dismiss"}' });
    expect(crossSite.status).toBe(403);
    // The page's own origin is accepted.
    const own = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), Origin: `http://${host()}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'details', id: 'nope', requestId: 'own' }) });
    expect(own.status).toBe(202);
  });
});

describe('previews by id only', () => {
  test('a real id gives the image with an ETag, and 304 when it is unchanged', async () => {
    const card = (await windowCards('w-previews')).find((c) => c.preview !== null)!;
    expect(card).toBeDefined();
    const r = await raw(serve.base, { path: `/api/previews/${encodeURIComponent(card.id)}`, headers: auth() });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^image\//);
    expect(r.headers['cache-control']).toContain('no-cache');
    const etag = String(r.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await raw(serve.base, { path: `/api/previews/${encodeURIComponent(card.id)}`, headers: { ...auth(), 'If-None-Match': etag } });
    expect(again.status).toBe(304);
  });

  test.each([
    '../outside/secret.txt',
    '..%2F..%2Foutside%2Fsecret.txt',
    '0%3A..%2F..%2Foutside%2Fsecret.txt',
    '0:../../outside/secret.txt',
    '%2e%2e%2f%2e%2e%2foutside%2fsecret.txt',
    '%252e%252e%252foutside%252fsecret.txt',
    '%2Fetc%2Fpasswd',
    '0%3A%2Fetc%2Fpasswd',
    '0%3ALora%2F..%2F..%2Foutside%2Fsecret.txt',
    '%00',
    '%E0%A4%A',
  ])('traversal in a preview id %s is refused', async (id) => {
    const r = await raw(serve.base, { path: `/api/previews/${id}`, headers: auth() });
    expect([400, 404]).toContain(r.status);
    expect(r.body).not.toContain('not for the page');
    expect(r.body).not.toContain('root:');
  });
});

describe('bounded requests', () => {
  test('a 50 MB body is refused and the server keeps serving', async () => {
    const body = Buffer.alloc(50 * 1024 * 1024, 0x20);
    const r = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), 'Content-Type': 'application/json' }, body }).catch((err: Error) => ({ status: -1, body: err.message, headers: {} }));
    // The server reads the refused upload to its end (it is under the drain bound) so the 413 arrives.
    expect(r.status).toBe(413);
    await stillServing();
  });

  test('a 50 MB body without a declared length (chunked) is refused too', async () => {
    const socket = connect(serve.port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.write(`POST /api/request HTTP/1.1\r\nHost: ${host()}\r\nX-Modeldeck-Token: ${serve.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i < 50 && !socket.destroyed; i++) {
      // Every part of the chunk is written (no short-circuit), or the framing would break.
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      if (!socket.write('\r\n')) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
    }
    // A complete chunked body (its last chunk): the server reads it to the end, then refuses it.
    if (!socket.destroyed) socket.end('0\r\n\r\n');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    await stillServing();
  });

  test.each([
    ['headers', (h: string) => `GET /api/snapshot HTTP/1.1\r\nHost: ${h}\r\nX-Padding: ${'a'.repeat(60)}\r\n\r\n`],
    ['a body', (h: string) => `POST /api/request HTTP/1.1\r\nHost: ${h}\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n${'{"type":"dismiss"'.padEnd(60, ' ')}`],
  ])('a client sending %s one byte a second is timed out, and others are served meanwhile', async (_what, text) => {
    const bytes = Buffer.from(text(host()));
    const socket = connect(serve.port, '127.0.0.1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < bytes.length && !socket.destroyed) socket.write(bytes.subarray(sent, ++sent));
    }, 1000);
    try {
      // While it drips, the server answers others.
      await stillServing();
      await closed;
    } finally {
      clearInterval(drip);
    }
    // Closed by the server (limits of 3-4 s here) long before the request was complete.
    expect(sent).toBeLessThan(bytes.length);
    if (answer) expect(answer).toMatch(/^HTTP\/1\.1 408/);
    await stillServing();
  }, WAIT_MS);

  test('200 concurrent event streams: the first 100 are served, the rest refused with 503, and the server keeps serving', async () => {
    const readers = await Promise.all(Array.from({ length: 200 }, () => SseReader.open(serve.base, `/api/events?since=x`, auth())));
    try {
      const statuses = readers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200).length).toBe(100);
      expect(statuses.filter((s) => s === 503).length).toBe(100);
      await stillServing();
      // The served streams work: each is told to resync (its since was no id of this run).
      const served = readers.filter((r) => r.status === 200);
      await Promise.all(served.map((r) => r.next((e) => e.event === 'resync', 'resync')));
    } finally {
      for (const r of readers) r.close();
    }
    // The slots are freed once the streams close.
    const after = await waitForStream();
    after.close();
  }, WAIT_MS);
});

/** A stream opens again once the server has seen the others close (it learns of a close a moment after the client's). */
async function waitForStream(): Promise<SseReader> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const r = await SseReader.open(serve.base, '/api/events?since=x', auth());
    if (r.status === 200) return r;
    r.close();
    if (Date.now() > deadline) throw new Error('no event stream slot came free');
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('what reaches the page', () => {
  test('the Civitai token appears in no answer and no event', async () => {
    const stream = await SseReader.open(serve.base, `/api/events?since=${encodeURIComponent(await lastEventId())}`, auth());
    const ask = await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'scan', requestId: 'scan-2', refresh: true }) });
    expect(ask.status).toBe(202);
    await stream.next((e) => messageOf(e).content?.requestId === 'scan-2', 'the second scan reply');
    stream.close();
    const page = await raw(serve.base, { path: `/?token=${serve.token}` });
    const js = await raw(serve.base, { path: '/panel.js' });
    expect(js.status).toBe(200);
    for (const text of [...seen, page.body, ...stream.events.map((e) => e.data), serve.stdout(), serve.stderr()]) expect(text).not.toContain(CIVITAI_TOKEN);
    expect(JSON.parse(seen[seen.length - 1]).state.summary.tokenSet).toBe(true);
  });
});

describe('read-only and start-up rules', () => {
  test('--read-only serves browsing and refuses every change', async () => {
    const ro = await startServe([root], ['--read-only'], env);
    try {
      const h = { 'X-Modeldeck-Token': ro.token, 'Content-Type': 'application/json' };
      for (const type of ['scan', 'link', 'set-hash', 'import', 'move', 'remove', 'restore', 'dismiss', 'cancel', 'refresh', 'clean-duplicates', 'cancel-cleanup', 'empty-trash', 'download', 'download-update', 'download-cancel', 'download-retry', 'download-clear']) {
        const r = await raw(ro.base, { method: 'POST', path: '/api/request', headers: h, body: JSON.stringify({ type, requestId: type }) });
        expect(r.status).toBe(403);
        expect(JSON.parse(r.body).error.code).toBe('read_only');
      }
      const settings = await raw(ro.base, { method: 'POST', path: '/api/settings', headers: h, body: JSON.stringify({ settings: { offline: true } }) });
      expect(settings.status).toBe(403);
      const details = await raw(ro.base, { method: 'POST', path: '/api/request', headers: h, body: JSON.stringify({ type: 'details', id: '0:Lora/alpha.safetensors', requestId: 'd' }) });
      expect(details.status).toBe(202);
      // Browsing is asking for windows of cards: accepted.
      const query = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };
      const window = await raw(ro.base, { method: 'POST', path: '/api/request', headers: h, body: JSON.stringify({ type: 'window', requestId: 'w', query, offset: 0, limit: 10, seq: 1 }) });
      expect(window.status).toBe(202);
      // The snapshot once the server's session has opened the library (it may answer before that).
      let snap = JSON.parse((await raw(ro.base, { path: '/api/snapshot', headers: h })).body);
      for (const until = Date.now() + WAIT_MS; !snap.state.summary?.ready && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 50));
        snap = JSON.parse((await raw(ro.base, { path: '/api/snapshot', headers: h })).body);
      }
      expect(snap.readOnly).toBe(true);
      expect(snap.state.summary.ready).toBe(true);
      expect(snap.state.summary.models).toBe(3);
    } finally {
      await ro.stop();
    }
  });

  test('--host 0.0.0.0 without a token refuses to start and says why', async () => {
    const r = await runCli(['serve', root, '--host', '0.0.0.0', '--no-token', '--no-open', '--port', '0'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without an access token/);
  });

  test('Ctrl-C stops the server cleanly, and nothing was written outside the library', async () => {
    const before = readdirSync(work).sort();
    const extra = await startServe([root], [], env);
    const code = await extra.stop('SIGINT');
    expect(code).toBe(0);
    expect(extra.stdout()).toMatch(/modeldeck serve: stopped/);
    secret.expectUntouched();
    expect(readdirSync(work).sort()).toEqual(before);
    expect(before.sort()).toEqual(['cache', 'models', 'outside'].filter((d) => before.includes(d)));
  });
});
