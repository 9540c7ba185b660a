// Every fault, against the fake Civitai over real HTTP: retries and their bounds,
// Retry-After, the shared limiter, timeouts, broken bodies, and the typed errors.
import {
  AdaptiveLimiter,
  BadResponse,
  CivitaiClient,
  NotFound,
  Offline,
  RateLimited,
  Unauthorized,
  Unavailable,
  type CivitaiOptions,
} from '../src/core/civitai';
import { FakeCivitai } from './fake-civitai';
import { closedPort, fastOptions, FLUX_LORA, gaps, rejection, TOKEN, until } from './helpers/civitai';

let fake: FakeCivitai;
const clients: CivitaiClient[] = [];
/** Every error any test saw; none may contain the token. */
const seen: Error[] = [];

beforeAll(async () => {
  fake = await new FakeCivitai().start();
});
afterEach(async () => {
  fake.reset();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await fake.stop();
  expect(seen.length).toBeGreaterThan(10);
  for (const e of seen) expect(`${e.message} ${String((e as { path?: string }).path)}`).not.toContain(TOKEN);
});

function client(extra: CivitaiOptions = {}, deps: { limiter?: AdaptiveLimiter } = {}): CivitaiClient {
  const c = new CivitaiClient(fastOptions(fake, extra), deps);
  clients.push(c);
  return c;
}

async function fails(p: Promise<unknown>): Promise<Error> {
  const err = await rejection(p);
  seen.push(err);
  return err;
}

const lookup = (c: CivitaiClient) => c.getVersionByHash(FLUX_LORA.SHA256.toLowerCase());

test('a plain lookup: hash upper-cased in the path, token only as a Bearer header', async () => {
  const v = await lookup(client());
  expect(v.id).toBe(FLUX_LORA.versionId);
  expect(fake.requests).toHaveLength(1);
  const [r] = fake.requests;
  expect(r.url).toBe(`/api/v1/model-versions/by-hash/${FLUX_LORA.SHA256}`);
  expect(r.authorization).toBe(`Bearer ${TOKEN}`);
  expect(r.url).not.toContain(TOKEN);
});

describe('429', () => {
  test('without Retry-After: retried with backoff, then succeeds', async () => {
    fake.inject({ kind: 'status', status: 429 }, { route: 'by-hash', times: 2 });
    const v = await lookup(client({ baseDelayMs: 50, maxDelayMs: 1000 }));
    expect(v.id).toBe(FLUX_LORA.versionId);
    expect(fake.count('by-hash')).toBe(3);
    const [g1, g2] = gaps(fake, 'by-hash');
    // backoff 50 ms then 100 ms, each at least 80 % of that.
    expect(g1).toBeGreaterThanOrEqual(40);
    expect(g2).toBeGreaterThanOrEqual(80);
  });

  test('exhausted: RateLimited after exactly maxAttempts requests', async () => {
    fake.inject({ kind: 'status', status: 429 }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client({ maxAttempts: 4 })));
    expect(err).toBeInstanceOf(RateLimited);
    expect(fake.count('by-hash')).toBe(4);
    expect(err.message).toContain('/api/v1/model-versions/by-hash/');
  });

  test('Retry-After: 1 (seconds) → the retry comes no earlier than 1 s later', async () => {
    fake.inject({ kind: 'status', status: 429, retryAfter: 1 }, { route: 'by-hash' });
    await lookup(client());
    // A lower bound only: timers never fire early, but a loaded machine can make any gap longer.
    const [g] = gaps(fake, 'by-hash');
    expect(g).toBeGreaterThanOrEqual(990);
  });

  test('Retry-After as an HTTP date is honoured', async () => {
    // HTTP dates have whole seconds: 2 s ahead, truncated, is between 1 and 2 s away.
    const date = new Date(Date.now() + 2000).toUTCString();
    fake.inject({ kind: 'status', status: 429, retryAfter: date }, { route: 'by-hash' });
    await lookup(client());
    // The retry comes no earlier than the date says (a gap from the first request would shrink when that
    // request itself arrived late on a loaded machine). Compared on the wall clock, the clock the date is on.
    const retries = fake.requests.filter((r) => r.route === 'by-hash');
    expect(retries).toHaveLength(2);
    expect(retries[1].wallAt).toBeGreaterThanOrEqual(Date.parse(date) - 10); // timers round to whole ms
  });

  test('a Retry-After longer than we wait fails at once with RateLimited and the wait', async () => {
    fake.inject({ kind: 'status', status: 429, retryAfter: 3600 }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client({ maxRetryAfterMs: 60_000 })));
    expect(err).toBeInstanceOf(RateLimited);
    expect((err as RateLimited).retryAfterMs).toBe(3_600_000);
    expect(fake.count('by-hash')).toBe(1);
  });

  test('one 429 with Retry-After holds the whole client: another request waits too', async () => {
    const limiter = new AdaptiveLimiter();
    // The event the second request must come after: the client has taken the 429 in.
    const rateLimited = new Promise<void>((resolve) => {
      const onRateLimited = limiter.onRateLimited.bind(limiter);
      limiter.onRateLimited = (ms: number) => {
        onRateLimited(ms);
        resolve();
      };
    });
    const c = client({}, { limiter });
    fake.inject({ kind: 'status', status: 429, retryAfter: 1 }, { route: 'by-hash' });
    const a = lookup(c);
    await rateLimited;
    await c.getModel(FLUX_LORA.modelId);
    await a;
    const first429 = fake.requests.find((r) => r.route === 'by-hash')!.at;
    const model = fake.requests.find((r) => r.route === 'model')!.at;
    expect(model - first429).toBeGreaterThanOrEqual(950);
  });

  test('repeated 429s widen the spacing between all requests; successes narrow it again', async () => {
    const limiter = new AdaptiveLimiter({ minIntervalMs: 200 });
    const c = client({ baseDelayMs: 10 }, { limiter });
    fake.inject({ kind: 'status', status: 429 }, { route: 'model', times: 2 });
    await c.getModel(FLUX_LORA.modelId);
    expect(limiter.intervalMs).toBeGreaterThanOrEqual(200); // 200 → 400 → (success) 200
    fake.reset();
    // The limiter spaces the moments requests are let go; when they then reach the server depends on the
    // machine's load (a new connection, a busy event loop), so the spacing is measured where the limiter
    // makes it. A loaded machine can only widen these gaps, never narrow them.
    const released: number[] = [];
    const acquire = limiter.acquire.bind(limiter);
    limiter.acquire = async (signal?: AbortSignal) => {
      await acquire(signal);
      released.push(performance.now());
    };
    const before = performance.now();
    await Promise.all([c.getModel(FLUX_LORA.modelId), c.getModel(FLUX_LORA.modelId), c.getModel(FLUX_LORA.modelId)]);
    expect(fake.count('model')).toBe(3);
    expect(released).toHaveLength(3);
    // The i-th request is let go no sooner than i x 200 ms after the three were asked for (less 2 ms of
    // clock rounding); a late timer only makes it later.
    released.forEach((at, i) => expect(at - before).toBeGreaterThanOrEqual(i * 200 - 2));
    for (let i = 0; i < 3; i++) await c.getModel(FLUX_LORA.modelId);
    expect(limiter.intervalMs).toBe(0);
  });
});

