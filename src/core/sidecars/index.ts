/**
 * Sidecars and previews: reading what other tools left beside a model file,
 * and writing `.civitai.info`, A1111's `.json` and `.preview.png` the way
 * they expect (docs: ../../../docs/architecture.md, "Sidecars").
 */
export { readPeerSidecars, findPreview, peerSidecarPaths, SOURCE_PRIORITY, PREVIEW_EXTENSIONS, type PeerSidecars, type ReadPeersOptions } from './read-peers';
export { A1111Cache, loadA1111Cache, findA1111CacheFor, type A1111FileHashes } from './a1111-cache';
export { writeCivitaiInfo, addParentToCivitaiInfo, civitaiInfoBody, withoutToken, type WriteCivitaiInfoOptions, type SidecarWriteResult } from './write-civitai-info';
export {
  mergeA1111Json,
  a1111FieldsFromVersion,
  activationText,
  sdVersionOf,
  type A1111Fields,
  type MergeA1111Options,
  type SdVersion,
} from './write-a1111-json';
export {
  choosePreview,
  sizedImageUrl,
  sniffImageType,
  existingPreview,
  previewTargetName,
  downloadPreview,
  downloadPreviews,
  PreviewError,
  NSFW_LEVELS,
  DEFAULT_MAX_NSFW_LEVEL,
  DEFAULT_PREVIEW_MAX_BYTES,
  PREVIEW_WIDTH,
  type ImageType,
  type DownloadPreviewOptions,
  type DownloadPreviewsOptions,
  type PreviewJob,
  type PreviewResult,
} from './previews';
export {
  checkedTarget,
  writeFileAtomic,
  sanitizeFileName,
  unsafeNameReason,
  sidecarBase,
  UnsafePathError,
  SidecarWriteError,
  MAX_NAME_BYTES,
} from './paths';
export { normaliseHashValue } from './hash-values';
export { htmlToText, decodeEntities } from './html-text';
export { MAX_SIDECAR_BYTES } from './json-file';
