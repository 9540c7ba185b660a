/** Civitai: a client that survives the real API (see docs/architecture.md). */
export { CivitaiClient, BULK_BY_HASH_MAX, BULK_IDS_MAX, MODELS_IDS_MAX, type CallOptions } from './client';
export { resolveConfig, withToken, defaultCacheDir, DEFAULT_BASE_URL, DEFAULT_FALLBACK_BASE_URLS, type CivitaiOptions, type CivitaiConfig } from './config';
export { CivitaiError, NotFound, Unauthorized, RateLimited, Unavailable, BadResponse, Offline, InvalidReference } from './errors';
export { backoffDelay, parseRetryAfter } from './backoff';
export { AdaptiveLimiter, type LimiterOptions } from './limiter';
export { ResponseCache, DEFAULT_MODEL_TTL_MS, type CachedAnswer, type CachedModel } from './cache';
export {
  parseModelVersion,
  parseModelVersionList,
  parseModel,
  parseModelPage,
  parseImagePage,
  parseHashMatches,
  nsfwLevelOf,
  nsfwFlag,
  commercialUses,
  normaliseHashes,
  type ModelVersion,
  type Model,
  type ModelPage,
  type VersionFile,
  type PreviewImage,
  type HashMatch,
  type ParseContext,
} from './parse';
export { fetchModelsById, type ModelsByIdOptions, type ModelsByIdResult } from './models-by-id';
export { resolveFiles, type ResolveInput, type ResolveResult, type ResolveOptions } from './resolve';
export { parseReference, parseCivitaiUrl, parseAir, isHash, ACCEPTED_FORMS, type CivitaiRef, type UrlIds, type AirIds } from './urls';