describe('5xx', () => {
  test('500 once, then success', async () => {
    fake.inject({ kind: 'status', status: 500 }, { route: 'by-hash' });
    expect((await lookup(client())).id).toBe(FLUX_LORA.versionId);
    expect(fake.count('by-hash')).toBe(2);
  });

  test('503 exhausted: Unavailable with the status, after maxAttempts', async () => {
    fake.inject({ kind: 'status', status: 503 }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client()));
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Unavailable).status).toBe(503);
    expect(err.message).toContain('503');
    expect(fake.count('by-hash')).toBe(3);
  });

  test('503 with Retry-After: 1 waits the second', async () => {
    fake.inject({ kind: 'status', status: 503, retryAfter: 1 }, { route: 'by-hash' });
    await lookup(client());
    expect(gaps(fake, 'by-hash')[0]).toBeGreaterThanOrEqual(990);
  });
});

describe('timeouts and connections', () => {
  // "Slow" is a server that would answer only after 10 minutes (the fake drops
  // its timers on stop): the client getting its error back at all shows it gave
  // up on its own, with no clock in the test.
  const NEVER = 600_000;

  test('a response slower than the timeout: retried, then Unavailable', async () => {
    fake.inject({ kind: 'slow', delayMs: NEVER }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client({ timeoutMs: 200 })));
    expect(err).toBeInstanceOf(Unavailable);
    expect(err.message).toMatch(/no answer within/);
    expect(fake.count('by-hash')).toBe(3);
  });

  test('one slow response, then a normal one: success', async () => {
    // The timeout leaves the normal answer seconds, however loaded the machine.
    fake.inject({ kind: 'slow', delayMs: NEVER }, { route: 'by-hash' });
    expect((await lookup(client({ timeoutMs: 2000 }))).id).toBe(FLUX_LORA.versionId);
    expect(fake.count('by-hash')).toBe(2);
  });

  test('a dropped connection is retried; always dropped → Unavailable', async () => {
    fake.inject({ kind: 'drop' }, { route: 'by-hash' });
    expect((await lookup(client())).id).toBe(FLUX_LORA.versionId);
    expect(fake.count('by-hash')).toBe(2);
    fake.reset();
    fake.inject({ kind: 'drop' }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client()));
    expect(err).toBeInstanceOf(Unavailable);
    expect(err.message).toMatch(/connection dropped/);
    expect(fake.count('by-hash')).toBe(3);
  });

  test('connection refused (a closed port) → Offline', async () => {
    const port = await closedPort();
    const c = client({ baseUrl: `http://127.0.0.1:${port}` });
    const err = await fails(c.getVersionByHash(FLUX_LORA.SHA256));
    expect(err).toBeInstanceOf(Offline);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('bodies the client cannot use are BadResponse, never a crash', () => {
  test('truncated JSON: retried; always truncated → BadResponse', async () => {
    fake.inject({ kind: 'truncated' }, { route: 'by-hash' });
    expect((await lookup(client())).id).toBe(FLUX_LORA.versionId);
    fake.reset();
    fake.inject({ kind: 'truncated' }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client()));
    expect(err).toBeInstanceOf(BadResponse);
    expect(err.message).toMatch(/invalid JSON/);
    expect(fake.count('by-hash')).toBe(3);
  });

  test('invalid JSON → BadResponse', async () => {
    fake.inject({ kind: 'invalid-json' }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client()));
    expect(err).toBeInstanceOf(BadResponse);
  });

  test('an HTML page with 200 (Cloudflare) → BadResponse naming HTML', async () => {
    fake.inject({ kind: 'html', status: 200 }, { route: 'by-hash', times: Infinity });
    const err = await fails(lookup(client()));
    expect(err).toBeInstanceOf(BadResponse);
    expect(err.message).toMatch(/HTML/);
  });

  test('an HTML 403 challenge is retried like a transient failure, then BadResponse', async () => {
    fake.inject({ kind: 'html', status: 403 }, { route: 'by-hash', times: 2 });
    expect((await lookup(client())).id).toBe(FLUX_LORA.versionId);
    fake.reset();
    fake.inject({ kind: 'html', status: 403 }, { route: 'by-hash', times: Infinity });
    expect(await fails(lookup(client()))).toBeInstanceOf(BadResponse);
  });

  test('an HTML 502 from a proxy is a server failure → Unavailable', async () => {
    fake.inject({ kind: 'html', status: 502 }, { route: 'by-hash', times: Infinity });
    expect(await fails(lookup(client()))).toBeInstanceOf(Unavailable);
  });

  test('JSON of the wrong shape → BadResponse at once (not retried)', async () => {
    fake.inject({ kind: 'body', body: { items: [] } }, { route: 'by-hash' });
    const err = await fails(lookup(client()));
    expect(err).toBeInstanceOf(BadResponse);
    expect(err.message).toMatch(/wrong shape/);
    expect(fake.count('by-hash')).toBe(1);
  });

  test('a bulk reply that is not an array → BadResponse', async () => {
    fake.inject({ kind: 'body', body: { error: null } }, { route: 'by-hash-bulk' });
    expect(await fails(client().getVersionsByHashes([FLUX_LORA.SHA256]))).toBeInstanceOf(BadResponse);
  });

  test("an unknown path answers Civitai's HTML 404 → BadResponse, not NotFound", async () => {
    const err = await fails(client().http.json({ path: '/api/v1/models-versions/by-hash/ABC' }));
    expect(err).toBeInstanceOf(BadResponse);
    expect(err).not.toBeInstanceOf(NotFound);
    expect(err.message).toMatch(/CIVITAI_BASE_URL/);
  });
});

