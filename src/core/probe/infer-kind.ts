/**
 * What kind of model a header describes: from tensor names first (they cannot
 * lie about what the file loads as), then from trainer metadata, then from the
 * file name as a last guess. Rules follow sidecar-formats.md §10 and §11.3.
 */
import { ggufArchitecture } from './gguf-arch';
import { kindFromName, quote } from './name-hints';
import { isLoraFamily, type Inference, type ModelKind, type ModelView, type ProbeOptions, type TensorShape } from './types';

interface Found {
  kind: ModelKind;
  evidence: string[];
}

// kohya (`lora_unet_*.lora_down.weight`), PEFT/diffusers (`.lora_A.weight`), the old
// diffusers attention processors (`to_k_lora.down.weight`) and XLabs Flux (`proj_lora1.down.weight`).
const LORA_DOWN = /\.(?:lora_down|lora_A)\.weight$|_lora\d*\.down\.weight$/;
const LORA_ANY = /\.(?:lora_down|lora_up|lora_mid|lora_A|lora_B)\.weight$|_lora\d*\.(?:down|up)\.weight$/;
const LORA_PREFIX = /^lora_(?:unet|te\d?|transformer)_/;
// LyCORIS key suffixes, as qDiffusion's `get_lycoris_type` tells them apart.
const LOHA = /\.hada_w[12]_[ab]$/;
const LOKR = /\.lokr_w[12](?:_[ab])?$/;
const IA3 = /\.on_input$/;
const FULL_DIFF = /^lora_.*\.diff$/;

const CONTROLNET = /^control_model\.|controlnet_cond_embedding|controlnet_(?:down|mid)_block|^controlnet_blocks\.|input_hint_block|^lora_controlnet$/;
const EMBEDDING = /^(?:emb_params|clip_l|clip_g|string_to_param\..+|string_to_token\..+|<[^>]+>)$/;
const VAE_PART = /^(?:encoder|decoder|quant_conv|post_quant_conv)\./;
// A diffusion model saved without VAE and text encoder: LDM UNet, BFL Flux, SAI SD3, diffusers UNet/transformers.
const DIFFUSION_ONLY = /^(?:input_blocks|middle_block|output_blocks|double_blocks|single_blocks|joint_blocks|single_transformer_blocks)\.\d/;
const DIFFUSERS_UNET = /^(?:down_blocks|up_blocks)\.\d+\.attentions\./;
const UPSCALER = /^model\.\d+\.sub\.\d+\.RDB\d|^RRDB_trunk\.|^body\.\d+\.rdb\d/;

/** The kind the tensor names (and, for LoCon, the shapes) show, if any. */
export function kindFromTensors(tensors: ReadonlyMap<string, TensorShape>): Found | undefined {
  const names = [...tensors.keys()];
  const some = (re: RegExp) => names.find((n) => re.test(n));

  // Control-LoRA carries LoRA-like weights but loads as a ControlNet: check it first.
  const control = some(CONTROLNET);
  if (control) return { kind: 'controlnet', evidence: [`tensor ${keyFamily(control)} keys`] };

  if (some(LOHA)) return { kind: 'loha', evidence: ['tensor *.hada_w1_a keys (LyCORIS LoHa)'] };
  if (some(LOKR)) return { kind: 'lokr', evidence: ['tensor *.lokr_w1 keys (LyCORIS LoKr)'] };
  if (some(LORA_ANY) || (some(LORA_PREFIX) && some(/\.alpha$/))) {
    const evidence = [loraKeyEvidence(names)];
    // Plain LoRA also touches 1x1 convs (proj_in/proj_out); LoCon is LoRA on 3x3 convs too.
    const conv = names.find((n) => LORA_DOWN.test(n) && isSpatialConv(tensors.get(n)!.shape));
    if (conv) return { kind: 'locon', evidence: [...evidence, 'lora_down on 3x3 conv layers (LoCon)'] };
    return { kind: 'lora', evidence };
  }
  if (some(IA3)) return { kind: 'lycoris', evidence: ['tensor *.on_input keys (LyCORIS IA3)'] };
  if (some(FULL_DIFF)) return { kind: 'lycoris', evidence: ['tensor lora_*.diff keys (LyCORIS full)'] };

  if (names.length > 0 && names.length <= 4 && names.every((n) => EMBEDDING.test(n) && tensors.get(n)!.shape.length <= 2)) {
    return { kind: 'embedding', evidence: [`textual-inversion tensors (${names.map(quote).join(', ')})`] };
  }

  const stripped = names.map((n) => n.replace(/^first_stage_model\./, ''));
  if (stripped.every((n) => VAE_PART.test(n)) && stripped.some((n) => /^(?:encoder|decoder)\./.test(n))) {
    return { kind: 'vae', evidence: ['only encoder.* / decoder.* tensors (VAE)'] };
  }

  if (some(/^model\.diffusion_model\./)) {
    const parts = ['first_stage_model', 'cond_stage_model', 'conditioner'].filter((p) => some(new RegExp(`^${p}\\.`)));
    const extra = parts.length > 0 ? ` with ${parts.map((p) => `${p}.*`).join(', ')}` : ' (diffusion model only)';
    return { kind: 'checkpoint', evidence: [`tensor model.diffusion_model.* keys${extra}`] };
  }
  const bare = some(DIFFUSION_ONLY);
  if (bare) return { kind: 'checkpoint', evidence: [`tensor ${keyFamily(bare)} keys (diffusion model only)`] };
  if (some(DIFFUSERS_UNET) && tensors.has('conv_in.weight')) {
    return { kind: 'checkpoint', evidence: ['diffusers UNet tensors (down_blocks.*.attentions, conv_in)'] };
  }

  if (some(UPSCALER) || (tensors.has('conv_first.weight') && (tensors.has('conv_last.weight') || tensors.has('conv_hr.weight')))) {
    return { kind: 'upscaler', evidence: ['ESRGAN/SwinIR-style tensors (RRDB blocks or conv_first/conv_last)'] };
  }
  return undefined;
}

