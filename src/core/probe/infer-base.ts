/**
 * Which base model a file was made for. Tensor shapes decide the architecture
 * family when they can (trainer metadata is sometimes wrong: "Flux LoRA says
 * sd_1.5"); metadata strings and names then refine SDXL into Pony, Illustrious
 * or NoobAI, which no shape can tell apart. Rules: sidecar-formats.md §11.3.
 */
import { ggufArchitecture } from './gguf-arch';
import { baseFromName, quote, sdxlDerivativeFromString } from './name-hints';
import { BASE_MODEL_LABELS, baseFamily, type BaseModel, type Inference, type ModelView, type TensorShape } from './types';

interface Found {
  base: BaseModel;
  evidence: string[];
  /** An assumption rather than a statement: dropped silently when tensors disagree. */
  weak?: boolean;
}

/** The cross-attention context width (CLIP output) each family feeds its UNet. */
const CONTEXT_DIM: Readonly<Record<number, { base: BaseModel; note?: string }>> = {
  768: { base: 'sd1' },
  1024: { base: 'sd2' },
  2048: { base: 'sdxl' },
  1280: { base: 'sdxl', note: 'SDXL refiner' },
};

// Cross-attention key projections, whose input width is the text context width:
// checkpoints `...attn2.to_k.weight` [out, ctx], kohya `..._attn2_to_k.lora_down.weight`
// [rank, ctx], PEFT `.lora_A.weight`, old diffusers `to_k_lora.down.weight`, LoHa `hada_w?_b`.
const CROSS_ATTN_K = /attn2[._](?:processor\.)?to_k(?:\.weight|\.lora_down\.weight|\.lora_A\.weight|_lora\.down\.weight|\.hada_w[12]_b)$/;
// The InvokeAI probe keys (§11.3), preferred as evidence when present.
const INVOKE_KEYS = [
  'model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight',
  'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight',
];
// Text-encoder self-attention key projections (CLIP ViT-L: 768 wide, OpenCLIP ViT-H: 1024).
const TE_K_PROJ = /(?:^lora_te_text_model_encoder_layers_\d+_self_attn_k_proj\.(?:lora_down|lora_A)\.weight|^cond_stage_model\.transformer\.text_model\.encoder\.layers\.\d+\.self_attn\.k_proj\.weight)$/;

/** The family the tensor names and shapes show, if any. */
export function baseFromTensors(tensors: ReadonlyMap<string, TensorShape>): Found | undefined {
  const names = [...tensors.keys()];
  const some = (re: RegExp) => names.find((n) => re.test(n));
  const lastDim = (name: string) => tensors.get(name)!.shape.at(-1);

  // Flux and SD3 are transformers with block names of their own, in every file format.
  const flux = some(/double_blocks|single_blocks|single_transformer_blocks/);
  if (flux) return { base: 'flux', evidence: [`tensor ${/double|single_transformer|single/.exec(flux)![0]}_blocks keys`] };
  if (some(/joint_blocks/)) return { base: 'sd3', evidence: ['tensor joint_blocks keys'] };

  const crossAttn = INVOKE_KEYS.find((k) => tensors.has(k)) ?? some(CROSS_ATTN_K);
  if (crossAttn) {
    const dim = lastDim(crossAttn) ?? 0;
    const known = CONTEXT_DIM[dim];
    const evidence = `to_k last dim ${dim}${known?.note ? ` (${known.note})` : ''}`;
    if (known) return { base: known.base, evidence: [evidence] };
  }

  if (some(/^lora_te2_/)) return { base: 'sdxl', evidence: ['tensor lora_te2_* keys (two text encoders)'] };
  if (some(/^conditioner\.embedders\.1\./)) return { base: 'sdxl', evidence: ['tensor conditioner.embedders.1.* keys'] };
  if (some(/^cond_stage_model\.model\.transformer\.resblocks\./)) {
    return { base: 'sd2', evidence: ['tensor cond_stage_model.model.* keys (OpenCLIP text encoder)'] };
  }
  const teK = some(TE_K_PROJ);
  const teBase = teK ? { 768: 'sd1', 1024: 'sd2' }[lastDim(teK) ?? 0] : undefined;
  if (teK && teBase) return { base: teBase as BaseModel, evidence: [`text encoder k_proj last dim ${lastDim(teK)}`] };

  // Textual inversion: the token vector width is the text encoder's.
  if (tensors.has('clip_g')) return { base: 'sdxl', evidence: ['tensor clip_g (SDXL embedding)'] };
  const vector = some(/^(?:emb_params|string_to_param\..+|<[^>]+>)$/);
  const vectorBase = vector ? { 768: 'sd1', 1024: 'sd2' }[lastDim(vector) ?? 0] : undefined;
  if (vector && vectorBase) return { base: vectorBase as BaseModel, evidence: [`embedding vector width ${lastDim(vector)}`] };
  return undefined;
}

/** Facts worth reporting that do not decide the base (VAE latent width, inpainting UNet). */
export function shapeNotes(tensors: ReadonlyMap<string, TensorShape>): string[] {
  const notes: string[] = [];
  const vaeIn = tensors.get('decoder.conv_in.weight') ?? tensors.get('first_stage_model.decoder.conv_in.weight');
  if (vaeIn?.shape.length === 4) {
    const ch = vaeIn.shape[1];
    if (ch === 4) notes.push('VAE with 4 latent channels (SD 1.x, 2.x and SDXL share this shape)');
    else if (ch === 16) notes.push('VAE with 16 latent channels (Flux or SD 3)');
  }
  const unetIn = tensors.get('model.diffusion_model.input_blocks.0.0.weight') ?? tensors.get('input_blocks.0.0.weight');
  if (unetIn?.shape[1] === 9) notes.push('UNet with 9 input channels (inpainting)');
  return notes;
}

