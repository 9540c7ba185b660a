// Finding model files: layouts, extensions, skipped folders, symbolic links,
// awkward names and the per-entry problems that must be warnings, on real files.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { folderKind, layoutName } from '../src/core/library/layouts';
import { findModelFiles, type FoundFile, type ScanTreeWarning } from '../src/core/library/scan-tree';
import { useTmpDir } from './helpers/tmpdir';

const tmp = useTmpDir('modeldeck-scan-');
let serial = 0;

/** A fresh root for one test, with `files` (relative paths) created; content defaults to one byte. */
function tree(files: Record<string, string> | string[]): string {
  const root = join(tmp.path, `root-${++serial}`);
  mkdirSync(root, { recursive: true });
  const entries = Array.isArray(files) ? files.map((f) => [f, 'x'] as const) : Object.entries(files);
  for (const [rel, content] of entries) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

async function scan(roots: string[], signal?: AbortSignal): Promise<{ found: FoundFile[]; warnings: ScanTreeWarning[] }> {
  const warnings: ScanTreeWarning[] = [];
  const found = await findModelFiles(roots, { signal, onWarning: (w) => warnings.push(w) });
  return { found, warnings };
}

const paths = (found: FoundFile[]) => found.map((f) => f.path);

describe('layouts', () => {
  test.each([
    // A1111 / Forge
    ['models/Stable-diffusion', 'checkpoint', 'a1111'],
    ['models/Lora/styles/anime', 'lora', 'a1111'],
    ['models/LyCORIS', 'lycoris', 'a1111'],
    ['models/VAE', 'vae', 'a1111'],
    ['embeddings', 'embedding', 'a1111'],
    ['models/ControlNet', 'controlnet', 'a1111'],
    ['models/ESRGAN', 'upscaler', 'a1111'],
    ['models/SwinIR', 'upscaler', 'a1111'],
    ['models/hypernetworks', undefined, 'a1111'],
    // ComfyUI
    ['ComfyUI/models/checkpoints', 'checkpoint', 'comfyui'],
    ['models/loras/flux', 'lora', 'comfyui'],
    ['models/vae', 'vae', 'comfyui'],
    ['models/embeddings', 'embedding', 'comfyui'],
    ['models/controlnet', 'controlnet', 'comfyui'],
    ['models/upscale_models', 'upscaler', 'comfyui'],
    ['models/unet', 'checkpoint', 'comfyui'],
    ['models/diffusion_models', 'checkpoint', 'comfyui'],
    ['models/clip', undefined, 'comfyui'],
    ['models/text_encoders', undefined, 'comfyui'],
    // qDiffusion
    ['qDiffusion/models/SD', 'checkpoint', 'qdiffusion'],
    ['models/LoRA', 'lora', 'qdiffusion'],
    ['models/TI', 'embedding', 'qdiffusion'],
    ['qDiffusion/models/VAE', 'vae', 'qdiffusion'],
    ['models/SR', 'upscaler', 'qdiffusion'],
    ['models/CN', 'controlnet', 'qdiffusion'],
    // Stability Matrix (shared `Models/` folder)
    ['Data/Models/StableDiffusion', 'checkpoint', 'stability-matrix'],
    ['Data/Models/Lora', 'lora', 'stability-matrix'],
    ['Data/Models/LyCORIS', 'lycoris', 'stability-matrix'],
    ['Data/Models/VAE', 'vae', 'stability-matrix'],
    ['Data/Models/Embeddings', 'embedding', 'stability-matrix'],
    ['Data/Models/ControlNet', 'controlnet', 'stability-matrix'],
    ['Data/Models/ESRGAN', 'upscaler', 'stability-matrix'],
    ['Data/Models/DiffusionModels', 'checkpoint', 'stability-matrix'],
  ])('%s → %s (%s)', (dir, kind, layout) => {
    expect(folderKind(dir)).toBe(kind);
    expect(layoutName(dir)).toBe(layout);
  });

  test('the nearest known folder wins, without regard to case; unknown paths have no kind', () => {
    expect(folderKind('models/lora/checkpoints-i-like')).toBe('lora');
    expect(folderKind('models/Stable-diffusion/old/Lora')).toBe('lora');
    expect(folderKind('MODELS/VAE/sdxl')).toBe('vae');
    // A known folder without a kind stops the search: its files are probed, not guessed from further up.
    expect(folderKind('models/Lora/models/clip')).toBeUndefined();
    expect(folderKind('/content/drive/MyDrive/my stuff')).toBeUndefined();
    expect(layoutName('/content/drive/MyDrive/my stuff')).toBeUndefined();
  });

  test("qDiffusion's two-letter names count only under a models folder", () => {
    expect(folderKind('/home/me/SD/misc')).toBeUndefined();
    expect(folderKind('/home/me/qDiffusion/models/SD/misc')).toBe('checkpoint');
    expect(folderKind('backup/CN')).toBeUndefined();
  });

  test('a scan reports the folder kind, including from the root path itself', async () => {
    const base = tree([
      'models/Stable-diffusion/sd15/a.safetensors',
      'models/Lora/styles/anime/b.safetensors',
      'models/loras/c.safetensors',
      'models/SD/d.ckpt',
      'Models/StableDiffusion/e.safetensors',
      'elsewhere/f.safetensors',
    ]);
    const { found } = await scan([base]);
    expect(found.map((f) => [f.path, f.folderKind])).toEqual([
      ['Models/StableDiffusion/e.safetensors', 'checkpoint'],
      ['elsewhere/f.safetensors', undefined],
      ['models/Lora/styles/anime/b.safetensors', 'lora'],
      ['models/SD/d.ckpt', 'checkpoint'],
      ['models/Stable-diffusion/sd15/a.safetensors', 'checkpoint'],
      ['models/loras/c.safetensors', 'lora'],
    ]);
    // A root that is itself a layout folder (`.../models/Lora` added as a root).
    const lora = await scan([join(base, 'models/Lora')]);
    expect(lora.found.map((f) => [f.path, f.folderKind])).toEqual([['styles/anime/b.safetensors', 'lora']]);
  });
});

describe('which files', () => {
  test('every model extension in any case; other files are not models', async () => {
    const root = tree([
      'a.safetensors',
      'b.SAFETENSORS',
      'c.sft',
      'd.Ckpt',
      'e.PT',
      'f.pth',
      'g.bin',
      'h.GGUF',
      'a.preview.png',
      'a.civitai.info',
      'notes.txt',
      'partial.safetensors.tmp',
      'safetensors',
    ]);
    const { found, warnings } = await scan([root]);
    expect(paths(found)).toEqual(['a.safetensors', 'b.SAFETENSORS', 'c.sft', 'd.Ckpt', 'e.PT', 'f.pth', 'g.bin', 'h.GGUF']);
    expect(warnings).toEqual([]);
  });

  test('hidden entries, .modeldeck and _-prefixed folders are skipped; a _-prefixed file is not', async () => {
    const root = tree([
      'keep/a.safetensors',
      '.modeldeck/cache.safetensors',
      '.hidden/b.safetensors',
      '.c.safetensors',
      '_archive/d.safetensors',
      'keep/_old/e.safetensors',
      'keep/_f.safetensors',
      'keep/.ipynb_checkpoints/g.safetensors',
    ]);
    const { found } = await scan([root]);
    expect(paths(found)).toEqual(['keep/_f.safetensors', 'keep/a.safetensors']);
  });

  test('names with spaces, quotes and non-ASCII characters; zero-byte files are reported', async () => {
    const names = [`my "best" lora's v2.safetensors`, 'スタイル ñandú.safetensors', 'dir with space/ü x.ckpt'];
    const root = tree({ [names[0]]: 'abc', [names[1]]: 'x', [names[2]]: 'y', 'empty.safetensors': '' });
    const { found, warnings } = await scan([root]);
    expect(warnings).toEqual([]);
    expect(paths(found).sort()).toEqual([...names, 'empty.safetensors'].sort());
    const quoted = found.find((f) => f.path === names[0])!;
    expect(quoted.size).toBe(3);
    expect(quoted.absolute).toBe(join(root, names[0]));
    expect(found.find((f) => f.path === 'empty.safetensors')!.size).toBe(0);
  });

  test('results are in walk order (a folder before a sibling that sorts after it character by character)', async () => {
    const root = tree(['a-b.safetensors', 'a/b.safetensors', 'B.safetensors', 'a/a/c.safetensors']);
    const { found } = await scan([root]);
    // Depth-first with entries in code-unit order: `B` < `a` < `a-b`; `a/…` before `a-b` although `-` < `/`.
    expect(paths(found)).toEqual(['B.safetensors', 'a/a/c.safetensors', 'a/b.safetensors', 'a-b.safetensors']);
  });

  test('size, mtime, device and inode come from the file', async () => {
    const root = tree({ 'm.safetensors': '12345' });
    const [f] = (await scan([root])).found;
    const st = require('node:fs').statSync(join(root, 'm.safetensors'));
    expect(f).toMatchObject({ root, path: 'm.safetensors', size: 5, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino });
  });
});

describe('symbolic links', () => {
  test('a folder linking to its parent does not loop', async () => {
    const root = tree(['a/x.safetensors', 'y.safetensors']);
    symlinkSync('..', join(root, 'a', 'up'));
    symlinkSync('.', join(root, 'a', 'self'));
    const { found } = await scan([root]);
    expect(paths(found)).toEqual(['a/x.safetensors', 'y.safetensors']);
  });

  test('two folders linking to each other do not loop', async () => {
    const root = tree(['p/x.safetensors', 'q/y.safetensors']);
    symlinkSync('../q', join(root, 'p', 'to-q'));
    symlinkSync('../p', join(root, 'q', 'to-p'));
    const { found } = await scan([root]);
    expect(paths(found)).toEqual(['p/x.safetensors', 'q/y.safetensors']);
  });

  test('a file linked twice is reported once, under its real path', async () => {
    const root = tree(['real/m.safetensors']);
    mkdirSync(join(root, 'links'));
    symlinkSync('../real/m.safetensors', join(root, 'links', 'a.safetensors'));
    symlinkSync(join(root, 'real', 'm.safetensors'), join(root, 'links', 'b.safetensors'));
    symlinkSync('real', join(root, 'again'));
    const { found } = await scan([root]);
    expect(paths(found)).toEqual(['real/m.safetensors']);
  });

  test('links only: the first in walk order is kept', async () => {
    const outside = tree(['m.safetensors']);
    const root = tree([]);
    symlinkSync(join(outside, 'm.safetensors'), join(root, 'z.safetensors'));
    symlinkSync(join(outside, 'm.safetensors'), join(root, 'b.safetensors'));
    const { found } = await scan([root]);
    expect(paths(found)).toEqual(['b.safetensors']);
    expect(found[0].size).toBe(1);
  });

  test('a linked folder outside the root is followed, and reported by the path through the link', async () => {
    const outside = tree(['shared/loras/o.safetensors']);
    const root = tree(['models/Lora/local.safetensors']);
    symlinkSync(join(outside, 'shared', 'loras'), join(root, 'models', 'Lora', 'drive'));
    const { found } = await scan([root]);
    expect(found.map((f) => [f.path, f.absolute, f.folderKind])).toEqual([
      ['models/Lora/drive/o.safetensors', join(root, 'models/Lora/drive/o.safetensors'), 'lora'],
      ['models/Lora/local.safetensors', join(root, 'models/Lora/local.safetensors'), 'lora'],
    ]);
  });

  test('a broken link is a warning, and the walk goes on', async () => {
    const root = tree(['ok.safetensors']);
    symlinkSync(join(root, 'gone.safetensors'), join(root, 'broken.safetensors'));
    symlinkSync(join(root, 'no-such-folder'), join(root, 'broken-folder'));
    const { found, warnings } = await scan([root]);
    expect(paths(found)).toEqual(['ok.safetensors']);
    expect(warnings.map((w) => [w.relative, w.code])).toEqual(
      expect.arrayContaining([
        ['broken.safetensors', 'broken_link'],
        ['broken-folder', 'broken_link'],
      ]),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0].message).toMatch(/broken symbolic link/);
  });
});

