/**
 * The synthetic files behind the shared hash test vectors
 * (fixtures/hash-vectors.json, copied from shared/fixtures/civitai), rebuilt
 * byte for byte from the recipe in that fixture's README.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const VECTORS: Record<string, Record<string, string | number | null>> = require('../fixtures/hash-vectors.json');

const META_A = {
  ss_output_name: 'testlora',
  ss_base_model_version: 'sdxl_base_v1-0',
  ss_network_module: 'networks.lora',
  'modelspec.architecture': 'stable-diffusion-xl-v1-base/lora',
};
const META_B = { ...META_A, ss_output_name: 'renamed_by_user', 'modelspec.title': 'edited' };

function syntheticLora(meta: Record<string, string>): Buffer {
  const data = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  const json = JSON.stringify({
    __metadata__: meta,
    'lora_unet_test.lora_down.weight': { dtype: 'U8', shape: [data.length], data_offsets: [0, data.length] },
  });
  const header = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, data]);
}

/** Writes the three vector inputs into `dir`; returns vector name -> path. */
export function writeVectorFiles(dir: string): Record<string, string> {
  const files: Record<string, Buffer> = {
    hello_world_txt: Buffer.from('hello world'),
    'synthetic_lora_a.safetensors': syntheticLora(META_A),
    'synthetic_lora_b_same_tensors_edited_metadata.safetensors': syntheticLora(META_B),
  };
  const paths: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(dir, name === 'hello_world_txt' ? 'hello_world.txt' : name);
    writeFileSync(path, bytes);
    paths[name] = path;
  }
  return paths;
}
