// The panel's clean-up requests on the kernel side, over an in-memory comm: hostile and half-formed
// requests refused with the field named and nothing changed, a copy whose bytes changed since the scan
// left alone (the CLI's verification), one clean-up at a time, and a cancel that leaves unread copies alone.
import { readFileSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { show, type Panel } from '../src/kernel';
import { loraBytes, writeModel } from './helpers/library';
import { MemoryFrontEnd } from './helpers/memory-comm';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-widget-cleanup-');
let fe: MemoryFrontEnd;
let panel: Panel;
let root: string;
let serial = 0;

async function openPanel(files: Record<string, Buffer>): Promise<void> {
  root = join(tmp.path, `lib-${++serial}`);
  for (const [rel, bytes] of Object.entries(files)) writeModel(root, rel, bytes);
  fe = new MemoryFrontEnd();
  panel = show(root, { host: fe.host, civitai: false, colab: false });
  await panel.ready;
  await panel.scan({ offline: true });
}
afterEach(() => panel?.close());

const plan = async () => (await fe.request(panel.id, { type: 'clean-duplicates', keep: { kind: 'first' }, action: 'trash', dryRun: true })).result.plan;

test('malformed clean-up requests are refused with the field named; nothing changes', async () => {
  const bytes = loraBytes();
  await openPanel({ 'a/x.safetensors': bytes, 'b/x.safetensors': bytes });
  const [g] = await plan();
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ type: 'clean-duplicates', keep: { kind: 'first' }, action: 'delete', dryRun: true }, /"action" must be one of trash, hardlink, symlink/],
    [{ type: 'clean-duplicates', keep: { kind: 'everything' }, action: 'trash', dryRun: true }, /"keep" must be one of first, newest, prefix, choices/],
    [{ type: 'clean-duplicates', keep: { kind: 'choices', groups: [{ sha256: 'ab', keep: g.keep, remove: g.remove }] }, action: 'trash' }, /each group with its SHA256/],
    [{ type: 'clean-duplicates', keep: { kind: 'choices', groups: [{ sha256: g.sha256, keep: g.keep, remove: [g.keep] }] }, action: 'trash' }, /removes the card it keeps/],
    [{ type: 'clean-duplicates', keep: { kind: 'choices', groups: [{ sha256: g.sha256, keep: g.keep, remove: [] }] }, action: 'trash' }, /1 to 100 card ids to remove/],
    [{ type: 'clean-duplicates', keep: { kind: 'prefix', prefix: '../../elsewhere' }, action: 'trash', dryRun: true }, /prefix must be a folder inside the root/],
    [{ type: 'empty-trash', olderThanDays: -1, dryRun: true }, /"olderThanDays" must be a number of days from 0/],
    [{ type: 'empty-trash', items: [{ root: 0, trashId: 5 }] }, /"items" must be a list of \{root, trashId\}/],
  ];
  for (const [content, message] of bad) {
    const r = await fe.request(panel.id, content);
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(message) } });
  }
  expect(existsSync(join(root, 'b/x.safetensors'))).toBe(true);
  // Made-up ids and a group the library does not have: skipped, never guessed.
  const made = await fe.request(panel.id, { type: 'clean-duplicates', keep: { kind: 'choices', groups: [{ sha256: g.sha256, keep: g.keep, remove: ['0:../../etc/passwd'] }] }, action: 'trash' });
  expect(made).toMatchObject({ ok: true, result: { done: [], skipped: ['0:../../etc/passwd: no longer in the library; left alone'] } });
  expect(existsSync(join(root, 'b/x.safetensors'))).toBe(true);
});

test('a copy whose bytes changed since the scan (same size and mtime) is left alone, from the panel as from the CLI', async () => {
  const bytes = loraBytes();
  await openPanel({ 'a/x.safetensors': bytes, 'b/x.safetensors': bytes });
  const [g] = await plan();
  const copy = join(root, 'b/x.safetensors');
  const st = statSync(copy);
  const changed = Buffer.from(bytes);
  changed[changed.length - 1] ^= 0xff;
  writeFileSync(copy, changed);
  utimesSync(copy, st.atime, st.mtime);
  const r = await fe.request(panel.id, { type: 'clean-duplicates', keep: { kind: 'choices', groups: [g] }, action: 'hardlink' });
  expect(r).toMatchObject({ ok: true, result: { done: [], failed: [{ id: '0:b/x.safetensors', reason: expect.stringMatching(/bytes differ from the kept file/) }] } });
  expect(readFileSync(copy).equals(changed)).toBe(true);
});

test('one clean-up at a time; a cancel leaves every copy not yet verified alone', async () => {
  const bytes = loraBytes();
  await openPanel({ 'a/x.safetensors': bytes, 'b/x.safetensors': bytes, 'c/x.safetensors': bytes });
  const [g] = await plan();
  const request = { type: 'clean-duplicates', keep: { kind: 'choices', groups: [g] }, action: 'trash' };
  // Sent together: the second and the cancel reach the session while the first runs.
  const first = fe.request(panel.id, request);
  const second = fe.request(panel.id, request);
  const cancel = fe.request(panel.id, { type: 'cancel-cleanup' });
  expect(await second).toMatchObject({ ok: false, error: { code: 'busy' } });
  expect(await cancel).toMatchObject({ ok: true, result: { cancelled: true } });
  const r = await first;
  expect(r.result).toMatchObject({ cancelled: true, done: [] });
  expect(r.result.failed.map((f: { id: string; reason: string }) => [f.id, f.reason]).sort()).toEqual([
    ['0:b/x.safetensors', 'cancelled before it was verified; left alone'],
    ['0:c/x.safetensors', 'cancelled before it was verified; left alone'],
  ]);
  for (const rel of ['a/x.safetensors', 'b/x.safetensors', 'c/x.safetensors']) expect(existsSync(join(root, rel))).toBe(true);
  // With nothing running a cancel says so.
  expect(await fe.request(panel.id, { type: 'cancel-cleanup' })).toMatchObject({ ok: true, result: { cancelled: false } });
});
