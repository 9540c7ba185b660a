// The panel's maintenance requests on the kernel side: updates and ignores, duplicates, move, remove, trash, restore.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { show, type Panel } from '../src/kernel';
import { FakeCivitai } from './fake-civitai';
import { loraBytes, register, writeModel, type MadeFile } from './helpers/library';
import { MemoryFrontEnd } from './helpers/memory-comm';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-widget-maint-');
let fake: FakeCivitai;
let fe: MemoryFrontEnd;
let panel: Panel;
let root: string;
let files: MadeFile[];
let v2: number;

beforeAll(async () => {
  fake = await new FakeCivitai({ fixturesDir: null }).start();
  root = join(tmp.path, 'lib');
  mkdirSync(root);
  const bytes = loraBytes();
  files = [writeModel(root, 'Lora/a.safetensors', bytes), writeModel(root, 'Lora/copy of a.safetensors', bytes), writeModel(root, 'Lora/b.safetensors', loraBytes())];
  const { modelId } = register(fake, files[2], { name: 'Bee', baseModel: 'SD 1.5', images: 0 });
  v2 = fake.addVersion({ modelId, name: 'v2', baseModel: 'SD 1.5', images: 0, files: [{ name: 'b2.safetensors', hashes: { SHA256: 'AB'.repeat(32) } }] }).versionId;
  fe = new MemoryFrontEnd();
  panel = show(root, { host: fe.host, civitai: { baseUrl: fake.url, fallbackBaseUrls: [], cacheDir: join(tmp.path, 'cache'), maxAttempts: 1 }, colab: false });
  await panel.ready;
  await panel.scan();
});
afterAll(async () => {
  panel.close();
  await fake.stop();
});

test('updates name the cards they belong to; ignoring the version hides it', async () => {
  const r = await fe.request(panel.id, { type: 'updates' });
  expect(r).toMatchObject({ ok: true, result: { checked: 1, updates: [{ modelName: 'Bee', latest: { versionId: v2, name: 'v2' }, ids: ['0:Lora/b.safetensors'] }] } });
  const bad = await fe.request(panel.id, { type: 'ignore-update', id: '0:Lora/b.safetensors', scope: 'version' });
  expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  const ig = await fe.request(panel.id, { type: 'ignore-update', id: '0:Lora/b.safetensors', scope: 'version', versionId: v2 });
  expect(ig).toMatchObject({ ok: true, result: { changed: 1 } });
  expect((await fe.request(panel.id, { type: 'updates' })).result).toMatchObject({ updates: [], ignored: 1 });
});

test('duplicates come as groups of card ids', async () => {
  const r = await fe.request(panel.id, { type: 'duplicates' });
  expect(r).toMatchObject({ ok: true, result: { groups: [{ sha256: files[0].SHA256, ids: ['0:Lora/a.safetensors', '0:Lora/copy of a.safetensors'] }] } });
});

test('move within the root, refused outside it; remove to the trash and restore', async () => {
  const out = await fe.request(panel.id, { type: 'move', id: '0:Lora/b.safetensors', dest: '../elsewhere/' });
  expect(out).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  // A new name in a folder that does not exist yet: the folder is made (inside the root).
  const renamed = await fe.request(panel.id, { type: 'move', id: '0:Lora/b.safetensors', dest: 'Other/bee.safetensors' });
  expect(renamed).toMatchObject({ ok: true, result: { id: '0:Other/bee.safetensors', civitai: { modelName: 'Bee' } } });
  const back = await fe.request(panel.id, { type: 'move', id: '0:Other/bee.safetensors', dest: 'Lora/' });
  expect(back).toMatchObject({ ok: true, result: { id: '0:Lora/bee.safetensors' } });
  expect(existsSync(join(root, 'Lora/bee.safetensors'))).toBe(true);

  const rm = await fe.request(panel.id, { type: 'remove', id: '0:Lora/copy of a.safetensors' });
  expect(rm.ok).toBe(true);
  expect(readdirSync(join(root, 'Lora')).sort()).toEqual(['a.safetensors', 'bee.civitai.info', 'bee.json', 'bee.safetensors']);
  const trash = await fe.request(panel.id, { type: 'trash' });
  expect(trash.result.items).toEqual([{ trashId: rm.result.trashId, root: 0, path: 'Lora/copy of a.safetensors', trashedAt: expect.any(Number) }]);
  const planted = await fe.request(panel.id, { type: 'restore', trashId: '../../x' });
  expect(planted).toMatchObject({ ok: false, error: { code: 'not_in_trash' } });
  const restored = await fe.request(panel.id, { type: 'restore', trashId: rm.result.trashId });
  expect(restored).toMatchObject({ ok: true, result: { id: '0:Lora/copy of a.safetensors' } });
  expect(readdirSync(join(root, 'Lora')).sort()).toEqual(['a.safetensors', 'bee.civitai.info', 'bee.json', 'bee.safetensors', 'copy of a.safetensors']);
});
