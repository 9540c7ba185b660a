/**
 * A1111's user metadata `base.json` (sidecar-formats.md §2.1), merged, never
 * replaced: the user edits this file in A1111's card editor, and other tools
 * (CBP, CHZ) add their own keys. We fill only keys that are missing or empty;
 * a key is replaced only when the caller names it in `overwrite`. An existing
 * file that is not a readable JSON object is left untouched (a warning says
 * so): losing a user's notes is worse than missing a trigger word.
 */
import type { ModelVersion } from '../civitai/parse';
import { isLoraFamily, type ModelKind } from '../probe/types';
import { htmlToText } from './html-text';
import { isPlainObject, jsonKind, readJsonCapped, refusedSidecarWarning } from './json-file';
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
}

/** Trained words as CHZ joins them (§3): `", "`, or `" || "` when a word itself holds a comma. */
export function activationText(words: readonly string[]): string {
  const clean = words.map((w) => w.trim()).filter(Boolean);
  return clean.join(clean.some((w) => w.includes(',')) ? ' || ' : ', ');
}

/**
 * A1111's `sd version` from Civitai's `baseModel`. CHZ looks only at "SD 1"/
 * "SD 2"/"SDXL"; Pony, Illustrious and NoobAI are SDXL models on Civitai too
 * (formats §11.3), and A1111 uses this field to hide LoRAs that do not fit the
 * loaded checkpoint, so they map to SDXL. Anything else is Unknown.
 */
export function sdVersionOf(baseModel: string | null | undefined): SdVersion {
  const b = (baseModel ?? '').trim();
  if (/^SD 1(\.|$| )/i.test(b)) return 'SD1';
  if (/^SD 2(\.|$| )/i.test(b)) return 'SD2';
  if (/^SDXL\b/i.test(b) || /^(Pony|Illustrious|NoobAI)$/i.test(b)) return 'SDXL';
  return 'Unknown';
}

/** What modeldeck would write for a version. `kind` decides `preferred weight` (0 = A1111's default, for LoRAs). */
export function a1111FieldsFromVersion(version: ModelVersion, kind?: ModelKind | string): A1111Fields {
  const fields: A1111Fields = {
    'activation text': activationText(version.trainedWords),
    'sd version': sdVersionOf(version.baseModel),
  };
  if (version.description) fields.description = htmlToText(version.description);
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
  const fields = isVersion(from) ? a1111FieldsFromVersion(from, kind) : from;
  const target = await checkedTarget(root, sidecarBase(modelPath) + '.json');
  const existing = await readJsonCapped(target);
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
