/**
 * What can go wrong when talking to Civitai, as types a caller can branch on.
 *
 * Messages name the endpoint by its path only (never the query, never a header),
 * so they can be printed, logged or shown in the widget without leaking the
 * API token.
 */
import { ModeldeckError } from '../errors';

/** Base class: every Civitai failure carries the request path and, when there was one, the HTTP status. */
export class CivitaiError extends ModeldeckError {
  constructor(
    code: string,
    message: string,
    readonly path?: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, path ? `Civitai ${path}: ${message}` : `Civitai: ${message}`, options);
  }
}

/** No such model, version or hash (a JSON 404 from the API, on every host tried). */
export class NotFound extends CivitaiError {
  constructor(path: string, detail = 'not found') {
    super('civitai_not_found', detail, path, 404);
  }
}

/** 401, or a JSON 403: the token is missing, wrong, or lacks the right. */
export class Unauthorized extends CivitaiError {
  constructor(path: string, status: number, detail: string) {
    super('civitai_unauthorized', `${detail} (HTTP ${status}; set CIVITAI_TOKEN to an API key from civitai.com/user/account)`, path, status);
  }
}

/** 429 after every allowed retry, or a Retry-After longer than we are willing to wait. */
export class RateLimited extends CivitaiError {
  constructor(path: string, detail: string, readonly retryAfterMs?: number) {
    super('civitai_rate_limited', detail, path, 429);
  }
}

/** 5xx or no answer within the timeout, after every allowed retry; or a connection that kept dropping. */
export class Unavailable extends CivitaiError {
  constructor(path: string, detail: string, status?: number, options?: { cause?: unknown }) {
    super('civitai_unavailable', detail, path, status, options);
  }
}

/** An answer the client cannot use: HTML instead of JSON, invalid or truncated JSON, or JSON of the wrong shape. */
export class BadResponse extends CivitaiError {
  constructor(path: string, detail: string, status?: number) {
    super('civitai_bad_response', detail, path, status);
  }
}

/** The host cannot be reached at all (refused, no DNS, no route). */
export class Offline extends CivitaiError {
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super('civitai_offline', detail, path, undefined, options);
  }
}

/** User input that is neither a Civitai URL, an AIR, nor a hash. */
export class InvalidReference extends ModeldeckError {
  constructor(input: string, accepted: string) {
    super('invalid_reference', `cannot read "${input.length > 120 ? input.slice(0, 117) + '...' : input}" as a Civitai reference; accepted forms: ${accepted}`);
  }
}
