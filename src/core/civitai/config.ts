/**
 * Where the client talks to and how patiently: options win over the
 * environment, the environment over defaults.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { version } from '../../version';
import { defineHidden } from '../hidden-field';

export const DEFAULT_BASE_URL = 'https://civitai.com';
/** Since the 2026 domain split some mature models answer only on civitai.red (reference §1). */
export const DEFAULT_FALLBACK_BASE_URLS = ['https://civitai.red'];

export interface CivitaiOptions {
  /** Site origin; the API lives under `/api/v1`. Env `CIVITAI_BASE_URL`. */
  baseUrl?: string;
  /**
   * Hosts to ask after a JSON 404 on `baseUrl`. Env `CIVITAI_FALLBACK_BASE_URLS`
   * (comma-separated, empty for none). Default: civitai.red when the base is the
   * default civitai.com, none for any other base (a test server, a mirror).
   */
  fallbackBaseUrls?: string[];
  /** API key, sent only as `Authorization: Bearer`. Env `CIVITAI_TOKEN`. */
  token?: string;
  /** One attempt's limit, headers and body together. Default 30 s. */
  timeoutMs?: number;
  /** Attempts per request, the first included. Default 5. */
  maxAttempts?: number;
  /** First retry delay; doubles each retry (with jitter). Default 1 s, as Civitai advises. */
  baseDelayMs?: number;
  /** Cap on one retry delay. Default 30 s, as Civitai advises. */
  maxDelayMs?: number;
  /** Longest Retry-After we wait out; a longer one fails at once with RateLimited. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Response cache directory. Env `MODELDECK_CACHE_DIR` (+ `/civitai`), else the user cache dir. */
  cacheDir?: string;
  /** How long a "not found" stays cached. Default 6 h (Civitai's edge caches 404s for 1 h). */
  negativeTtlMs?: number;
  /** How long a found version stays cached. Default 7 days. */
  positiveTtlMs?: number;
  /** How long a model fetched by id stays cached (its versions change more often). Default 1 day. */
  modelTtlMs?: number;
}

export type CivitaiConfig = Required<Omit<CivitaiOptions, 'token'>> & { token?: string; userAgent: string };

export function resolveConfig(options: CivitaiOptions = {}, env: NodeJS.ProcessEnv = process.env): CivitaiConfig {
  const baseUrl = normaliseBase(options.baseUrl ?? nonEmpty(env.CIVITAI_BASE_URL) ?? DEFAULT_BASE_URL);
  let fallbacks = options.fallbackBaseUrls;
  if (!fallbacks && env.CIVITAI_FALLBACK_BASE_URLS !== undefined) {
    fallbacks = env.CIVITAI_FALLBACK_BASE_URLS.split(',').map((s) => s.trim()).filter(Boolean);
  }
  fallbacks ??= baseUrl === DEFAULT_BASE_URL ? DEFAULT_FALLBACK_BASE_URLS : [];
  const config = {
    baseUrl,
    fallbackBaseUrls: fallbacks.map(normaliseBase).filter((u) => u !== baseUrl),
    timeoutMs: options.timeoutMs ?? 30_000,
    maxAttempts: Math.max(1, options.maxAttempts ?? 5),
    baseDelayMs: options.baseDelayMs ?? 1_000,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
    cacheDir: options.cacheDir ?? defaultCacheDir(env),
    negativeTtlMs: options.negativeTtlMs ?? 6 * 3600_000,
    positiveTtlMs: options.positiveTtlMs ?? 7 * 24 * 3600_000,
    modelTtlMs: options.modelTtlMs ?? 24 * 3600_000,
    // Not browser-like on purpose: Civitai answers non-browser clients with JSON errors (reference §4.6).
    userAgent: `modeldeck/${version}`,
  };
  return withToken(config, options.token ?? nonEmpty(env.CIVITAI_TOKEN));
}

/**
 * A config carrying `token` as a hidden field (see hidden-field.ts), so that
 * printing a client or a library never shows it. Spreading a config drops the
 * token: derive a config with `withToken({ ...config, ... }, config.token)`.
 */
export function withToken(config: Omit<CivitaiConfig, 'token'>, token: string | undefined): CivitaiConfig {
  return defineHidden({ ...config }, 'token', token);
}

/** `$MODELDECK_CACHE_DIR/civitai`, else `$XDG_CACHE_HOME/modeldeck/civitai`, else `~/.cache/modeldeck/civitai`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = nonEmpty(env.MODELDECK_CACHE_DIR);
  if (own) return join(own, 'civitai');
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  return join(xdg ?? join(homedir(), '.cache'), 'modeldeck', 'civitai');
}

/** An origin without trailing slash or path, so URLs are built one way everywhere. */
function normaliseBase(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: "${url}" (expected e.g. https://civitai.com)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`not an http(s) URL: "${url}"`);
  return `${parsed.protocol}//${parsed.host}`;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s && s.trim() ? s.trim() : undefined;
}
