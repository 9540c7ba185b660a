/**
 * The event stream of `modeldeck serve`: a tab that loses its stream and
 * reconnects with `Last-Event-ID` gets exactly the events it missed (checked
 * against a tab that never lost its stream), and a tab further behind than
 * the replay buffer is told to resync. The event log itself is checked
 * directly for its bounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../src/serve/event-log';
import { FakeCivitai } from './fake-civitai';
import { runCli } from './helpers/cli';
import { loraBytes, register, writeModel } from './helpers/library';
import { WAIT_MS } from './helpers/wait';
import { messageOf, raw, SseReader, startServe, type ServeProcess, type SseEvent } from './helpers/serve';

describe('EventLog', () => {
  test('replays what came after an id, and says resync when that is no longer kept or not this run', () => {
    const log = new EventLog({ maxEvents: 3 });
    const start = log.lastId;
    const a = log.append('a');
    log.append('b');
    expect(log.since(start)).toEqual({ kind: 'events', events: [a, expect.objectContaining({ data: 'b' })] });
    expect(log.since(a.id)).toEqual({ kind: 'events', events: [expect.objectContaining({ data: 'b' })] });
    expect(log.since(log.lastId)).toEqual({ kind: 'events', events: [] });
    log.append('c');
    log.append('d'); // 'a' falls out
    expect(log.since(start)).toEqual({ kind: 'resync' });
    expect(log.since(a.id).kind).toBe('events');
    expect(log.since(`${new EventLog().epoch}-1`)).toEqual({ kind: 'resync' });
    expect(log.since(`${log.epoch}-999`)).toEqual({ kind: 'resync' });
    expect(log.since('garbage')).toEqual({ kind: 'resync' });
  });

  test('is bounded by bytes as well', () => {
    const log = new EventLog({ maxEvents: 1000, maxBytes: 10 });
    const first = log.append('12345');
    log.append('12345');
    log.append('12345');
    expect(log.since(first.id).kind).toBe('events');
    expect(log.since(`${log.epoch}-0`)).toEqual({ kind: 'resync' });
  });
});

describe('reconnecting over real HTTP', () => {
  let work: string;
  let fake: FakeCivitai;
  let serve: ServeProcess;
  let root: string;
  const auth = () => ({ 'X-Modeldeck-Token': serve.token });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'mdk-serve-sse-'));
    root = join(work, 'models');
    fake = await new FakeCivitai().start();
    for (let i = 0; i < 12; i++) register(fake, writeModel(root, `Lora/m${i}.safetensors`, loraBytes({}, 200_000)), { name: `m${i}`, images: 1 });
    serve = await startServe([root], [], { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(work, 'cache'), MODELDECK_SERVE_LIMITS: JSON.stringify({ replayEvents: 40 }) });
  });

  afterAll(async () => {
    await serve?.stop();
    await fake?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const snapshotId = async () => JSON.parse((await raw(serve.base, { path: '/api/snapshot', headers: auth() })).body).lastEventId as string;
  const post = (body: object) => raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const isReply = (requestId: string) => (e: SseEvent) => e.event === 'message' && messageOf(e).content?.type === 'reply' && messageOf(e).content.requestId === requestId;

  test('a stream dropped during a scan and resumed with Last-Event-ID misses nothing', async () => {
    const since = await snapshotId();
    const steady = await SseReader.open(serve.base, `/api/events?since=${since}`, auth());
    const dropped = await SseReader.open(serve.base, `/api/events?since=${since}`, auth());
    expect((await post({ type: 'scan', requestId: 'scan-a' })).status).toBe(202);
    // The dropped tab sees the scan start, then loses its stream.
    const seen = await dropped.next((e) => e.event === 'message' && 'progress' in (messageOf(e).state ?? {}), 'the first progress update');
    dropped.close();
    const before = dropped.events.slice(0, dropped.events.indexOf(seen) + 1);
    // What EventSource does on its own: the same URL again, with the last id it saw.
    const resumed = await SseReader.open(serve.base, `/api/events?since=${since}`, { ...auth(), 'Last-Event-ID': seen.id! });
    await resumed.next(isReply('scan-a'), 'the scan reply after reconnecting');
    await steady.next(isReply('scan-a'), 'the scan reply on the steady stream');
    const upTo = (events: SseEvent[]) => events.slice(0, events.findIndex(isReply('scan-a')) + 1).map((e) => [e.id, e.data]);
    const joined = upTo([...before, ...resumed.events]);
    expect(joined).toEqual(upTo(steady.events));
    // The scan sent progress, cards and its reply: a real sequence, not an empty one.
    expect(joined.length).toBeGreaterThan(3);
    steady.close();
    resumed.close();
  });

  test('a tab further behind than the replay buffer is told to resync, and the snapshot then has everything', async () => {
    const old = await snapshotId();
    // More events than the 40 kept: settings changes, each echoed.
    const witness = await SseReader.open(serve.base, `/api/events?since=${old}`, auth());
    for (let i = 0; i < 30; i++) {
      const r = await raw(serve.base, { method: 'POST', path: '/api/settings', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ settings: { nsfwLevel: i % 2 ? 1 : 4 } }) });
      expect(r.status).toBe(202);
    }
    expect((await post({ type: 'duplicates', requestId: 'dup-marker' })).status).toBe(202);
    await witness.next(isReply('dup-marker'), 'the marker reply');
    witness.close();
    expect(witness.events.length).toBeGreaterThan(40);
    const late = await SseReader.open(serve.base, '/api/events', { ...auth(), 'Last-Event-ID': old });
    const first = await late.next(() => true, 'the first event');
    expect(first.event).toBe('resync');
    late.close();
    const snap = JSON.parse((await raw(serve.base, { path: '/api/snapshot', headers: auth() })).body);
    expect(snap.state.summary.models).toBe(12);
    expect(snap.state.settings.nsfwLevel).toBe(1);
  });
});

describe('Ctrl-C during a scan', () => {
  test('cancels the scan, keeps the files it finished, and exits 0', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mdk-serve-int-'));
    const fake = await new FakeCivitai().start();
    let serve: ServeProcess | null = null;
    try {
      const root = join(work, 'models');
      for (let i = 0; i < 4; i++) register(fake, writeModel(root, `Lora/k${i}.safetensors`, loraBytes()), { name: `k${i}` });
      // Civitai never answers: the scan hashes every file, then waits in its lookups until it is cancelled.
      fake.inject({ kind: 'slow', delayMs: 600_000 }, { times: Infinity });
      const env = { CIVITAI_BASE_URL: fake.url, CIVITAI_FALLBACK_BASE_URLS: '', MODELDECK_CACHE_DIR: join(work, 'cache') };
      serve = await startServe([root], [], env);
      const auth = { 'X-Modeldeck-Token': serve.token };
      const since = JSON.parse((await raw(serve.base, { path: '/api/snapshot', headers: auth })).body).lastEventId;
      const stream = await SseReader.open(serve.base, `/api/events?since=${since}`, auth);
      await raw(serve.base, { method: 'POST', path: '/api/request', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'scan', requestId: 's' }) });
      await stream.next((e) => {
        const p = messageOf(e).state?.progress;
        return !!p && p.running && p.filesHashed === 4;
      }, 'progress with every file hashed');
      // Wait for the request to reach the fake: the scan is now in its lookups.
      for (const deadline = Date.now() + WAIT_MS; fake.count() === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      expect(fake.count()).toBeGreaterThan(0);
      const running = serve;
      const code = await running.stop('SIGINT');
      serve = null;
      expect(code).toBe(0);
      expect(running.stdout()).toMatch(/cancelling the scan, its finished files are kept/);
      expect(running.stdout()).toMatch(/modeldeck serve: stopped/);
      const ls = await runCli(['ls', root, '--json'], env);
      expect(ls.code).toBe(0);
      const rows = ls.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(rows.length).toBe(4);
      for (const r of rows) expect(JSON.stringify(r)).toMatch(/[0-9A-F]{64}/i);
    } finally {
      await serve?.stop();
      await fake.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
