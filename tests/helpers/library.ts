/** Builds model libraries on disk for the library tests, and registers their files with a fake Civitai. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FakeCivitai, NewVersion } from '../fake-civitai';
import { buildSafetensors } from './safetensors';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex').toUpperCase();

export interface MadeFile {
  rel: string;
  path: string;
  bytes: Buffer;
  SHA256: string;
  /** SHA-256 of the tensor bytes (the full AutoV3). */
  autoV3Full: string;
}

/** A small SD 1.x LoRA with random tensor bytes (unique hashes), `extraBytes` of bulk. */
export function loraBytes(metadata: Record<string, string> = {}, extraBytes = 0): Buffer {
  const to_k = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k';
  const tensors: Record<string, { dtype: string; shape: number[]; data: Buffer }> = {
    [`${to_k}.lora_down.weight`]: { dtype: 'F16', shape: [4, 768], data: randomBytes(4 * 768 * 2) },
    [`${to_k}.lora_up.weight`]: { dtype: 'F16', shape: [320, 4], data: randomBytes(320 * 4 * 2) },
  };
  if (extraBytes > 0) tensors['bulk.weight'] = { dtype: 'U8', shape: [extraBytes], data: randomBytes(extraBytes) };
  return buildSafetensors({ metadata: { ss_network_module: 'networks.lora', ...metadata }, tensors });
}

export function writeModel(root: string, rel: string, bytes: Buffer): MadeFile {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  const tensorsAt = 8 + Number(bytes.readBigUInt64LE(0));
  return { rel, path, bytes, SHA256: sha256(bytes), autoV3Full: sha256(bytes.subarray(tensorsAt)) };
}

/** Tells the fake Civitai about a file, as if its author had uploaded it; `extra` sets anything else of the version or its model. */
export function register(fake: FakeCivitai, file: MadeFile, extra: { name?: string } & Omit<NewVersion, 'files' | 'modelName'> = {}) {
  const name = file.rel.slice(file.rel.lastIndexOf('/') + 1);
  const { name: modelName, ...rest } = extra;
  return fake.addVersion({
    ...rest,
    modelName: modelName ?? `Model ${name}`,
    baseModel: extra.baseModel ?? 'SD 1.5',
    trainedWords: extra.trainedWords ?? ['trigger'],
    files: [{ name, hashes: { SHA256: file.SHA256, AutoV3: file.autoV3Full.slice(0, 12) }, sizeKB: file.bytes.length / 1024 }],
  });
}
