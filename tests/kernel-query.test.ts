/**
 * Queries and windows in a real `modeldeck` kernel process: the page asks for
 * windows of a query over real Jupyter comms and gets only those cards, the
 * counts and the facets; answers carry the query they answer; during a scan
 * only changes inside the page's window are sent.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KernelClient, type KernelMessage } from './helpers/kernel-client';
import { loraBytes, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const repo = join(__dirname, '..');
const LAUNCH = join(repo, 'lib', 'kernel', 'launch.js');
const ALL = { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false };

const tmp = useTmpDir();
let kernel: KernelClient;
let root: string;
let commId: string;
let serial = 0;
/** Relative paths of the library's files; names sort as `m-00` ... `m-29`. */
const files: string[] = [];
const base = (f: string) => f.slice(f.lastIndexOf('/') + 1).replace(/\.safetensors$/, '');
/** Ids in the order of their names (the file names without extension: all of the same width). */
const byName = (fs: string[]) => [...fs].sort((a, b) => (base(a) < base(b) ? -1 : 1)).map((f) => `0:${f}`);
function countBy<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

function send(data: object): Promise<string> {
  return kernel.sendComm('comm_msg', { comm_id: commId, data });
}

function custom(m: KernelMessage): any {
  return m.header.msg_type === 'comm_msg' && m.content.comm_id === commId && m.content.data?.method === 'custom' ? m.content.data.content : undefined;
}

/** Sends a request and resolves with the reply carrying its requestId (not the first message that looks like one). */
async function request(content: Record<string, unknown>): Promise<any> {
  const requestId = `r-${++serial}`;
  const since = kernel.iopub.length;
  await send({ method: 'custom', content: { ...content, requestId } });
  const reply = await kernel.waitFor((m) => custom(m)?.type === 'reply' && custom(m).requestId === requestId, { since });
  return custom(reply);
}

function askWindow(query: Partial<typeof ALL>, offset: number, limit: number, seq: number) {
  return request({ type: 'window', query: { ...ALL, ...query }, offset, limit, seq });
}

/** The `window` changes the kernel sent since `since`. */
function windowChanges(since: number): any[] {
  return kernel.iopub.slice(since).map(custom).filter((c) => c?.type === 'window');
}

beforeAll(async () => {
  const project = join(tmp.path, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(project, 'node_modules', 'modeldeck'));
  root = join(tmp.path, 'models');
  for (let i = 0; i < 30; i++) {
    // Checkpoints in their folder, LoRAs in theirs; "beta" in every third name.
    const folder = i % 5 === 0 ? 'Stable-diffusion' : 'Lora';
    const rel = `${folder}/m-${String(i).padStart(2, '0')}${i % 3 === 0 ? '-beta' : ''}.safetensors`;
    writeModel(root, rel, loraBytes({}, i));
    files.push(rel);
  }
  kernel = await KernelClient.start({
    argv: [process.execPath, LAUNCH, '{connection_file}'],
    cwd: project,
    env: { ...process.env, CIVITAI_TOKEN: '', MODELDECK_CACHE_DIR: join(tmp.path, 'cache') },
  });
  const { reply, messages } = await kernel.execute(`import { show } from "modeldeck";\nconst panel = show(${JSON.stringify(root)}, { civitai: false });`);
  expect(reply.content.status).toBe('ok');
  commId = messages.find((m) => m.header.msg_type === 'comm_open')!.content.comm_id;
  const scan = await request({ type: 'scan', offline: true });
  expect(scan).toMatchObject({ ok: true, result: { summary: { files: 30 } } });
});

afterAll(async () => {
  await kernel?.shutdown();
});

test('a window holds only its slice of the query, in order, with the count of the query and of the library', async () => {
  const all = await askWindow({}, 0, 500, 1);
  expect(all.ok).toBe(true);
  expect(all.result).toMatchObject({ offset: 0, total: 30, library: 30, seq: 1, query: ALL });
  const ids: string[] = all.result.cards.map((c: { id: string }) => c.id);
  expect(ids).toEqual(byName(files));
  expect(all.result.facets.kinds).toEqual(countBy(all.result.cards, (c: { kind: string }) => c.kind));
  expect(all.result.facets.bases).toEqual(countBy(all.result.cards, (c: { baseModel: string }) => c.baseModel));

  const slice = await askWindow({}, 10, 5, 2);
  expect(slice.result.cards.map((c: { id: string }) => c.id)).toEqual(ids.slice(10, 15));
  expect(slice.result.total).toBe(30);

  const desc = await askWindow({ desc: true }, 0, 3, 3);
  expect(desc.result.cards.map((c: { id: string }) => c.id)).toEqual([...ids].reverse().slice(0, 3));

  const past = await askWindow({}, 40, 10, 4);
  expect(past.result).toMatchObject({ cards: [], total: 30 });
});

