/**
 * Which folder of a library root a downloaded model goes to: the folder for
 * its kind in the layout the root already uses (A1111/Forge, ComfyUI,
 * Stability Matrix, qDiffusion), A1111's for a root with no layout yet.
 *
 * The root may be the tool's install folder (holding `models/` or `Models/`)
 * or the models folder itself; the folders found in it decide.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { layoutName, type LayoutName } from '../library/layouts';
import type { ModelKind } from '../probe/types';

/** Folder per kind, per layout; `embedding` in A1111 sits beside `models/` (the `..` marks it). */
const FOLDERS: Record<LayoutName, Partial<Record<ModelKind, string>>> = {
  a1111: { checkpoint: 'Stable-diffusion', lora: 'Lora', locon: 'Lora', loha: 'Lora', lokr: 'Lora', lycoris: 'Lora', embedding: '../embeddings', vae: 'VAE', controlnet: 'ControlNet', upscaler: 'ESRGAN' },
  comfyui: { checkpoint: 'checkpoints', lora: 'loras', locon: 'loras', loha: 'loras', lokr: 'loras', lycoris: 'loras', embedding: 'embeddings', vae: 'vae', controlnet: 'controlnet', upscaler: 'upscale_models' },
  'stability-matrix': { checkpoint: 'StableDiffusion', lora: 'Lora', locon: 'LyCORIS', loha: 'LyCORIS', lokr: 'LyCORIS', lycoris: 'LyCORIS', embedding: 'Embeddings', vae: 'VAE', controlnet: 'ControlNet', upscaler: 'ESRGAN' },
  qdiffusion: { checkpoint: 'SD', lora: 'LoRA', locon: 'LoRA', loha: 'LoRA', lokr: 'LoRA', lycoris: 'LoRA', embedding: 'TI', vae: 'VAE', controlnet: 'CN', upscaler: 'SR' },
};

export interface RootLayout {
  layout: LayoutName;
  /** Where the per-kind folders live, relative to the root: `models`, `Models` or `` (the root is the models folder). */
  modelsDir: string;
}

async function folders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

/** The layout a root uses, by majority of its known folders; A1111 under `models/` when it has none. */
export async function detectLayout(root: string): Promise<RootLayout> {
  const top = await folders(root);
  const candidates: RootLayout[] = [];
  const votes = new Map<string, number>();
  const vote = (modelsDir: string, names: string[], prefix: string) => {
    for (const n of names) {
      const layout = layoutName(`${prefix}${n}`);
      if (!layout) continue;
      const key = `${layout}\0${modelsDir}`;
      if (!votes.has(key)) candidates.push({ layout, modelsDir });
      votes.set(key, (votes.get(key) ?? 0) + 1);
    }
  };
  for (const dir of ['models', 'Models']) {
    if (top.includes(dir)) vote(dir, await folders(join(root, dir)), `x/${dir}/`);
  }
  // The root itself is a models folder (`…/models` added as a root, or Stability Matrix's `Models`).
  const rootName = root.split(/[\\/]/).filter(Boolean).pop() ?? '';
  vote('', top.filter((n) => n !== 'models' && n !== 'Models'), `x/${rootName}/`);
  if (candidates.length === 0) return { layout: 'a1111', modelsDir: top.includes('Models') && !top.includes('models') ? 'Models' : 'models' };
  candidates.sort((a, b) => votes.get(`${b.layout}\0${b.modelsDir}`)! - votes.get(`${a.layout}\0${a.modelsDir}`)!);
  return candidates[0];
}

/** The folder (relative to the root, `/`-separated) for a kind; `unknown` goes with checkpoints. */
export function folderFor(layout: RootLayout, kind: ModelKind): string {
  const folder = FOLDERS[layout.layout][kind] ?? FOLDERS[layout.layout].checkpoint!;
  if (folder.startsWith('../')) {
    // A1111's embeddings sit beside models/; with the models folder as the root, inside it.
    return layout.modelsDir ? folder.slice(3) : folder.slice(3);
  }
  return layout.modelsDir ? `${layout.modelsDir}/${folder}` : folder;
}
