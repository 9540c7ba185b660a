import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAccessError, MalformedFileError } from '../src/core/errors';
import { GGUF_LIMITS, probeFile, type ProbeResult } from '../src/core/probe';
import { buildGguf, ggufBytes, ggufString, type GgufTestValue } from './helpers/gguf';
import { rawSafetensors, writeSafetensors, type SafetensorsSpec, type TensorSpec } from './helpers/safetensors';

// The module object itself (not an import-star copy), so spies replace what lib/ calls.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const realFs: typeof import('node:fs/promises') = require('node:fs/promises');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modeldeck-probe-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  jest.restoreAllMocks();
});

/** Writes a safetensors file under the temp dir and probes it. */
async function probeSpec(name: string, spec: SafetensorsSpec): Promise<ProbeResult> {
  const file = join(dir, name);
  await writeSafetensors(file, spec);
  return probeFile(file);
}

async function probeBytes(name: string, bytes: Buffer | string): Promise<ProbeResult> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return probeFile(file);
}

/** A tiny tensor for keys whose shape does not matter. */
const tiny: TensorSpec = { dtype: 'F16', shape: [1] };

const KOHYA_SDXL_TO_K = 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k';
const KOHYA_SD1_TO_K = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k';

function kohyaLora(toK: string, contextDim: number, extra: Record<string, TensorSpec> = {}): Record<string, TensorSpec> {
  return {
    [`${toK}.lora_down.weight`]: { dtype: 'F16', shape: [4, contextDim] },
    [`${toK}.lora_up.weight`]: { dtype: 'F16', shape: [320, 4] },
    [`${toK}.alpha`]: { dtype: 'F16', shape: [] },
    ...extra,
  };
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SOME_SHA256 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('LoRA and LyCORIS', () => {
  test('kohya SDXL LoRA: metadata and tensor keys agree on LoRA / SDXL, metadata map is returned', async () => {
    const metadata = {
      ss_network_module: 'networks.lora',
      ss_base_model_version: 'sdxl_base_v1-0',
      ss_output_name: 'myCharacter',
      ss_tag_frequency: JSON.stringify({ '10_char': { '1girl': 40, solo: 38 } }),
    };
    const r = await probeSpec('kohya-sdxl.safetensors', {
      metadata,
      tensors: kohyaLora(KOHYA_SDXL_TO_K, 2048, {
        'lora_te1_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight': { dtype: 'F16', shape: [4, 768] },
        'lora_te2_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight': { dtype: 'F16', shape: [4, 1280] },
      }),
    });
    expect(r).toMatchObject({ format: 'safetensors', kind: 'lora', baseModel: 'sdxl', tensorCount: 5 });
    expect(r.evidence).toEqual(
      expect.arrayContaining([
        'tensor lora_te1_*, lora_te2_*, lora_unet_* keys',
        'ss_network_module=networks.lora',
        'to_k last dim 2048',
        'ss_base_model_version=sdxl_base_v1-0',
      ]),
    );
    expect(r.metadata).toEqual(metadata);
    expect(r.conflicts).toBeUndefined();
  });

  test.each([
    [768, 'sd1'],
    [1024, 'sd2'],
    [2048, 'sdxl'],
  ])('LoRA without metadata: attn2 to_k lora_down in-features %i means %s', async (dim, base) => {
    const r = await probeSpec(`bare-${dim}.safetensors`, { tensors: kohyaLora(KOHYA_SD1_TO_K, dim) });
    expect(r.kind).toBe('lora');
    expect(r.baseModel).toBe(base);
    expect(r.evidence).toContain(`to_k last dim ${dim}`);
    expect(r.metadata).toBeUndefined();
  });

  test('PEFT-style lora_A keys are a LoRA and their in-features give the base', async () => {
    const r = await probeSpec('peft.safetensors', {
      tensors: {
        'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight': { dtype: 'F16', shape: [4, 1024] },
        'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight': { dtype: 'F16', shape: [320, 4] },
      },
    });
    expect([r.kind, r.baseModel]).toEqual(['lora', 'sd2']);
    expect(r.evidence).toContain('tensor *.lora_A.weight keys');
  });

  test('LoRA on 3x3 convs is LoCon; on 1x1 convs (proj_in) it stays LoRA', async () => {
    const conv3 = await probeSpec('locon.safetensors', {
      tensors: kohyaLora(KOHYA_SD1_TO_K, 768, {
        'lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight': { dtype: 'F16', shape: [4, 320, 3, 3] },
      }),
    });
    expect(conv3.kind).toBe('locon');
    expect(conv3.evidence).toContain('lora_down on 3x3 conv layers (LoCon)');

    const conv1 = await probeSpec('proj-in.safetensors', {
      tensors: kohyaLora(KOHYA_SD1_TO_K, 768, {
        'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': { dtype: 'F16', shape: [4, 320, 1, 1] },
      }),
    });
    expect(conv1.kind).toBe('lora');
  });

  test('LyCORIS LoHa keys (hada_w1_a...) are LoHa; hada_w1_b in-features give the base', async () => {
    const r = await probeSpec('loha.safetensors', {
      metadata: { ss_network_module: 'lycoris.kohya', ss_network_args: '{"algo": "loha", "conv_dim": "4"}', ss_base_model_version: 'sd_v1' },
      tensors: {
        [`${KOHYA_SD1_TO_K}.hada_w1_a`]: { dtype: 'F16', shape: [320, 4] },
        [`${KOHYA_SD1_TO_K}.hada_w1_b`]: { dtype: 'F16', shape: [4, 768] },
        [`${KOHYA_SD1_TO_K}.hada_w2_a`]: { dtype: 'F16', shape: [320, 4] },
        [`${KOHYA_SD1_TO_K}.hada_w2_b`]: { dtype: 'F16', shape: [4, 768] },
        [`${KOHYA_SD1_TO_K}.alpha`]: tiny,
      },
    });
    expect([r.kind, r.baseModel]).toEqual(['loha', 'sd1']);
    expect(r.evidence).toEqual(
      expect.arrayContaining(['tensor *.hada_w1_a keys (LyCORIS LoHa)', 'ss_network_args algo=loha', 'ss_base_model_version=sd_v1']),
    );
    expect(r.conflicts).toBeUndefined();
  });

  test('LyCORIS LoKr keys are LoKr, and metadata claiming LoHa is reported as a conflict', async () => {
    const r = await probeSpec('lokr.safetensors', {
      metadata: { ss_network_module: 'lycoris.kohya', ss_network_args: '{"algo": "loha"}' },
      tensors: { [`${KOHYA_SD1_TO_K}.lokr_w1`]: tiny, [`${KOHYA_SD1_TO_K}.lokr_w2_a`]: tiny, [`${KOHYA_SD1_TO_K}.lokr_w2_b`]: tiny },
    });
    expect(r.kind).toBe('lokr');
    expect(r.conflicts).toEqual([expect.stringContaining('metadata says loha')]);
  });
});

describe('embeddings, VAEs, checkpoints', () => {
  test('textual inversion emb_params [n, 768] is an SD 1.x embedding', async () => {
    const r = await probeSpec('easynegative.safetensors', { tensors: { emb_params: { dtype: 'F32', shape: [8, 768] } } });
    expect([r.kind, r.baseModel]).toEqual(['embedding', 'sd1']);
    expect(r.evidence).toContain('embedding vector width 768');
  });

  test('SDXL embedding with clip_l and clip_g is an SDXL embedding', async () => {
    const r = await probeSpec('xl-emb.safetensors', {
      tensors: { clip_g: { dtype: 'F16', shape: [4, 1280] }, clip_l: { dtype: 'F16', shape: [4, 768] } },
    });
    expect([r.kind, r.baseModel]).toEqual(['embedding', 'sdxl']);
    expect(r.evidence).toContain('tensor clip_g (SDXL embedding)');
  });

  test('VAE: only encoder.*/decoder.* tensors; 4 latent channels noted, base left unknown', async () => {
    const r = await probeSpec('some-vae.safetensors', {
      tensors: {
        'encoder.conv_in.weight': { dtype: 'F16', shape: [128, 3, 3, 3] },
        'decoder.conv_in.weight': { dtype: 'F16', shape: [512, 4, 3, 3] },
        'quant_conv.weight': { dtype: 'F16', shape: [8, 8, 1, 1] },
        'post_quant_conv.weight': { dtype: 'F16', shape: [4, 4, 1, 1] },
      },
    });
    expect([r.kind, r.baseModel]).toEqual(['vae', 'unknown']);
    expect(r.evidence).toEqual(
      expect.arrayContaining(['only encoder.* / decoder.* tensors (VAE)', expect.stringContaining('4 latent channels')]),
    );
  });

  test('SD 1.x checkpoint: input_blocks.2.1 attn2.to_k [320, 768]', async () => {
    const r = await probeSpec('sd15.safetensors', {
      tensors: {
        'model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight': { dtype: 'F16', shape: [320, 768] },
        'first_stage_model.decoder.conv_in.weight': { dtype: 'F16', shape: [512, 4, 3, 3] },
        'cond_stage_model.transformer.text_model.final_layer_norm.weight': { dtype: 'F16', shape: [768] },
      },
    });
    expect([r.kind, r.baseModel]).toEqual(['checkpoint', 'sd1']);
    expect(r.evidence).toEqual(
      expect.arrayContaining(['tensor model.diffusion_model.* keys with first_stage_model.*, cond_stage_model.*', 'to_k last dim 768']),
    );
  });

  test('SDXL checkpoint: input_blocks.4.1 attn2.to_k [640, 2048]; conflicting ss_base_model_version is noted', async () => {
    const r = await probeSpec('sdxl.safetensors', {
      metadata: { ss_base_model_version: 'sd_v1' },
      tensors: {
        'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight': { dtype: 'F16', shape: [640, 2048] },
        'conditioner.embedders.1.model.ln_final.weight': { dtype: 'F16', shape: [1280] },
      },
    });
    expect([r.kind, r.baseModel]).toEqual(['checkpoint', 'sdxl']);
    expect(r.evidence).toContain('to_k last dim 2048');
    expect(r.conflicts).toEqual(['metadata says SD 1.x (ss_base_model_version=sd_v1), tensors say SDXL; using tensors']);
  });

  test('Flux transformer by double_blocks keys (BFL layout)', async () => {
    const r = await probeSpec('flux1-dev.safetensors', {
      tensors: { 'double_blocks.0.img_attn.qkv.weight': tiny, 'single_blocks.0.linear1.weight': tiny, 'img_in.weight': tiny },
    });
    expect([r.kind, r.baseModel]).toEqual(['checkpoint', 'flux']);
    expect(r.evidence).toContain('tensor double_blocks keys');
  });

  test('kohya Flux LoRA whose metadata says SD 1.5: tensors win and the conflict is reported', async () => {
    const r = await probeSpec('flux-lora.safetensors', {
      metadata: { ss_base_model_version: 'sd_1.5' },
      tensors: { 'lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight': tiny, 'lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight': tiny },
    });
    expect([r.kind, r.baseModel]).toEqual(['lora', 'flux']);
    expect(r.conflicts).toEqual([expect.stringMatching(/metadata says SD 1\.x .*tensors say Flux; using tensors/)]);
  });

  test('SD3 by joint_blocks keys', async () => {
    const r = await probeSpec('sd3.safetensors', { tensors: { 'model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight': tiny } });
    expect([r.kind, r.baseModel]).toEqual(['checkpoint', 'sd3']);
  });

  test('ControlNet (control_model.* keys) gets its base from its cross-attention width', async () => {
    const r = await probeSpec('cn.safetensors', {
      tensors: {
        'control_model.input_hint_block.0.weight': tiny,
        'control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight': { dtype: 'F16', shape: [320, 768] },
      },
    });
    expect([r.kind, r.baseModel]).toEqual(['controlnet', 'sd1']);
  });

  test('a caller hint sets the kind only when the file says nothing', async () => {
    const file = join(dir, 'opaque.safetensors');
    await writeSafetensors(file, { tensors: { 'weird.tensor': tiny } });
    const hinted = await probeFile(file, { kindHint: 'lora' });
    expect(hinted.kind).toBe('lora');
    expect(hinted.evidence).toContain('kind hint from caller: lora');

    const emb = join(dir, 'hinted-emb.safetensors');
    await writeSafetensors(emb, { tensors: { emb_params: { dtype: 'F32', shape: [1, 768] } } });
    expect((await probeFile(emb, { kindHint: 'lora' })).kind).toBe('embedding');
  });

  test('tensors saying nothing: the file name is a guess and says so', async () => {
    const r = await probeSpec('mystery_sdxl_vae.safetensors', { tensors: { 'weird.tensor': tiny } });
    expect([r.kind, r.baseModel]).toEqual(['vae', 'sdxl']);
    expect(r.evidence.every((e) => e.includes('guess by name'))).toBe(true);
  });
});

describe('Pony / Illustrious / NoobAI', () => {
  const sdxlLora = kohyaLora(KOHYA_SDXL_TO_K, 2048);

  test('ss_sd_model_name naming Pony turns an SDXL LoRA into Pony', async () => {
    const r = await probeSpec('char.safetensors', {
      metadata: { ss_base_model_version: 'sdxl_base_v1-0', ss_sd_model_name: 'ponyDiffusionV6XL_v6StartWithThisOne.safetensors' },
      tensors: sdxlLora,
    });
    expect(r.baseModel).toBe('pony');
    expect(r.evidence).toContain('ss_sd_model_name=ponyDiffusionV6XL_v6StartWithThisOne.safetensors');
  });

  test('modelspec.title naming Illustrious turns an SDXL checkpoint into Illustrious', async () => {
    const r = await probeSpec('ckpt.safetensors', {
      metadata: { 'modelspec.title': 'Illustrious-XL v1.0', 'modelspec.architecture': 'stable-diffusion-xl-v1-base' },
      tensors: { 'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight': { dtype: 'F16', shape: [640, 2048] } },
    });
    expect([r.kind, r.baseModel]).toEqual(['checkpoint', 'illustrious']);
  });

  test('ss_base_model_version naming NoobAI is taken as NoobAI (an SDXL family member, so no conflict)', async () => {
    const r = await probeSpec('noob.safetensors', { metadata: { ss_base_model_version: 'noobai_v-pred' }, tensors: sdxlLora });
    expect(r.baseModel).toBe('noobai');
    expect(r.conflicts).toBeUndefined();
  });

  test('"ponytail" in a name is not Pony', async () => {
    const r = await probeSpec('ponytail_style.safetensors', { metadata: { ss_output_name: 'ponytail_style' }, tensors: sdxlLora });
    expect(r.baseModel).toBe('sdxl');
  });

  test('a Pony name on an SD 1.x LoRA is a conflict, and SD 1.x is kept', async () => {
    const r = await probeSpec('sd1-pony.safetensors', {
      metadata: { ss_sd_model_name: 'ponyDiffusionV6XL.safetensors' },
      tensors: kohyaLora(KOHYA_SD1_TO_K, 768),
    });
    expect(r.baseModel).toBe('sd1');
    expect(r.conflicts).toEqual([expect.stringContaining('suggests Pony')]);
  });
});

describe('embedded AutoV3', () => {
  test('sshs_model_hash is reported upper-case, full and short', async () => {
    const r = await probeSpec('hashed.safetensors', { metadata: { sshs_model_hash: SOME_SHA256 }, tensors: { x: tiny } });
    expect(r.embeddedAutoV3).toEqual({ full: SOME_SHA256.toUpperCase(), short: 'A1B2C3D4E5F6', source: 'sshs_model_hash' });
  });

  test('modelspec.hash_sha256 with a 0x prefix is used when sshs_model_hash is absent', async () => {
    const r = await probeSpec('ms.safetensors', { metadata: { 'modelspec.hash_sha256': `0x${SOME_SHA256}` }, tensors: { x: tiny } });
    expect(r.embeddedAutoV3).toEqual({ full: SOME_SHA256.toUpperCase(), short: 'A1B2C3D4E5F6', source: 'modelspec.hash_sha256' });
  });

  test('the empty-input hash and non-64-hex values are ignored', async () => {
    const empty = await probeSpec('empty-hash.safetensors', { metadata: { sshs_model_hash: EMPTY_SHA256 }, tensors: { x: tiny } });
    expect(empty.embeddedAutoV3).toBeUndefined();
    const short = await probeSpec('short-hash.safetensors', { metadata: { sshs_model_hash: 'a1b2c3d4', 'modelspec.hash_sha256': 'zz' + SOME_SHA256.slice(2) }, tensors: { x: tiny } });
    expect(short.embeddedAutoV3).toBeUndefined();
  });

  test('an empty sshs_model_hash falls through to a valid modelspec.hash_sha256', async () => {
    const r = await probeSpec('fallthrough.safetensors', {
      metadata: { sshs_model_hash: EMPTY_SHA256.toUpperCase(), 'modelspec.hash_sha256': SOME_SHA256 },
      tensors: { x: tiny },
    });
    expect(r.embeddedAutoV3?.source).toBe('modelspec.hash_sha256');
  });
});

describe('pickles are never opened', () => {
  // A classic malicious pickle: unpickling it would run `os.system`.
  const EVIL = "cos\nsystem\n(S'touch modeldeck-pwned'\ntR.";

  test('a .ckpt holding a malicious pickle is probed by name and size only, without open()', async () => {
    const file = join(dir, 'model.ckpt');
    await writeFile(file, EVIL);
    const safetensors = join(dir, 'control.safetensors');
    await writeSafetensors(safetensors, { tensors: { x: tiny } });
    const open = jest.spyOn(realFs, 'open');
    const readFile = jest.spyOn(realFs, 'readFile');

    const r = await probeFile(file);
    expect(open).not.toHaveBeenCalled();
    expect(readFile).not.toHaveBeenCalled();
    // The spy does see opens: probing a safetensors file goes through it.
    await probeFile(safetensors);
    // (with O_RDONLY|O_NONBLOCK flags: a FIFO under a model name must not block the open)
    expect(open).toHaveBeenCalledWith(safetensors, expect.any(Number));
    expect(r).toMatchObject({ format: 'pickle', kind: 'unknown', baseModel: 'unknown', size: EVIL.length });
    expect(r.evidence[0]).toBe('pickle (.ckpt extension): not opened, guessed by name and size');
    expect(r.metadata).toBeUndefined();
  });

  test.each([
    ['easynegative.pt', 2_000, 'embedding', 'unknown', 'likely a textual-inversion embedding (guess by size)'],
    ['sdxl_vae.ckpt', 2_000, 'vae', 'sdxl', 'name contains "vae" (guess by name)'],
    ['4x_UltraSharp.pth', 2_000, 'upscaler', 'unknown', 'name contains "esrgan/upscale/x4" (guess by name)'],
    ['control_v11p_sd15_canny.pth', 2_000, 'controlnet', 'sd1', 'name contains "controlnet/control_" (guess by name)'],
  ])('%s (%i bytes) is guessed as %s / %s', async (name, size, kind, base, evidence) => {
    const r = await probeBytes(name, Buffer.alloc(size));
    expect([r.format, r.kind, r.baseModel]).toEqual(['pickle', kind, base]);
    expect(r.evidence.some((e) => e.includes(evidence))).toBe(true);
  });

  test('a file with an unknown extension and pickle bytes is a pickle (its bytes sniffed, never unpickled)', async () => {
    const r = await probeBytes('weights.model', Buffer.concat([Buffer.from([0x80, 0x04]), Buffer.from(EVIL)]));
    expect(r.format).toBe('pickle');
    expect(r.evidence[0]).toContain('pickle opcode found in its first bytes');
  });
});

describe('GGUF', () => {
  function gguf(kv: Record<string, GgufTestValue>, tensors: { name: string; dims: number[] }[] = []): Buffer {
    return buildGguf({ kv, tensors });
  }

  test('a Flux GGUF: header fields, metadata, and tensor names give kind and base', async () => {
    const r = await probeBytes(
      'flux1-dev-Q4_0.gguf',
      gguf(
        {
          'general.architecture': { type: 'string', value: 'flux' },
          'general.quantization_version': { type: 'uint32', value: 2 },
          'general.file_type': { type: 'uint64', value: 2n },
          'test.small': { type: 'array-uint32', value: [1, 2, 3] },
          'tokenizer.ggml.tokens': { type: 'array-string', value: Array.from({ length: 100 }, (_, i) => `tok${i}`) },
        },
        [{ name: 'double_blocks.0.img_attn.qkv.weight', dims: [3072, 9216] }],
      ),
    );
    expect(r).toMatchObject({ format: 'gguf', kind: 'checkpoint', baseModel: 'flux', tensorCount: 1 });
    expect(r.gguf).toEqual({
      version: 3,
      tensorCount: 1,
      kvCount: 5,
      truncated: false,
      metadata: {
        'general.architecture': 'flux',
        'general.quantization_version': 2,
        'general.file_type': 2,
        'test.small': [1, 2, 3],
        'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', length: 100 },
      },
    });
    expect(r.evidence).toEqual(expect.arrayContaining(['tensor double_blocks keys', 'general.architecture=flux']));
  });

  test('a language-model GGUF (T5 encoder) is kind unknown and says why', async () => {
    const r = await probeBytes('t5-v1_1-xxl-encoder-Q8_0.gguf', gguf({ 'general.architecture': { type: 'string', value: 't5encoder' } }));
    expect([r.kind, r.baseModel]).toEqual(['unknown', 'unknown']);
    expect(r.evidence).toContain('general.architecture=t5encoder (a language or text-encoder model)');
  });

  test('more keys than the cap: reading stops, the result says truncated', async () => {
    const kv: Record<string, GgufTestValue> = {};
    for (let i = 0; i < GGUF_LIMITS.maxKeys + 10; i++) kv[`k.${i}`] = { type: 'uint32', value: i };
    const r = await probeBytes('many.gguf', gguf(kv));
    expect(r.gguf?.truncated).toBe(true);
    expect(Object.keys(r.gguf!.metadata)).toHaveLength(GGUF_LIMITS.maxKeys);
    expect(r.gguf?.kvCount).toBe(GGUF_LIMITS.maxKeys + 10);
  });

  test('a long string value is cut, not read whole', async () => {
    const r = await probeBytes('long.gguf', gguf({ 'general.name': { type: 'string', value: 'x'.repeat(100_000) } }));
    expect(r.gguf?.metadata['general.name']).toBe(`${'x'.repeat(GGUF_LIMITS.maxStringChars)}…`);
  });

  const header = (version: number, tensors: bigint, kvs: bigint) =>
    Buffer.concat([Buffer.from('GGUF'), ggufBytes.u32(version), ggufBytes.u64(tensors), ggufBytes.u64(kvs)]);

  test.each([
    ['bad magic', Buffer.from('GGUX\x03\x00\x00\x00'), /does not start with "GGUF"/],
    ['too short', Buffer.from('GG'), /too short/],
    ['unsupported version', header(7, 0n, 0n), /unsupported version 7/],
    ['truncated after the version', Buffer.concat([Buffer.from('GGUF'), ggufBytes.u32(3), Buffer.alloc(3)]), /truncated/],
    ['a key/value count that cannot fit', header(3, 0n, 1n << 62n), /key\/value count \d+ does not fit/],
    ['a tensor count that cannot fit', header(3, 1n << 40n, 0n), /tensor count \d+ does not fit/],
    [
      'a string length past the end',
      Buffer.concat([header(3, 0n, 1n), ggufBytes.u64(1n << 50n), Buffer.from('key')]),
      /key length \d+ does not fit/,
    ],
    [
      'an unknown value type',
      Buffer.concat([header(3, 0n, 1n), ggufString('general.name'), ggufBytes.u32(99), Buffer.alloc(16)]),
      /unknown value type 99/,
    ],
    [
      'an array longer than the file',
      Buffer.concat([header(3, 0n, 1n), ggufString('a'), ggufBytes.u32(9), ggufBytes.u32(4), ggufBytes.u64(1n << 60n)]),
      /array length \d+ does not fit/,
    ],
    ['garbage after the magic', Buffer.concat([Buffer.from('GGUF'), Buffer.from('\xff\xff\xff\xff', 'latin1'), Buffer.alloc(64, 0xff)]), /unsupported version/],
  ])('malformed GGUF (%s) is a MalformedFileError', async (name, bytes, message) => {
    const file = join(dir, `bad-${name.replace(/\W+/g, '-')}.gguf`);
    await writeFile(file, bytes);
    const err = await probeFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedFileError);
    expect((err as MalformedFileError).code).toBe('malformed_file');
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(`${file}: not a valid GGUF file`)).toBe(true);
  });
});

