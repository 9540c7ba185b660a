// Emptying the trash for good, on real files through the CLI: what it lists (items, files, bytes), an
// age filter, and a trash folder planted by someone sharing the library (links where folders should be,
// links and folders inside items, a manifest naming paths outside the root): nothing outside the trash
// folder is touched, and no link is followed.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Library } from '../src/core/library';
import { PinnedDir } from '../src/core/library/pinned-dir';
import { runCli } from './helpers/cli';
import { loraBytes, writeModel, type MadeFile } from './helpers/library';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('mdk-trash-empty-');
let serial = 0;
const env = () => ({ MODELDECK_CACHE_DIR: join(tmp.path, `cache-${++serial}`), CIVITAI_BASE_URL: 'http://127.0.0.1:9', CIVITAI_FALLBACK_BASE_URLS: '' });

function newRoot(): string {
  const root = join(tmp.path, `lib-${++serial}`);
  mkdirSync(root, { recursive: true });
  return root;
}

function withSidecars(file: MadeFile): number {
  const base = file.path.replace(/\.safetensors$/, '');
  writeFileSync(`${base}.civitai.info`, '{"id": 1}');
  writeFileSync(`${base}.preview.png`, 'png!');
  return file.bytes.length + '{"id": 1}'.length + 'png!'.length;
}

async function scan(root: string): Promise<void> {
  const lib = await Library.open([root], { civitai: false });
  try {
    await lib.scan({ offline: true, previews: false });
  } finally {
    await lib.close();
  }
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const trashOf = (root: string) => join(root, '.modeldeck', 'trash');

test('trash lists items with files and bytes; --older-than empties only old items; --empty removes the rest for good', async () => {
  const root = newRoot();
  const old = writeModel(root, 'Lora/old.safetensors', loraBytes());
  const recent = writeModel(root, 'Lora/recent.safetensors', loraBytes({ x: 'y' }));
  const kept = writeModel(root, 'Lora/kept.safetensors', loraBytes({ k: 'k' }));
  const oldBytes = withSidecars(old);
  const recentBytes = recent.bytes.length;
  await scan(root);
  expect((await runCli(['rm', old.path, recent.path], env())).code).toBe(0);
  // The old item was trashed three days ago (its manifest says when).
  const [oldId] = readdirSync(trashOf(root)).filter((id) => readFileSync(join(trashOf(root), id, 'item.json'), 'utf8').includes('old.safetensors'));
  const manifest = join(trashOf(root), oldId, 'item.json');
  writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), trashedAt: Date.now() - 3 * 86_400_000 }));

  const listed = await runCli(['trash', '--json', root], env());
  expect(listed.code).toBe(0);
  const lines = jsonLines(listed.stdout);
  expect(lines.filter((l) => l.type === 'item').map((l) => [l.path, l.files, l.bytes]).sort()).toEqual([
    ['Lora/old.safetensors', 3, oldBytes],
    ['Lora/recent.safetensors', 1, recentBytes],
  ]);
  expect(lines.at(-1)).toEqual({ type: 'total', items: 2, files: 4, bytes: oldBytes + recentBytes });

  const dry = await runCli(['trash', '--empty', '--dry-run', '--older-than', '1', root], env());
  expect(dry.stdout).toContain('would remove 1 item(s): 3 file(s)');
  expect(readdirSync(trashOf(root))).toHaveLength(2);

  const aged = await runCli(['trash', '--empty', '--older-than', '1', root], env());
  expect(aged.code).toBe(0);
  expect(aged.stdout).toMatch(/^\S+ {2}\S+ {2}Lora\/old\.safetensors \(3 file\(s\), .*\)\nremoved 1 item\(s\): 3 file\(s\), /);
  expect(readdirSync(trashOf(root))).toHaveLength(1);

  const all = await runCli(['trash', '--empty', '--json', root], env());
  expect(jsonLines(all.stdout).at(-1)).toEqual({ type: 'removed', items: 1, files: 1, bytes: recentBytes });
  expect(readdirSync(trashOf(root))).toEqual([]);
  expect((await runCli(['restore', root], env())).stdout).toBe('');
  // The library's own models are untouched.
  expect(readFileSync(kept.path).equals(kept.bytes)).toBe(true);
  expect((await runCli(['ls', '--json', root], env())).stdout).toContain('Lora/kept.safetensors');

  const bad = await runCli(['trash', '--older-than', 'soon', root], env());
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe('modeldeck: --older-than: "soon" is not a number of days\n');
});