test('search, filters and facets: each menu counts what the search and the other filters leave', async () => {
  const beta = await askWindow({ search: 'BETA' }, 0, 500, 5);
  const betaFiles = files.filter((f) => f.includes('-beta'));
  expect(beta.result.total).toBe(betaFiles.length);
  expect(beta.result.cards.map((c: { file: string }) => c.file).sort()).toEqual(betaFiles.map((f) => f.slice(f.indexOf('/') + 1)).sort());
  // The kind menu counts what the search leaves, by the cards' own kinds.
  const kinds = beta.result.facets.kinds;
  expect(kinds).toEqual(countBy(beta.result.cards, (c: { kind: string }) => c.kind));

  // Choosing a kind narrows the cards; the kind menu still counts every kind the search leaves.
  const kind = beta.result.cards[0].kind;
  const ofKind = await askWindow({ search: 'beta', kind }, 0, 500, 6);
  expect(ofKind.result.total).toBe(kinds[kind]);
  expect(ofKind.result.cards.every((c: { kind: string; file: string }) => c.kind === kind && c.file.includes('beta'))).toBe(true);
  expect(ofKind.result.facets.kinds).toEqual(kinds);
  // A status nobody has: nothing matches, and the status menu still counts the others.
  const found = await askWindow({ search: 'beta', status: 'identified' }, 0, 500, 9);
  expect(found.result.total).toBe(0);
  expect(found.result.facets.statuses.pending ?? found.result.facets.statuses.not_found ?? 0).toBeGreaterThan(0);

  const none = await askWindow({ search: 'zzz-no-such-model' }, 0, 60, 7);
  expect(none.result).toMatchObject({ cards: [], total: 0, library: 30, facets: { kinds: {}, bases: {} } });
});

test('grid cards are slim: hashes, sources, warnings and Civitai details come only with details', async () => {
  const w = await askWindow({}, 0, 1, 8);
  const card = w.result.cards[0];
  for (const k of ['hashes', 'hashSources', 'warnings', 'conflicts', 'manualLink', 'verified']) expect(card).not.toHaveProperty(k);
  const details = await request({ type: 'details', id: card.id });
  expect(details.ok).toBe(true);
  expect(details.result.card.hashes.SHA256).toMatch(/^[0-9A-F]{64}$/);
});

test('each answer carries the query and seq it answers, also when answers are asked for back to back', async () => {
  const since = kernel.iopub.length;
  // Not awaited one by one: both requests are in flight together.
  const [a, b] = await Promise.all([askWindow({ search: 'm-1' }, 0, 60, 20), askWindow({ search: 'beta' }, 0, 60, 21)]);
  expect(a.result).toMatchObject({ seq: 20, query: { search: 'm-1' } });
  expect(b.result).toMatchObject({ seq: 21, query: { search: 'beta' } });
  expect(a.result.cards.every((c: { file: string }) => c.file.includes('m-1'))).toBe(true);
  expect(b.result.cards.every((c: { file: string }) => c.file.includes('beta'))).toBe(true);
  // The replies are the only window traffic: no change was pushed for a query the page has left.
  expect(windowChanges(since)).toEqual([]);
});

test('during a scan only changes inside the page window are sent; the view keeps its position', async () => {
  // The view: the first 5 cards by name.
  const view = await askWindow({}, 0, 5, 30);
  const inView: string[] = view.result.cards.map((c: { id: string }) => c.id);
  const outside = files.find((f) => !inView.includes(`0:${f}`) && f.includes('m-2'))!;
  // A file outside the window changes: the scan sends nothing for it (same counts, same window).
  writeModel(root, outside, loraBytes({}, 5000));
  let since = kernel.iopub.length;
  expect((await request({ type: 'scan', offline: true })).result.summary.changed).toBe(1);
  expect(windowChanges(since).flatMap((c) => c.upsert)).toEqual([]);
  const details = await request({ type: 'details', id: `0:${outside}` });
  expect(details.result.card.size).toBeGreaterThan(5000);

  // A file inside the window changes: exactly that card comes, with the window's ids at the same offset.
  const inside = inView[2].slice(2);
  writeModel(root, inside, loraBytes({}, 7000));
  since = kernel.iopub.length;
  expect((await request({ type: 'scan', offline: true })).result.summary.changed).toBe(1);
  const changes = windowChanges(since);
  expect(changes.length).toBeGreaterThan(0);
  expect(changes.flatMap((c) => c.upsert).map((c: { id: string }) => c.id)).toEqual([`0:${inside}`]);
  expect(changes.at(-1)).toMatchObject({ seq: 30, offset: 0, ids: inView, total: 30, library: 30 });

  // A new file: the counts change and the window (which it falls into by name) shows it.
  writeModel(root, 'Lora/a-first.safetensors', loraBytes({}, 3));
  since = kernel.iopub.length;
  await request({ type: 'scan', offline: true });
  const added = windowChanges(since).at(-1);
  expect(added).toMatchObject({ total: 31, library: 31, offset: 0 });
  expect(added.ids[0]).toBe('0:Lora/a-first.safetensors');
  expect(added.upsert.map((c: { id: string }) => c.id)).toEqual(['0:Lora/a-first.safetensors']);
});

test('a bad window request gets an error reply naming the field', async () => {
  const bad = await request({ type: 'window', query: { ...ALL, sort: 'random' }, offset: 0, limit: 10, seq: 1 });
  expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  expect(bad.error.message).toMatch(/sort/);
  const big = await request({ type: 'window', query: ALL, offset: 0, limit: 100_000, seq: 1 });
  expect(big.error.message).toMatch(/limit/);
});
