/**
 * What the folder a model sits in says about it. A1111/Forge, ComfyUI,
 * qDiffusion and Stability Matrix each keep one folder per model type; the
 * folder is a hint that the probe confirms or contradicts (the library records
 * the disagreement), never the final word.
 *
 * Sources: reference sidecar-formats.md §2.5 (A1111), §8 (Stability Matrix
 * shared `Models/` folders), §10 (qDiffusion), and ComfyUI's folder_paths.
 */
import type { ModelKind } from '../probe/types';

export type LayoutName = 'a1111' | 'comfyui' | 'qdiffusion' | 'stability-matrix';

interface LayoutFolder {
  /** The spelling the tool creates; matching ignores case, `layoutName` uses exact case to break ties. */
  name: string;
  layout: LayoutName;
  /**
   * `undefined` for folders the tools know but that hold no modeldeck kind
   * (hypernetworks, text encoders): a file there is still scanned, and its kind
   * comes from probing alone. Such a folder still counts as the nearest known
   * one, so `models/clip/old-lora/x.safetensors` gets no folder kind rather
   * than one from a folder further up.
   */
  kind: ModelKind | undefined;
  /**
   * qDiffusion's two-letter names (`SD`, `TI`, ...) are too common to trust
   * anywhere on a path (`/home/me/SD/...`); they count only directly under a
   * `models` folder, which is where qDiffusion puts them.
   */
  onlyUnderModels?: boolean;
  /** A1111's `embeddings` sits beside `models/`; one under `models/` is someone else's. */
  besideModels?: boolean;
}

/** Listed in tie-break order: qDiffusion reuses A1111's names, and A1111/Forge is the most common owner of them. */
const FOLDERS: readonly LayoutFolder[] = [
  // A1111 / Forge: `models/<name>`, except `embeddings`, which sits beside `models/`.
  { name: 'Stable-diffusion', layout: 'a1111', kind: 'checkpoint' },
  { name: 'Lora', layout: 'a1111', kind: 'lora' },
  // LyCORIS files are LoCon/LoHa/LoKr...; the probe narrows the family kind down.
  { name: 'LyCORIS', layout: 'a1111', kind: 'lycoris' },
  { name: 'VAE', layout: 'a1111', kind: 'vae' },
  { name: 'embeddings', layout: 'a1111', kind: 'embedding', besideModels: true },
  { name: 'ControlNet', layout: 'a1111', kind: 'controlnet' },
  { name: 'ESRGAN', layout: 'a1111', kind: 'upscaler' },
  { name: 'RealESRGAN', layout: 'a1111', kind: 'upscaler' },
  { name: 'SwinIR', layout: 'a1111', kind: 'upscaler' },
  // There is no hypernetwork kind (they are rare and Civitai calls them `Hypernetwork`); known folder, no hint.
  { name: 'hypernetworks', layout: 'a1111', kind: undefined },

  // ComfyUI: `models/<name>`.
  { name: 'checkpoints', layout: 'comfyui', kind: 'checkpoint' },
  // A bare UNet / diffusion model (Flux, SD3 transformer, GGUF quantisations) loads in place of a checkpoint.
  { name: 'unet', layout: 'comfyui', kind: 'checkpoint' },
  { name: 'diffusion_models', layout: 'comfyui', kind: 'checkpoint' },
  { name: 'loras', layout: 'comfyui', kind: 'lora' },
  { name: 'vae', layout: 'comfyui', kind: 'vae' },
  { name: 'embeddings', layout: 'comfyui', kind: 'embedding' },
  { name: 'controlnet', layout: 'comfyui', kind: 'controlnet' },
  { name: 'upscale_models', layout: 'comfyui', kind: 'upscaler' },
  { name: 'hypernetworks', layout: 'comfyui', kind: undefined },
  // Text encoders (CLIP, T5) have no modeldeck kind yet.
  { name: 'clip', layout: 'comfyui', kind: undefined },
  { name: 'text_encoders', layout: 'comfyui', kind: undefined },
  { name: 'clip_vision', layout: 'comfyui', kind: undefined },

  // Stability Matrix: the first folder under its shared `Models/` (SharedFolderType).
  { name: 'StableDiffusion', layout: 'stability-matrix', kind: 'checkpoint' },
  { name: 'DiffusionModels', layout: 'stability-matrix', kind: 'checkpoint' },
  { name: 'Lora', layout: 'stability-matrix', kind: 'lora' },
  { name: 'LyCORIS', layout: 'stability-matrix', kind: 'lycoris' },
  { name: 'VAE', layout: 'stability-matrix', kind: 'vae' },
  { name: 'Embeddings', layout: 'stability-matrix', kind: 'embedding' },
  { name: 'ControlNet', layout: 'stability-matrix', kind: 'controlnet' },
  { name: 'ESRGAN', layout: 'stability-matrix', kind: 'upscaler' },
  { name: 'RealESRGAN', layout: 'stability-matrix', kind: 'upscaler' },
  { name: 'SwinIR', layout: 'stability-matrix', kind: 'upscaler' },
  { name: 'TextEncoders', layout: 'stability-matrix', kind: undefined },
  { name: 'Hypernetwork', layout: 'stability-matrix', kind: undefined },

  // qDiffusion / sd-inference-server: `models/<name>`, its own short names plus A1111's.
  { name: 'SD', layout: 'qdiffusion', kind: 'checkpoint', onlyUnderModels: true },
  { name: 'Stable-diffusion', layout: 'qdiffusion', kind: 'checkpoint' },
  { name: 'LoRA', layout: 'qdiffusion', kind: 'lora' },
  { name: 'LyCORIS', layout: 'qdiffusion', kind: 'lycoris' },
  { name: 'TI', layout: 'qdiffusion', kind: 'embedding', onlyUnderModels: true },
  { name: 'embeddings', layout: 'qdiffusion', kind: 'embedding' },
  { name: 'VAE', layout: 'qdiffusion', kind: 'vae' },
  { name: 'SR', layout: 'qdiffusion', kind: 'upscaler', onlyUnderModels: true },
  { name: 'ESRGAN', layout: 'qdiffusion', kind: 'upscaler' },
  { name: 'RealESRGAN', layout: 'qdiffusion', kind: 'upscaler' },
  { name: 'CN', layout: 'qdiffusion', kind: 'controlnet', onlyUnderModels: true },
];