/**
 * The kind metadata claims: kohya `ss_network_module`/`ss_network_args`, SAI
 * `modelspec.architecture`, or GGUF `general.architecture` (an image architecture
 * there means diffusion-model weights).
 */
export function kindFromMetadata(metadata: Readonly<Record<string, string>>): Found | undefined {
  const module = metadata['ss_network_module'];
  if (module) {
    const evidence = [`ss_network_module=${quote(module)}`];
    if (/lycoris/i.test(module)) {
      const algo = networkAlgo(metadata['ss_network_args']);
      const byAlgo: Record<string, ModelKind> = { loha: 'loha', lokr: 'lokr', locon: 'locon', lora: 'locon' };
      if (algo) evidence.push(`ss_network_args algo=${quote(algo)}`);
      return { kind: (algo && byAlgo[algo]) || 'lycoris', evidence };
    }
    // kohya's own modules (networks.lora, networks.dylora, networks.lora_flux, ...) are all LoRA.
    return { kind: 'lora', evidence };
  }
  const arch = metadata['modelspec.architecture'];
  if (arch) {
    const evidence = [`modelspec.architecture=${quote(arch)}`];
    const adapter = arch.includes('/') ? arch.slice(arch.lastIndexOf('/') + 1).toLowerCase() : '';
    if (adapter === 'lora') return { kind: 'lora', evidence };
    if (adapter === 'textual-inversion') return { kind: 'embedding', evidence };
    if (adapter === 'controlnet') return { kind: 'controlnet', evidence };
    if (adapter === '') return { kind: 'checkpoint', evidence };
  }
  const gguf = metadata['general.architecture'];
  if (gguf && ggufArchitecture(gguf).image) return { kind: 'checkpoint', evidence: [`general.architecture=${quote(gguf)}`] };
  return undefined;
}

/** Combines tensors, metadata, the file name and the caller's hint, in that order of trust. */
export function inferKind(view: ModelView, options: ProbeOptions = {}): Inference<ModelKind> {
  const byTensors = kindFromTensors(view.tensors);
  const byMetadata = kindFromMetadata(view.metadata);
  if (byTensors) {
    if (!byMetadata) return { value: byTensors.kind, evidence: byTensors.evidence, conflicts: [] };
    if (compatible(byMetadata.kind, byTensors.kind)) {
      return { value: byTensors.kind, evidence: [...byTensors.evidence, ...byMetadata.evidence], conflicts: [] };
    }
    return {
      value: byTensors.kind,
      evidence: byTensors.evidence,
      conflicts: [`metadata says ${byMetadata.kind} (${byMetadata.evidence.join(', ')}), tensors say ${byTensors.kind}; using tensors`],
    };
  }
  if (byMetadata) return { value: byMetadata.kind, evidence: byMetadata.evidence, conflicts: [] };
  const byName = kindFromName(view.fileName);
  if (byName) return { value: byName.kind, evidence: [byName.evidence], conflicts: [] };
  if (options.kindHint && options.kindHint !== 'unknown') {
    return { value: options.kindHint, evidence: [`kind hint from caller: ${options.kindHint}`], conflicts: [] };
  }
  return { value: 'unknown', evidence: [], conflicts: [] };
}

/** Metadata and tensors agree when they name the same thing at the precision each can see. */
function compatible(claimed: ModelKind, seen: ModelKind): boolean {
  if (claimed === seen) return true;
  // "lycoris.kohya" without a readable algo, or LoCon/LoRA (same keys, conv layers optional).
  if (claimed === 'lycoris' && isLoraFamily(seen)) return true;
  return (claimed === 'lora' || claimed === 'locon') && (seen === 'lora' || seen === 'locon');
}

function isSpatialConv(shape: readonly number[]): boolean {
  return shape.length === 4 && (shape[2] > 1 || shape[3] > 1);
}

/** `lora_unet_*` / `lora_te1_*` style names for kohya files, the suffix for others. */
function loraKeyEvidence(names: string[]): string {
  const prefixes = new Set<string>();
  for (const n of names) {
    const m = /^(lora_(?:unet|te\d?|transformer))_/.exec(n);
    if (m) prefixes.add(`${m[1]}_*`);
  }
  if (prefixes.size > 0) return `tensor ${[...prefixes].sort().join(', ')} keys`;
  const suffix = names.map((n) => /\.(lora_down|lora_A)\.weight$/.exec(n)?.[1]).find(Boolean);
  return suffix ? `tensor *.${suffix}.weight keys` : 'tensor *_lora.down.weight keys';
}

/** `control_model.*`, `double_blocks.*`: a key's first component, for evidence. */
function keyFamily(name: string): string {
  const m = /^[A-Za-z_]+/.exec(name);
  return m && m[0] !== name ? `${m[0].replace(/_$/, '')}.*` : quote(name);
}

/** The LyCORIS `algo` from `ss_network_args` (a JSON string); undefined when absent or unreadable. */
function networkAlgo(args: string | undefined): string | undefined {
  if (!args) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    const algo = (parsed as { algo?: unknown } | null)?.algo;
    return typeof algo === 'string' ? algo.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}