describe('malformed safetensors and unreadable files', () => {
  const validJson = '{"__metadata__":{"a":"b"}}';

  test.each([
    ['header length larger than the file', rawSafetensors(1000n, validJson), /header length 1000 is larger than/],
    ['header length over 100 MB', rawSafetensors(200_000_000n, validJson), /exceeds the 100 MB limit/],
    ['invalid JSON', rawSafetensors(BigInt(Buffer.byteLength('{"a": nope}')), '{"a": nope}'), /invalid safetensors header JSON/],
    ['header not starting with {', rawSafetensors(4n, '[1] '), /does not start with "\{"/],
    ['shorter than the length prefix', Buffer.from([1, 2, 3]), /too short for the 8-byte header length/],
    [
      'truncated tensor data',
      rawSafetensors(BigInt(Buffer.byteLength('{"t":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}')), '{"t":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}'),
      /past the 0 tensor bytes \(truncated file\?\)/,
    ],
  ])('%s is a MalformedFileError naming the file', async (name, bytes, message) => {
    const file = join(dir, `bad-${name.replace(/\W+/g, '-')}.safetensors`);
    await writeFile(file, bytes);
    const err = await probeFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedFileError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
  });

  test('a missing file is a FileAccessError "no such file"', async () => {
    const file = join(dir, 'missing.safetensors');
    await expect(probeFile(file)).rejects.toThrow(new FileAccessError(file, 'no such file'));
  });

  test('a directory is a FileAccessError, even when named like a model', async () => {
    const sub = join(dir, 'folder.safetensors');
    await mkdir(sub);
    const err = await probeFile(sub).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileAccessError);
    expect((err as Error).message).toBe(`${sub}: is a directory, not a file`);
  });

  test('a safetensors file with an unknown extension is recognised by its first bytes', async () => {
    const file = join(dir, 'renamed.weights');
    await writeSafetensors(file, { tensors: { emb_params: { dtype: 'F32', shape: [2, 768] } } });
    const r = await probeFile(file);
    expect([r.format, r.kind, r.baseModel]).toEqual(['safetensors', 'embedding', 'sd1']);
  });
});
