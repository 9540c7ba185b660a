/**
 * Duplicate clean-up and emptying the trash from the panel, in a real `modeldeck` kernel process:
 * the plan first (nothing changes), a refusal of anything carried out without the user's choices,
 * then the confirmed choices with progress messages carrying the request's id, and the files on disk.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KernelClient } from './helpers/kernel-client';
import { loraBytes, writeModel } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const repo = join(__dirname, '..');
const LAUNCH = join(repo, 'lib', 'kernel', 'launch.js');

const tmp = useTmpDir('mdk-kernel-cleanup-');
let kernel: KernelClient;
let root: string;
let commId: string;
let serial = 0;

/** Sends a panel request and waits for the reply carrying its id; returns it with every message of the comm since. */
async function request(content: Record<string, unknown>): Promise<{ reply: any; since: number }> {
  const requestId = `r-${++serial}`;
  const since = kernel.iopub.length;
  await kernel.sendComm('comm_msg', { comm_id: commId, data: { method: 'custom', content: { ...content, requestId } } });
  const m = await kernel.waitFor(
    (x) => x.header.msg_type === 'comm_msg' && x.content.comm_id === commId && x.content.data?.content?.type === 'reply' && x.content.data.content.requestId === requestId,
    { since },
  );
  return { reply: m.content.data.content, since };
}

function customs(type: string, since: number, requestId?: string): any[] {
  return kernel.iopub
    .slice(since)
    .filter((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === commId && m.content.data?.content?.type === type)
    .map((m) => m.content.data.content)
    .filter((c) => requestId === undefined || c.requestId === requestId);
}

const bytes = loraBytes({ ss_output_name: 'twin' }, 3 * 1024 * 1024);

beforeAll(async () => {
  const project = join(tmp.path, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(project, 'node_modules', 'modeldeck'));
  root = join(tmp.path, 'models');
  writeModel(root, 'Lora/a.safetensors', bytes);
  writeModel(root, 'Lora/copy.safetensors', bytes);
  writeFileSync(join(root, 'Lora/copy.civitai.info'), '{}');
  writeFileSync(join(root, 'Lora/copy.preview.png'), 'png');
  writeModel(root, 'Lora/other.safetensors', loraBytes({ ss_output_name: 'other' }));
  kernel = await KernelClient.start({ argv: [process.execPath, LAUNCH, '{connection_file}'], cwd: project, env: { ...process.env, MODELDECK_CACHE_DIR: join(tmp.path, 'cache') } });
  const { reply, messages } = await kernel.execute(`import { show } from "modeldeck";\nconst panel = show(${JSON.stringify(root)}, { civitai: false });`);
  expect(reply.content.status).toBe('ok');
  commId = messages.find((m) => m.header.msg_type === 'comm_open')!.content.comm_id;
  expect((await request({ type: 'scan', offline: true })).reply.ok).toBe(true);
});

afterAll(async () => {
  await kernel?.shutdown();
});

test('a rule makes a plan and changes nothing; carrying out a rule without choices is refused', async () => {
  const { reply } = await request({ type: 'clean-duplicates', keep: { kind: 'first' }, action: 'trash', dryRun: true });
  expect(reply).toMatchObject({ ok: true, result: { dryRun: true, plan: [{ keep: '0:Lora/a.safetensors', remove: ['0:Lora/copy.safetensors'], size: bytes.length }], bytes: bytes.length, done: [] } });
  const prefix = await request({ type: 'clean-duplicates', keep: { kind: 'prefix', prefix: 'Lora/copy' }, action: 'hardlink', dryRun: true });
  // A prefix is a folder: "Lora/copy" is no folder of any copy, so the group is skipped, not guessed.
  expect(prefix.reply.result.plan).toEqual([]);
  expect(prefix.reply.result.skipped).toEqual([expect.stringMatching(/no copy under .*Lora\/copy; nothing changed/)]);
  const refused = await request({ type: 'clean-duplicates', keep: { kind: 'first' }, action: 'trash' });
  expect(refused.reply).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringMatching(/"keep" must be the choices per group/) } });
  expect(existsSync(join(root, 'Lora/copy.safetensors'))).toBe(true);
});

test('the confirmed choices: both files verified with progress under the request id, the copy trashed with its sidecars', async () => {
  const plan = (await request({ type: 'clean-duplicates', keep: { kind: 'newest' }, action: 'trash', dryRun: true })).reply.result.plan;
  expect(plan).toHaveLength(1);
  // The user keeps a.safetensors whatever the rule said.
  const choices = [{ sha256: plan[0].sha256, keep: '0:Lora/a.safetensors', remove: ['0:Lora/copy.safetensors'] }];
  const { reply, since } = await request({ type: 'clean-duplicates', keep: { kind: 'choices', groups: choices }, action: 'trash' });
  expect(reply).toMatchObject({ ok: true, result: { dryRun: false, done: [{ id: '0:Lora/copy.safetensors', kept: '0:Lora/a.safetensors' }], failed: [], bytes: bytes.length, cancelled: false } });
  const progress = customs('cleanup-progress', since, reply.requestId);
  expect(progress.length).toBeGreaterThan(0);
  expect(progress.at(-1)).toMatchObject({ filesDone: 2, filesTotal: 2, bytesDone: 2 * bytes.length, bytesTotal: 2 * bytes.length, copiesDone: 1, copiesTotal: 1 });
  expect(readdirSync(join(root, 'Lora')).sort()).toEqual(['a.safetensors', 'other.safetensors']);
  expect((await request({ type: 'duplicates' })).reply.result.groups).toEqual([]);
});

test('emptying the trash: the plan says how many files and bytes; carrying out needs the listed items', async () => {
  const { reply } = await request({ type: 'empty-trash', dryRun: true });
  expect(reply).toMatchObject({ ok: true, result: { dryRun: true, files: 3, bytes: bytes.length + 2 + 3, items: [{ root: 0, path: 'Lora/copy.safetensors', files: 3 }] } });
  const items = reply.result.items.map((i: any) => ({ root: i.root, trashId: i.trashId }));
  const refused = await request({ type: 'empty-trash' });
  expect(refused.reply).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  expect(readdirSync(join(root, '.modeldeck/trash'))).toHaveLength(1);
  const done = await request({ type: 'empty-trash', items });
  expect(done.reply).toMatchObject({ ok: true, result: { dryRun: false, files: 3, items: [{ trashId: items[0].trashId }] } });
  expect(readdirSync(join(root, '.modeldeck/trash'))).toEqual([]);
  expect((await request({ type: 'trash' })).reply.result.items).toEqual([]);
});