/** The family metadata claims: `ss_base_model_version`, `ss_v2`, `modelspec.architecture`, GGUF `general.architecture`. */
export function baseFromMetadata(metadata: Readonly<Record<string, string>>): Found | undefined {
  const version = metadata['ss_base_model_version'];
  if (version) {
    const base = baseFromVersionString(version);
    if (base) return { base, evidence: [`ss_base_model_version=${quote(version)}`] };
  }
  if (/^true$/i.test(metadata['ss_v2'] ?? '')) return { base: 'sd2', evidence: ['ss_v2=True'] };
  const arch = metadata['modelspec.architecture'];
  if (arch) {
    const base = baseFromArchitecture(arch);
    if (base) return { base, evidence: [`modelspec.architecture=${quote(arch)}`] };
  }
  const gguf = metadata['general.architecture'];
  if (gguf) {
    const { base } = ggufArchitecture(gguf);
    if (base !== 'unknown') return { base, evidence: [`general.architecture=${quote(gguf)}`] };
  }
  // kohya wrote no ss_base_model_version before SDXL; A1111 reads such files as SD 1.x.
  if (!version && (metadata['ss_v2'] !== undefined || metadata['ss_network_module'] !== undefined)) {
    return { base: 'sd1', evidence: ['kohya metadata without ss_base_model_version (pre-SDXL trainer)'], weak: true };
  }
  return undefined;
}

/** kohya's `sd_v1`, `sd_v2_v`, `sdxl_base_v1-0`, `flux1`, and the spellings other trainers use. */
export function baseFromVersionString(value: string): BaseModel | undefined {
  const v = value.trim().toLowerCase();
  const derivative = sdxlDerivativeFromString(v);
  if (derivative) return derivative;
  if (v === 'il') return 'illustrious';
  if (v.includes('sdxl') || v.includes('sd_xl')) return 'sdxl';
  if (/^flux[-_. ]?1|^flux$/.test(v)) return 'flux';
  if (/^sd[-_ ]?3/.test(v)) return 'sd3';
  if (/^sd[-_ ]?v?2/.test(v)) return 'sd2';
  if (/^sd[-_ ]?v?1/.test(v)) return 'sd1';
  return undefined;
}

/** SAI ModelSpec ids (`stable-diffusion-xl-v1-base/lora`) and the OMI spellings (`Flux.1-dev/lora`). */
export function baseFromArchitecture(value: string): BaseModel | undefined {
  const a = value.split('/')[0].trim().toLowerCase();
  const derivative = sdxlDerivativeFromString(a);
  if (derivative) return derivative;
  if (/^(?:stable-diffusion-xl|sd-xl|sdxl)/.test(a)) return 'sdxl';
  if (/^(?:stable-diffusion-v?3|sd-?3)/.test(a)) return 'sd3';
  if (/^(?:stable-diffusion-v2|sd-?2)/.test(a)) return 'sd2';
  if (/^(?:stable-diffusion-v1|sd-?1)/.test(a)) return 'sd1';
  if (/^flux[-.]?1/.test(a)) return 'flux';
  return undefined;
}

/** Name-like strings that may say Pony/Illustrious/NoobAI, strongest first. */
const DERIVATIVE_SOURCES = ['modelspec.title', 'ss_sd_model_name', 'ss_output_name', 'general.name'];

function derivativeHint(view: ModelView): Found | undefined {
  for (const key of DERIVATIVE_SOURCES) {
    const value = view.metadata[key];
    const base = value ? sdxlDerivativeFromString(value) : undefined;
    if (base) return { base, evidence: [`${key}=${quote(value)}`] };
  }
  const base = sdxlDerivativeFromString(view.fileName);
  return base ? { base, evidence: [`file name mentions ${base}`] } : undefined;
}

/** Combines tensors, metadata and names; tensors win on the family, strings refine SDXL. */
export function inferBase(view: ModelView): Inference<BaseModel> {
  const byTensors = baseFromTensors(view.tensors);
  const byMetadata = baseFromMetadata(view.metadata);
  const evidence: string[] = [];
  const conflicts: string[] = [];
  let base: BaseModel = 'unknown';

  if (byTensors) {
    base = byTensors.base;
    evidence.push(...byTensors.evidence);
    if (byMetadata && baseFamily(byMetadata.base) !== baseFamily(byTensors.base)) {
      if (!byMetadata.weak) conflicts.push(`metadata says ${label(byMetadata.base)} (${byMetadata.evidence.join(', ')}), tensors say ${label(byTensors.base)}; using tensors`);
    } else if (byMetadata) {
      // Same family: metadata may be the more specific (e.g. "pony" where tensors only see SDXL).
      base = byMetadata.base;
      evidence.push(...byMetadata.evidence);
    }
  } else if (byMetadata) {
    base = byMetadata.base;
    evidence.push(...byMetadata.evidence);
  }

  if (base === 'sdxl' || base === 'unknown') {
    const hint = derivativeHint(view);
    if (hint) {
      base = hint.base;
      evidence.push(...hint.evidence);
    }
  } else if (baseFamily(base) !== 'sdxl') {
    const hint = derivativeHint(view);
    if (hint) conflicts.push(`${hint.evidence[0]} suggests ${label(hint.base)} (SDXL-based), but the file is ${label(base)}; keeping ${label(base)}`);
  }

  if (base === 'unknown') {
    const byName = baseFromName(view.fileName);
    if (byName) {
      base = byName.base;
      evidence.push(byName.evidence);
    }
  }
  return { value: base, evidence, conflicts };
}

function label(base: BaseModel): string {
  return BASE_MODEL_LABELS[base];
}
