/**
 * A1111's user metadata `base.json` (sidecar-formats.md §2.1), merged, never
 * replaced: the user edits this file in A1111's card editor, and other tools
 * (CBP, CHZ) add their own keys. We fill only keys that are missing or empty;
 * a key is replaced only when the caller names it in `overwrite`. An existing
 * file that is not a readable JSON object is left untouched (a warning says
 * so): losing a user's notes is worse than missing a trigger word.
 */
import type { Model, ModelVersion } from '../civitai/parse';
import { isLoraFamily, type ModelKind } from '../probe/types';
import { htmlToText } from './html-text';
import { isPlainObject, jsonKind, readJsonCapped, refusedSidecarWarning, throwIfTransient } from './json-file';
import { pythonStyleJson } from './json-write';
import { checkedTarget, sidecarBase, writeFileAtomic } from './paths';
import type { SidecarWriteResult } from './write-civitai-info';

export type SdVersion = 'SD1' | 'SD2' | 'SDXL' | 'Unknown';

/** The A1111 keys modeldeck fills, under A1111's own names. */
export interface A1111Fields {
  'activation text'?: string;
  'sd version'?: SdVersion;
  description?: string;
  'preferred weight'?: number;
  notes?: string;
}

export interface MergeA1111Options {
  /** Keys to replace even when the user's file has a value. Default none. */
  overwrite?: ReadonlyArray<keyof A1111Fields>;
  /** The version's model, for its description. */
  parent?: Model;
}

/**
 * Trained words joined with `", "`, as Civitai Helper and the Civitai browser
 * extensions do. A1111 pastes `activation text` into the prompt as it is, so
 * no separator of our own (CHZ's `" || "` ended up in prompts) and no stray
 * commas at a word's ends.
 */
export function activationText(words: readonly string[]): string {
  return words
    .map((w) => w.replace(/^[\s,]+|[\s,]+$/g, ''))
    .filter(Boolean)
    .join(', ');
}

/**
 * A1111's `sd version` from Civitai's `baseModel`, or undefined when the base
 * says nothing (missing, empty, "Other"). A1111 takes any of its own names
 * (`SD1`, `SD2`, `SDXL`, `Unknown`) over what it detects from the file, and
 * hides LoRAs by it, so a name is written only when it is right:
 * - SD 1.x, SD 2.x and SDXL by their names; Pony, Illustrious and NoobAI are
 *   SDXL models on Civitai too (formats §11.3);
 * - any other named family (Flux, SD 3.x, AuraFlow...) is `Unknown`: A1111
 *   would otherwise call it SD1 from its metadata and show it with SD1 models;
 * - nothing at all otherwise, so A1111 keeps its own detection.
 */
export function sdVersionOf(baseModel: string | null | undefined): SdVersion | undefined {
  const b = (baseModel ?? '').trim();
  if (b === '' || /^other$/i.test(b)) return undefined;
  if (/^SD 1(\.|$| )/i.test(b)) return 'SD1';
  if (/^SD 2(\.|$| )/i.test(b)) return 'SD2';
  if (/^SDXL\b/i.test(b) || /^(Pony|Illustrious|NoobAI)$/i.test(b)) return 'SDXL';
  return 'Unknown';
}

/**
 * What modeldeck would write for a version. `kind` decides `preferred weight`
 * (0 = A1111's default, for LoRAs). The description is the model's (what its
 * Civitai page shows, and what CHZ and CBP put here) when the parent is known,
 * else the version's.
 */
export function a1111FieldsFromVersion(version: ModelVersion, kind?: ModelKind | string, parent?: Model): A1111Fields {
  const fields: A1111Fields = { 'activation text': activationText(version.trainedWords) };
  const sdVersion = sdVersionOf(version.baseModel);
  if (sdVersion) fields['sd version'] = sdVersion;
  const description = (parent?.id === version.modelId ? parent.description : null) || version.description;
  if (description) fields.description = htmlToText(description);
  const civitaiLora = /^(LORA|LoCon|DoRA|LyCORIS)$/i.test(version.model.type);
  if ((kind && isLoraFamily(kind as ModelKind)) || civitaiLora) fields['preferred weight'] = 0;
  return fields;
}

/**
 * Merges `fields` (or the fields of a `ModelVersion`, with the model `kind`)
 * into `base.json`. Writes only when something changes, atomically.
 */
export async function mergeA1111Json(
  root: string,
  modelPath: string,
  from: A1111Fields | ModelVersion,
  kind?: ModelKind | string,
  options: MergeA1111Options = {},
): Promise<SidecarWriteResult> {
  const fields = isVersion(from) ? a1111FieldsFromVersion(from, kind, options.parent) : from;
  const target = await checkedTarget(root, sidecarBase(modelPath) + '.json');
  const existing = await readJsonCapped(target);
  throwIfTransient(existing);
  let data: Record<string, unknown>;
  if (existing.kind === 'missing' || existing.kind === 'empty') data = {};
  else if (existing.kind === 'ok' && isPlainObject(existing.value)) data = existing.value;
  else if (existing.kind === 'bad' && existing.refused) {
    return { file: target, written: false, skipped: existing.reason, warnings: [refusedSidecarWarning(target, existing.reason)] };
  } else {
    const why = existing.kind === 'bad' ? existing.reason : `expected a JSON object, got ${jsonKind(existing.value)}`;
    return { file: target, written: false, skipped: why, warnings: [`${target}: ${why}; left untouched`] };
  }
  const force = new Set<string>(options.overwrite ?? []);
  let changed = false;
  for (const [key, value] of Object.entries(fields) as Array<[keyof A1111Fields, A1111Fields[keyof A1111Fields]]>) {
    if (value === undefined) continue;
    const old = data[key];
    const oldEmpty = old === undefined || old === null || (typeof old === 'string' && old.trim() === '');
    if (!oldEmpty && !force.has(key)) continue;
    // An empty text or an "Unknown" version says nothing: it fills a gap but never replaces a value.
    if (!oldEmpty && (value === '' || (key === 'sd version' && value === 'Unknown'))) continue;
    if (old === value) continue;
    data[key] = value;
    changed = true;
  }
  if (!changed) return { file: target, written: false, skipped: 'nothing to add', warnings: [] };
  await writeFileAtomic(target, pythonStyleJson(data) + '\n');
  return { file: target, written: true, warnings: [] };
}

function isVersion(x: A1111Fields | ModelVersion): x is ModelVersion {
  return typeof (x as ModelVersion).id === 'number' && Array.isArray((x as ModelVersion).files);
}
