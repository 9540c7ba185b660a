/** Probing model files from their headers: kind, base model, embedded AutoV3. */
export { probeFile, probeOpenFile } from './probe-file';
export { readGgufHeaderFrom, isGgufMagic, GGUF_LIMITS, type GgufHeader } from './gguf';
export { readEmbeddedAutoV3, normalizeSha256 } from './autov3';
export { inferKind, kindFromTensors, kindFromMetadata } from './infer-kind';
export { inferBase, baseFromTensors, baseFromMetadata, baseFromVersionString, baseFromArchitecture } from './infer-base';
export { PICKLE_EXTENSIONS } from './pickle';
export * from './types';