const BY_LOWER_NAME = new Map<string, LayoutFolder[]>();
for (const folder of FOLDERS) {
  const key = folder.name.toLowerCase();
  BY_LOWER_NAME.set(key, [...(BY_LOWER_NAME.get(key) ?? []), folder]);
}

/** Folder names above the model folders that name the tool (install folders, Colab notebook defaults). */
const TOOL_HINTS: ReadonlyArray<[RegExp, LayoutName]> = [
  [/comfy/i, 'comfyui'],
  [/stability.?matrix/i, 'stability-matrix'],
  [/qdiffusion|sd-inference-server/i, 'qdiffusion'],
  [/stable-diffusion-webui|^webui$|forge|a1111|automatic1111/i, 'a1111'],
];

interface Match {
  /** The index of the matching folder among the path's segments. */
  index: number;
  segments: string[];
  candidates: LayoutFolder[];
}

/**
 * The nearest folder on the path (deepest first) that some tool's layout
 * names, so `models/Lora/styles/anime` matches `Lora`. Folder names compare
 * without case: Windows and Drive users rename freely.
 */
function nearestKnownFolder(dir: string): Match | undefined {
  // Both separators: a layout is recognised in a path from a Windows-made config too.
  const segments = dir.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  for (let index = segments.length - 1; index >= 0; index--) {
    const underModels = index > 0 && segments[index - 1].toLowerCase() === 'models';
    const candidates = (BY_LOWER_NAME.get(segments[index].toLowerCase()) ?? []).filter(
      (f) => underModels || !f.onlyUnderModels,
    );
    if (candidates.length > 0) return { index, segments, candidates };
  }
  return undefined;
}

/**
 * The model kind the folder implies, or `undefined` when no known folder is on
 * the path or the nearest one holds no modeldeck kind (hypernetworks, clip).
 *
 * Pass the directory including the library root's own path (the scanner
 * does): a user who adds `/content/drive/MyDrive/models/Lora` as a root has
 * the layout folder in the root itself.
 */
export function folderKind(dir: string): ModelKind | undefined {
  // Every tool that shares a folder name uses it for the same kind, so the first candidate speaks for all.
  return nearestKnownFolder(dir)?.candidates[0].kind;
}

/**
 * Which tool's layout the nearest known folder belongs to, for reporting
 * ("looks like a ComfyUI models folder"). Names several tools share are told
 * apart by exact spelling (`LoRA` is qDiffusion's, `Lora` A1111's), by the
 * spelling of the parent (`Models/` is Stability Matrix's), then by a tool's
 * name further up the path; what stays ambiguous goes to the first in
 * A1111, ComfyUI, Stability Matrix, qDiffusion order.
 */
export function layoutName(dir: string): LayoutName | undefined {
  const match = nearestKnownFolder(dir);
  if (!match) return undefined;
  const { index, segments } = match;
  let candidates = match.candidates;
  const narrow = (keep: (f: LayoutFolder) => boolean) => {
    const kept = candidates.filter(keep);
    if (kept.length > 0) candidates = kept;
  };
  narrow((f) => f.name === segments[index]);
  const parent = segments[index - 1];
  if (parent === 'Models') narrow((f) => f.layout === 'stability-matrix');
  else if (parent === 'models') narrow((f) => f.layout !== 'stability-matrix');
  if (parent?.toLowerCase() === 'models') narrow((f) => !f.besideModels);
  for (const [pattern, layout] of TOOL_HINTS) {
    if (segments.slice(0, index).some((s) => pattern.test(s)) && candidates.some((f) => f.layout === layout)) {
      return layout;
    }
  }
  return candidates[0].layout;
}