describe('4xx', () => {
  test('JSON 404 → NotFound, not retried', async () => {
    const err = await fails(client().getVersionByHash('0123456789AB'));
    expect(err).toBeInstanceOf(NotFound);
    expect(fake.count('by-hash')).toBe(1);
  });

  test('401 → Unauthorized, not retried; the token in the server text is masked', async () => {
    fake.inject({ kind: 'status', status: 401, body: { error: `Unauthorized: bad key ${TOKEN}` } }, { route: 'model' });
    const err = await fails(client().getModel(FLUX_LORA.modelId));
    expect(err).toBeInstanceOf(Unauthorized);
    expect(err.message).toContain('CIVITAI_TOKEN');
    expect(err.message).toContain('<token>');
    expect(err.message).not.toContain(TOKEN);
    expect(fake.count('model')).toBe(1);
  });

  test('a JSON 403 → Unauthorized', async () => {
    fake.inject({ kind: 'status', status: 403, body: { error: 'Forbidden' } }, { route: 'model' });
    expect(await fails(client().getModel(FLUX_LORA.modelId))).toBeInstanceOf(Unauthorized);
  });

  test('an AbortSignal cancels a request that is waiting to retry', async () => {
    fake.inject({ kind: 'status', status: 503 }, { route: 'by-hash', times: Infinity });
    const ac = new AbortController();
    const p = client({ baseDelayMs: 5000, maxDelayMs: 5000 }).getVersionByHash(FLUX_LORA.SHA256, { signal: ac.signal });
    await until(() => fake.count('by-hash') === 1);
    ac.abort();
    const err = await fails(p);
    expect((err as { code?: string }).code).toBe('cancelled');
    expect(fake.count('by-hash')).toBe(1);
  });
});
