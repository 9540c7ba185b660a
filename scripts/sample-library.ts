/**
 * A small, realistic model library made on the spot for the demo: A1111-style
 * folders with a kohya LoRA for SD 1.5, an SDXL LoRA that carries its own
 * AutoV3, an embedding, a VAE, an old pickle checkpoint and a broken download.
 * Tensor bytes are random, so every run makes new files with new hashes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeCivitai } from '../tests/fake-civitai';
import { buildSafetensors, type SafetensorsSpec } from '../tests/helpers/safetensors';

export interface SampleFile {
  path: string;
  bytes: Buffer;
  /** SHA-256 of the whole file, computed here with node:crypto, not by modeldeck. */
  sha256: string;
}

const SD1_TO_K = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k';
const SDXL_TO_K = 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k';

function withRandomTensors(spec: SafetensorsSpec): SafetensorsSpec {
  const tensors = Object.fromEntries(
    Object.entries(spec.tensors).map(([name, t]) => {
      const count = t.shape.reduce((a, b) => a * b, 1);
      return [name, { ...t, data: randomBytes(count * (t.dtype === 'F32' ? 4 : 2)) }];
    }),
  );
  return { ...spec, tensors };
}

/** SHA-256 of a safetensors file's tensor bytes: the full AutoV3, as kohya embeds it. */
function tensorSha256(file: Buffer): string {
  return createHash('sha256').update(file.subarray(8 + Number(file.readBigUInt64LE(0)))).digest('hex');
}

export function writeSampleLibrary(root: string): Record<string, SampleFile> {
  rmSync(root, { recursive: true, force: true });
  const files: Record<string, Buffer> = {};

  files['Lora/add_detail.safetensors'] = buildSafetensors(
    withRandomTensors({
      metadata: { ss_output_name: 'add_detail', ss_base_model_version: 'sd_v1', ss_network_module: 'networks.lora' },
      tensors: {
        [`${SD1_TO_K}.lora_down.weight`]: { dtype: 'F16', shape: [8, 768] },
        [`${SD1_TO_K}.lora_up.weight`]: { dtype: 'F16', shape: [320, 8] },
        // Bulk, so that the file is the size of a real LoRA (about 36 MiB).
        'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': { dtype: 'F16', shape: [4608, 4096] },
      },
    }),
  );

  const xlSpec = withRandomTensors({
    metadata: { ss_output_name: 'pony_style_xl', ss_base_model_version: 'sdxl_base_v1-0', ss_network_module: 'networks.lora' },
    tensors: {
      [`${SDXL_TO_K}.lora_down.weight`]: { dtype: 'F16', shape: [16, 2048] },
      [`${SDXL_TO_K}.lora_up.weight`]: { dtype: 'F16', shape: [640, 16] },
    },
  });
  // kohya writes the tensor-bytes hash into the header; the tensors do not change when the header does.
  const autoV3 = tensorSha256(buildSafetensors(xlSpec));
  files['Lora/pony_style_xl.safetensors'] = buildSafetensors({ ...xlSpec, metadata: { ...xlSpec.metadata, sshs_model_hash: autoV3 } });

  files['embeddings/bad_hands.safetensors'] = buildSafetensors(
    withRandomTensors({ tensors: { emb_params: { dtype: 'F32', shape: [8, 768] } } }),
  );
  files['VAE/sdxl_vae.safetensors'] = buildSafetensors(
    withRandomTensors({
      tensors: {
        'encoder.conv_in.weight': { dtype: 'F16', shape: [128, 3, 3, 3] },
        'decoder.conv_in.weight': { dtype: 'F16', shape: [512, 4, 3, 3] },
      },
    }),
  );
  // A pickle: modeldeck must never unpickle it (this one would run a shell command).
  files['Stable-diffusion/old_model.ckpt'] = Buffer.concat([
    Buffer.from('\x80\x02cposix\nsystem\nq\x00X\x0b\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.', 'latin1'),
    randomBytes(3 * 1024 * 1024),
  ]);
  // A download that stopped early: the header promises more than the file holds.
  files['Stable-diffusion/broken.safetensors'] = files['Lora/add_detail.safetensors'].subarray(0, 100);

  const out: Record<string, SampleFile> = {};
  for (const [rel, bytes] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, bytes);
    out[rel] = { path, bytes, sha256: createHash('sha256').update(bytes).digest('hex').toUpperCase() };
  }
  return out;
}

/**
 * What the fake Civitai knows of the sample library (both demos): the SD 1.5 LoRA
 * by its SHA256, the SDXL LoRA by the AutoV3 its trainer wrote into its header.
 * The embedding and the pickle stay unknown.
 */
export function registerSampleModels(fake: FakeCivitai, files: Record<string, SampleFile>): void {
  const detail = files['Lora/add_detail.safetensors'];
  fake.addVersion({
    modelName: 'Detail Booster',
    name: 'v1.0',
    baseModel: 'SD 1.5',
    trainedWords: ['add_detail'],
    files: [{ name: 'add_detail.safetensors', hashes: { SHA256: detail.sha256 }, sizeKB: detail.bytes.length / 1024 }],
  });
  const xl = files['Lora/pony_style_xl.safetensors'];
  const xlHeaderHash = /"sshs_model_hash":"([0-9a-f]{64})"/.exec(xl.bytes.toString('latin1', 0, 2048))![1];
  fake.addVersion({
    modelName: 'Pony Style XL',
    name: 'v2',
    baseModel: 'Pony',
    trainedWords: ['pony style'],
    files: [{ name: 'pony_style_xl.safetensors', hashes: { SHA256: 'F'.repeat(64), AutoV3: xlHeaderHash.slice(0, 12) }, sizeKB: xl.bytes.length / 1024 }],
  });
}