test('a planted trash: links are removed as links or refused, folders left alone, nothing outside touched', async () => {
  const root = newRoot();
  const m = writeModel(root, 'x.safetensors', loraBytes());
  await scan(root);
  expect((await runCli(['rm', m.path], env())).code).toBe(0);
  const outside = join(tmp.path, `outside-${++serial}`);
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious.safetensors'), 'precious');
  writeFileSync(join(outside, 'item.json'), 'outside manifest');
  const trash = trashOf(root);
  // An "item" that is a link to a folder outside, one holding a link to a file outside, one with a folder
  // inside, and a manifest that names a file outside.
  symlinkSync(outside, join(trash, 'linked-item'));
  mkdirSync(join(trash, 'has-link'));
  symlinkSync(join(outside, 'precious.safetensors'), join(trash, 'has-link', 'x.safetensors'));
  mkdirSync(join(trash, 'has-folder', 'sub'), { recursive: true });
  writeFileSync(join(trash, 'has-folder', 'sub', 'inner'), 'inner');
  mkdirSync(join(trash, 'lies'));
  writeFileSync(join(trash, 'lies', 'item.json'), JSON.stringify({ path: 'x.safetensors', trashedAt: 1, files: [{ name: 'precious.safetensors', path: '../outside/precious.safetensors' }] }));

  const r = await runCli(['trash', '--empty', root], env());
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${join(trash, 'linked-item')}: not a real folder (a link or a file); left alone`);
  expect(r.stderr).toContain(`${join(trash, 'has-folder', 'sub')}: a folder inside a trash item; left alone`);
  expect(readdirSync(outside).sort()).toEqual(['item.json', 'precious.safetensors']);
  expect(readFileSync(join(outside, 'precious.safetensors'), 'utf8')).toBe('precious');
  // What was inside the trash folder went; the link as a link; what could not go is still there.
  expect(readdirSync(trash).sort()).toEqual(['has-folder', 'linked-item']);
  expect(lstatSync(join(trash, 'linked-item')).isSymbolicLink()).toBe(true);
  expect(existsSync(join(trash, 'has-folder', 'sub', 'inner'))).toBe(true);
});

test('.modeldeck/trash that is a link to elsewhere: refused, nothing removed', async () => {
  const root = newRoot();
  writeModel(root, 'x.safetensors', loraBytes());
  await scan(root);
  const outside = join(tmp.path, `outside-${++serial}`);
  mkdirSync(join(outside, 'item'), { recursive: true });
  writeFileSync(join(outside, 'item', 'item.json'), JSON.stringify({ path: 'x.safetensors', trashedAt: 1, files: [{ name: 'x.safetensors', path: 'x.safetensors' }] }));
  writeFileSync(join(outside, 'item', 'x.safetensors'), 'not ours');
  symlinkSync(outside, trashOf(root));
  const r = await runCli(['trash', '--empty', root], env());
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/trash: not a real folder \(a link or a file\); left alone; the trash was not emptied/);
  expect(readFileSync(join(outside, 'item', 'x.safetensors'), 'utf8')).toBe('not ours');
});

test('a folder held open stays the folder it was: a swap of its path for a link after opening is not followed', async () => {
  const dir = join(tmp.path, `pinned-${++serial}`);
  const outside = join(tmp.path, `outside-${++serial}`);
  mkdirSync(join(dir, 'item'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(dir, 'item', 'f'), 'trash');
  writeFileSync(join(outside, 'f'), 'precious');
  const top = await PinnedDir.openRoot(dir);
  const item = await top.sub('item');
  try {
    // Someone swaps the item folder for a link to a folder outside, between our open and our unlink.
    renameSync(join(dir, 'item'), join(dir, 'moved-away'));
    symlinkSync(outside, join(dir, 'item'));
    const { unlink } = await import('node:fs/promises');
    await unlink(item.at('f'));
  } finally {
    await item.close();
    await top.close();
  }
  expect(readFileSync(join(outside, 'f'), 'utf8')).toBe('precious');
  expect(existsSync(join(dir, 'moved-away', 'f'))).toBe(false);
});
