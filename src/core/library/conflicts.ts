/**
 * Folder, probe and Civitai each have an opinion on what a file is. None is
 * always right (trainers write wrong metadata, users misfile models), so the
 * entry keeps the probe's answer and lists every disagreement in plain words.
 */
import { baseFamily, isLoraFamily, type BaseModel, type ModelKind } from '../probe/types';

/** Civitai's model type to our kind (only the types whose files we scan). */
const CIVITAI_TYPES: Record<string, ModelKind> = {
  checkpoint: 'checkpoint',
  lora: 'lora',
  locon: 'locon',
  dora: 'lora',
  lycoris: 'lycoris',
  textualinversion: 'embedding',
  vae: 'vae',
  controlnet: 'controlnet',
  upscaler: 'upscaler',
};

export function kindFromCivitaiType(type: string): ModelKind | undefined {
  return CIVITAI_TYPES[type.toLowerCase()];
}

/** Civitai's base-model labels ("SD 1.5", "SDXL 1.0", "Pony", "Flux.1 D"...) to our families. */
export function baseFromCivitai(label: string | null): BaseModel | undefined {
  if (!label) return undefined;
  const l = label.toLowerCase();
  if (l.startsWith('sd 1')) return 'sd1';
  if (l.startsWith('sd 2')) return 'sd2';
  if (l.startsWith('sdxl')) return 'sdxl';
  if (l.startsWith('sd 3')) return 'sd3';
  if (l.startsWith('flux')) return 'flux';
  if (l.startsWith('pony')) return 'pony';
  if (l.startsWith('illustrious')) return 'illustrious';
  if (l.startsWith('noobai')) return 'noobai';
  return undefined;
}

function sameKind(a: ModelKind, b: ModelKind): boolean {
  return a === b || (isLoraFamily(a) && isLoraFamily(b));
}

/** Disagreements between the folder's kind, the probe's kind and base, and Civitai's type and base. */
export function findConflicts(opinions: {
  folderKind?: ModelKind;
  probeKind: ModelKind;
  probeBase: BaseModel;
  civitaiType?: string;
  civitaiBase?: string | null;
}): string[] {
  const out: string[] = [];
  const { folderKind, probeKind, probeBase } = opinions;
  if (folderKind && probeKind !== 'unknown' && !sameKind(folderKind, probeKind)) {
    out.push(`the folder says ${folderKind}, the file's contents say ${probeKind}`);
  }
  const civKind = opinions.civitaiType ? kindFromCivitaiType(opinions.civitaiType) : undefined;
  if (civKind && probeKind !== 'unknown' && !sameKind(civKind, probeKind)) {
    out.push(`Civitai says ${opinions.civitaiType}, the file's contents say ${probeKind}`);
  }
  const civBase = baseFromCivitai(opinions.civitaiBase ?? null);
  if (civBase && probeBase !== 'unknown' && baseFamily(civBase) !== baseFamily(probeBase)) {
    out.push(`Civitai says ${opinions.civitaiBase}, the file's contents say ${probeBase}`);
  }
  return out;
}