describe('bad input', () => {
  test('a file removed between listing and stat is a warning', async () => {
    const root = tree(['stays.safetensors', 'goes.safetensors']);
    const warnings: ScanTreeWarning[] = [];
    const found = await findModelFiles([root], {
      onWarning: (w) => warnings.push(w),
      // Called right after a folder is listed, before its entries are looked at.
      onProgress: (p) => {
        if (p.folders === 1) unlinkSync(join(root, 'goes.safetensors'));
      },
    });
    expect(paths(found)).toEqual(['stays.safetensors']);
    expect(warnings.map((w) => [w.relative, w.code])).toEqual([['goes.safetensors', 'vanished']]);
    expect(warnings[0].message).toMatch(/removed during the scan/);
  });

  test('a folder removed between listing and walking is a warning', async () => {
    const root = tree(['a.safetensors', 'sub/b.safetensors']);
    const warnings: ScanTreeWarning[] = [];
    const found = await findModelFiles([root], {
      onWarning: (w) => warnings.push(w),
      onProgress: (p) => {
        if (p.folders === 1) rmSync(join(root, 'sub'), { recursive: true });
      },
    });
    expect(paths(found)).toEqual(['a.safetensors']);
    expect(warnings.map((w) => [w.relative, w.code])).toEqual([['sub', 'unreadable_folder']]);
  });

  test('a missing root is a warning, not a throw; other roots are scanned', async () => {
    const root = tree(['a.safetensors']);
    const { found, warnings } = await scan([join(tmp.path, 'does-not-exist'), root]);
    expect(paths(found)).toEqual(['a.safetensors']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/no such file/);
  });

  test('a root inside an earlier root is not listed twice', async () => {
    const root = tree(['a.safetensors', 'sub/b.safetensors']);
    const { found, warnings } = await scan([root, join(root, 'sub')]);
    expect(found.map((f) => [f.root, f.path])).toEqual([
      [root, 'a.safetensors'],
      [root, 'sub/b.safetensors'],
    ]);
    expect(warnings.map((w) => w.code)).toEqual(['duplicate_root']);
  });

  test('an unreadable folder is a warning (real EACCES)', () => {
    const root = tree(['ok.safetensors', 'locked/secret.safetensors']);
    chmodSync(join(root, 'locked'), 0o000);
    try {
      const script = `
        const { findModelFiles } = require(${JSON.stringify(join(__dirname, '..', 'lib', 'core', 'library', 'scan-tree'))});
        const warnings = [];
        findModelFiles([${JSON.stringify(root)}], { onWarning: (w) => warnings.push(w) })
          .then((found) => console.log(JSON.stringify({ found: found.map((f) => f.path), warnings })));`;
      // root ignores permissions, so the scan runs as `nobody` when the tests run as root.
      const asRoot = process.getuid?.() === 0;
      if (asRoot) {
        for (let dir = root; dir !== tmp.path && dir !== dirname(dir); dir = dirname(dir)) chmodSync(dir, 0o755);
        chmodSync(tmp.path, 0o755);
      }
      const run = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8',
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      });
      expect(run.stderr).toBe('');
      const out = JSON.parse(run.stdout) as { found: string[]; warnings: ScanTreeWarning[] };
      expect(out.found).toEqual(['ok.safetensors']);
      expect(out.warnings.map((w) => [w.relative, w.code])).toEqual([['locked', 'unreadable_folder']]);
      expect(out.warnings[0].message).toMatch(/permission denied/);
    } finally {
      chmodSync(join(root, 'locked'), 0o755);
    }
  });

  test('an aborted signal stops the walk with a CancelledError', async () => {
    const files = Array.from({ length: 60 }, (_, i) => `d${i}/e${i}/m${i}.safetensors`);
    const root = tree(files);
    const controller = new AbortController();
    let folders = 0;
    const walk = findModelFiles([root], {
      signal: controller.signal,
      onProgress: (p) => {
        folders = p.folders;
        if (p.folders === 1) controller.abort();
      },
    });
    await expect(walk).rejects.toMatchObject({ code: 'cancelled' });
    // 121 folders in all; aborting after the first one leaves all the others unlisted.
    expect(folders).toBe(1);

    const already = new AbortController();
    already.abort();
    await expect(findModelFiles([root], { signal: already.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });
});
