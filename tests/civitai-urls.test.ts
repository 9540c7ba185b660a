// What users paste, read into ids: the cases of reference §8.2 and §8.3, plus hashes.
import { InvalidReference, parseAir, parseCivitaiUrl, parseReference } from '../src/core/civitai';

describe('parseCivitaiUrl (reference §8.2 table)', () => {
  const cases: Array<[string, { modelId?: number; versionId?: number; imageId?: number } | null]> = [
    ['https://civitai.com/models/58390', { modelId: 58390 }],
    ['https://civitai.com/models/58390/detail-tweaker-lora-lora?modelVersionId=62833', { modelId: 58390, versionId: 62833 }],
    ['https://www.civitai.com/models/58390?modelVersionId=62833#x', { modelId: 58390, versionId: 62833 }],
    ['https://civitai.red/models/1580878/slug/', { modelId: 1580878 }],
    ['https://civitai.com/model-versions/62833', { versionId: 62833 }],
    ['https://civitai.com/api/download/models/105674?type=Model&format=PickleTensor&size=full&fp=fp16', { versionId: 105674 }],
    ['https://api.civitai.com/api/v1/models/4201', { modelId: 4201 }],
    ['https://civitai.green/api/v1/model-versions/1318', { versionId: 1318 }],
    ['https://civitai.com/images/123456', { imageId: 123456 }],
    ['https://civitai.com/models/abc', null],
    ['https://example.com/models/1', null],
    ['https://civitai.com/api/v1/models-versions/by-hash/ABC', null],
    // Beyond the table: other hosts, no scheme, a download URL carrying a token, a version query that is not a number.
    ['https://civitai.blue/models/7808/easynegative?modelVersionId=9208', { modelId: 7808, versionId: 9208 }],
    ['civitai.com/models/4201/realistic-vision', { modelId: 4201 }],
    ['https://civitai.com/api/download/models/62833?token=SECRET', { versionId: 62833 }],
    ['https://civitai.com/models/58390?modelVersionId=abc', { modelId: 58390 }],
    ['https://civitai.com.evil.example/models/1', null],
    ['ftp://civitai.com/models/1', null],
  ];
  test.each(cases)('%s', (input, expected) => {
    const got = parseCivitaiUrl(input);
    if (expected === null) {
      expect(got).toBeNull();
    } else {
      expect(got).toEqual({
        modelId: expected.modelId ?? null,
        versionId: expected.versionId ?? null,
        imageId: expected.imageId ?? null,
        hash: null,
      });
    }
  });

  test('a by-hash API URL yields its hash, upper-cased', () => {
    expect(parseCivitaiUrl('https://civitai.com/api/v1/model-versions/by-hash/21437ec266')?.hash).toBe('21437EC266');
  });
});

describe('parseAir (reference §8.3, strict column)', () => {
  const cases: Array<[string, ReturnType<typeof parseAir>]> = [
    ['urn:air:sd1:lora:civitai:12345@67890', { ecosystem: 'sd1', type: 'lora', modelId: 12345, versionId: 67890, fileId: null, format: null }],
    ['urn:air:sdxl:checkpoint:civitai:827184@2514310+2402203', { ecosystem: 'sdxl', type: 'checkpoint', modelId: 827184, versionId: 2514310, fileId: 2402203, format: null }],
    ['urn:air:sd1:lora:civitai:12345@67890.safetensors', { ecosystem: 'sd1', type: 'lora', modelId: 12345, versionId: 67890, fileId: null, format: 'safetensors' }],
    ['urn:air:sd1:lora:civitai:12345.safetensors', { ecosystem: 'sd1', type: 'lora', modelId: 12345, versionId: null, fileId: null, format: 'safetensors' }],
    ['civitai:12345@678', null],
    ['urn:air:sdxl:checkpoint:civitai:827184@2514310+2402203.safetensor', { ecosystem: 'sdxl', type: 'checkpoint', modelId: 827184, versionId: 2514310, fileId: 2402203, format: 'safetensor' }],
    ['urn:air:other:other:civitai-r2:civitai-worker-assets@sam_vit_b_01ec64.pth', null],
    // Prefixes are optional; case does not matter; real ecosystems with dashes.
    ['air:sdxl:lora:civitai:122359@135867', { ecosystem: 'sdxl', type: 'lora', modelId: 122359, versionId: 135867, fileId: null, format: null }],
    ['sdxl:checkpoint:civitai:827184@2514310', { ecosystem: 'sdxl', type: 'checkpoint', modelId: 827184, versionId: 2514310, fileId: null, format: null }],
    ['URN:AIR:FLUX1:LORA:CIVITAI:706978@1050496', { ecosystem: 'flux1', type: 'lora', modelId: 706978, versionId: 1050496, fileId: null, format: null }],
    ['urn:air:wanvideo-22-ti2v-5b:lora:civitai:1@2', { ecosystem: 'wanvideo-22-ti2v-5b', type: 'lora', modelId: 1, versionId: 2, fileId: null, format: null }],
    ['urn:air:sdxl:lora:huggingface:foo@bar', null],
  ];
  test.each(cases)('%s', (input, expected) => {
    expect(parseAir(input)).toEqual(expected);
  });
});

describe('parseReference', () => {
  test('hashes of every stored length, any case, are hashes (upper-cased)', () => {
    for (const h of ['88828ae7', '21437ec266', '7aae878cb805', '21437EC26670E230B067CA936F6657CAF5CA063F15AEC333EF249BEC7C0F0DC0']) {
      expect(parseReference(h)).toEqual({ kind: 'hash', hash: h.toUpperCase() });
    }
  });

  test('URLs and AIRs become model/version references', () => {
    expect(parseReference('https://civitai.com/models/58390/x?modelVersionId=62833')).toEqual({ kind: 'model', modelId: 58390, versionId: 62833 });
    expect(parseReference('https://civitai.com/models/58390')).toEqual({ kind: 'model', modelId: 58390, versionId: null });
    expect(parseReference('https://civitai.com/api/download/models/62833')).toEqual({ kind: 'version', versionId: 62833, modelId: null });
    expect(parseReference('urn:air:sd1:lora:civitai:58390@62833')).toEqual({ kind: 'model', modelId: 58390, versionId: 62833 });
    expect(parseReference('https://civitai.com/images/5')).toEqual({ kind: 'image', imageId: 5 });
  });

  test.each(['hello', 'https://example.com/models/1', '12345', 'civitai:12345@678', 'ABCDEFG1', ''])('"%s" is an InvalidReference naming the accepted forms', (input) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidReference);
    const message = (caught as Error).message;
    expect(message).toContain('civitai.com/models/');
    expect(message).toContain('urn:air:');
    expect(message).toContain('SHA256');
    expect(message).not.toContain('\n');
  });
});
