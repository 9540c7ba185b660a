/**
 * GGUF `general.architecture` values. Image-model GGUFs (city96's ComfyUI-GGUF
 * converter) name the diffusion architecture; everything else in GGUF is a
 * language model, which SD workflows use only as a text encoder (T5, Llama, Qwen).
 */
import type { BaseModel } from './types';

/** Diffusion architectures city96's converter writes, with the base when we have one for it. */
const IMAGE_ARCHITECTURES: Readonly<Record<string, BaseModel>> = {
  flux: 'flux',
  sd1: 'sd1',
  sdxl: 'sdxl',
  sd3: 'sd3',
  aura: 'unknown',
  chroma: 'unknown',
  cosmos: 'unknown',
  hidream: 'unknown',
  hyvid: 'unknown',
  lumina2: 'unknown',
  ltxv: 'unknown',
  qwen_image: 'unknown',
  wan: 'unknown',
};

export function ggufArchitecture(arch: string): { image: boolean; base: BaseModel } {
  const key = arch.trim().toLowerCase();
  const base = Object.prototype.hasOwnProperty.call(IMAGE_ARCHITECTURES, key) ? IMAGE_ARCHITECTURES[key] : undefined;
  return base === undefined ? { image: false, base: 'unknown' } : { image: true, base };
}
