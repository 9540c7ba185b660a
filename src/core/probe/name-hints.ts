/**
 * Guesses from names: file names, and the name-like metadata strings trainers
 * write (`ss_sd_model_name`, `ss_output_name`, `modelspec.title`).
 *
 * These are the weakest evidence there is, used only when the tensors and the
 * structured metadata are silent, or to tell SDXL derivatives (Pony,
 * Illustrious, NoobAI) apart, which no tensor shape can do.
 */
import type { BaseModel, ModelKind } from './types';

/** Longest value quoted in an evidence string; metadata values can be megabytes. */
const MAX_QUOTED = 60;

/** Quotes a value for evidence text: one line, cut to a readable length. */
export function quote(value: string): string {
  // eslint-disable-next-line no-control-regex
  const oneLine = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return oneLine.length > MAX_QUOTED ? `${oneLine.slice(0, MAX_QUOTED)}…` : oneLine;
}

// Separators in model names are `_`, `-`, `.`, spaces and case changes; `\b` does not
// treat `_` as one, so "tokens" here are bounded by anything that is not a letter or digit.
const token = (body: string) => new RegExp(`(?:^|[^a-z0-9])(?:${body})(?:$|[^a-z0-9])`, 'i');

/** SDXL derivatives, most specific first: NoobAI is itself trained from Illustrious. */
const SDXL_DERIVATIVES: readonly { base: BaseModel; re: RegExp }[] = [
  { base: 'noobai', re: /noob[-_ ]?ai/i },
  { base: 'illustrious', re: /illustrious/i },
  // "ponytail" is a common LoRA subject, not the Pony model.
  { base: 'pony', re: /pony(?!tail)/i },
];

/** Pony, Illustrious or NoobAI when the string names one, else undefined. */
export function sdxlDerivativeFromString(text: string): BaseModel | undefined {
  return SDXL_DERIVATIVES.find((d) => d.re.test(text))?.base;
}

const BASE_NAME_HINTS: readonly { base: BaseModel; re: RegExp; what: string }[] = [
  { base: 'flux', re: /flux/i, what: 'flux' },
  { base: 'sd3', re: token('sd3|sd-?3(?:\\.5)?|sd_3(?:\\.5)?'), what: 'sd3' },
  { base: 'sdxl', re: /sdxl|sd_xl/i, what: 'sdxl' },
  // "juggernautXL", "animagine-xl": upper-case XL anywhere, or xl as its own token.
  { base: 'sdxl', re: /XL/, what: 'XL' },
  { base: 'sdxl', re: token('xl'), what: 'xl' },
  // Bare "v1"/"v2" are version numbers of the file itself, not of SD: only the
  // spellings of the official release names count ("v1-5-pruned", "v2-1_768").
  { base: 'sd2', re: token('sd2|sd20|sd21|sd-?2\\.[01]|sd_2[._]?[01]|v2-[01]'), what: 'sd2' },
  { base: 'sd1', re: token('sd1|sd14|sd15|sd-?1\\.[45]|sd_1[._]?[45]|v1-[45]'), what: 'sd1/sd15' },
];

/** A base model guessed from a file name, with the evidence line, or undefined. */
export function baseFromName(name: string): { base: BaseModel; evidence: string } | undefined {
  const derivative = sdxlDerivativeFromString(name);
  if (derivative) return { base: derivative, evidence: `name mentions ${derivative} (guess by name)` };
  for (const hint of BASE_NAME_HINTS) {
    if (hint.re.test(name)) return { base: hint.base, evidence: `name contains "${hint.what}" (guess by name)` };
  }
  return undefined;
}

const KIND_NAME_HINTS: readonly { kind: ModelKind; re: RegExp; what: string }[] = [
  { kind: 'controlnet', re: /controlnet|control[-_]|t2i[-_]?adapter/i, what: 'controlnet/control_' },
  { kind: 'upscaler', re: /esrgan|upscal|swinir|scunet|ldsr|(?:^|[^a-z0-9])(?:x[248]|[248]x)(?:$|[^a-z0-9])/i, what: 'esrgan/upscale/x4' },
  { kind: 'vae', re: /vae/i, what: 'vae' },
  { kind: 'lokr', re: /lokr/i, what: 'lokr' },
  { kind: 'loha', re: /loha/i, what: 'loha' },
  { kind: 'locon', re: /locon/i, what: 'locon' },
  { kind: 'lycoris', re: /lycoris|lyco/i, what: 'lycoris' },
  { kind: 'lora', re: /lora/i, what: 'lora' },
  { kind: 'embedding', re: /embedding|textual[-_ ]?inversion/i, what: 'embedding' },
];

/** A kind guessed from a file name, with the evidence line, or undefined. */
export function kindFromName(name: string): { kind: ModelKind; evidence: string } | undefined {
  for (const hint of KIND_NAME_HINTS) {
    if (hint.re.test(name)) return { kind: hint.kind, evidence: `name contains "${hint.what}" (guess by name)` };
  }
  return undefined;
}
