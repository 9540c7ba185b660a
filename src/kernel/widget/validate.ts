/**
 * Checking what the front end sends before anything acts on it. Comm data is
 * untrusted JSON: every field is checked for type and size, unknown fields are
 * ignored, and nothing here throws.
 */
import {
  MAX_PREVIEW_IDS,
  MAX_WINDOW,
  type GridQuery,
  REQUEST_TYPES,
  type PanelRequest,
  type PanelSettings,
  type ReplyError,
  type RequestType,
} from '../protocol';
import { parseCleanupRequest } from './validate-cleanup';
import { parseDownloadRequest } from './download-validate';

export const LIMITS = {
  requestId: 128,
  id: 4096,
  ref: 2048,
  hashValue: 256,
  /** An export document, as JSON text or as bytes. */
  importBytes: 64 * 1024 * 1024,
  importModels: 1_000_000,
  dismissIds: 1000,
  search: 500,
  offset: 10_000_000,
} as const;

export const KINDS = ['checkpoint', 'lora', 'locon', 'loha', 'lokr', 'lycoris', 'embedding', 'vae', 'controlnet', 'upscaler', 'unknown'];
export const BASES = ['sd1', 'sd2', 'sdxl', 'sd3', 'flux', 'pony', 'illustrious', 'noobai', 'unknown'];
export const STATUSES = ['identified', 'not_found', 'unverified', 'manual', 'error', 'pending', 'update'];
const SORTS = ['name', 'added', 'size', 'base', 'update'];

/** A window request's query, or the reason it is not one. */
export function parseQuery(v: unknown): GridQuery | string {
  if (!isPlainObject(v)) return '"query" must be an object';
  const { search, kind, base, status, sort, desc } = v;
  if (typeof search !== 'string' || search.length > LIMITS.search) return `"query.search" must be a string of at most ${LIMITS.search} characters`;
  if (typeof kind !== 'string' || (kind !== 'any' && !KINDS.includes(kind))) return `"query.kind" must be any or one of ${KINDS.join(', ')}`;
  if (typeof base !== 'string' || (base !== 'any' && !BASES.includes(base))) return `"query.base" must be any or one of ${BASES.join(', ')}`;
  if (typeof status !== 'string' || (status !== 'any' && !STATUSES.includes(status))) return `"query.status" must be any or one of ${STATUSES.join(', ')}`;
  if (typeof sort !== 'string' || !SORTS.includes(sort)) return `"query.sort" must be one of ${SORTS.join(', ')}`;
  if (typeof desc !== 'boolean') return '"query.desc" must be true or false';
  return { search, kind, base, status, sort, desc } as GridQuery;
}

export type Incoming =
  | { kind: 'update'; state: Record<string, unknown> }
  | { kind: 'request_state' }
  | { kind: 'custom'; request: PanelRequest }
  /** `reply`: answer with an error reply (a custom message); else only record the error. */
  | { kind: 'invalid'; reply: boolean; requestId: string | number | null; request: string | null; error: ReplyError };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

const bad = (message: string): ReplyError => ({ code: 'bad_request', message });

/** Sorts a comm message's `data` into one of the kinds above. */
export function parseMessage(data: unknown): Incoming {
  if (!isPlainObject(data)) return { kind: 'invalid', reply: false, requestId: null, request: null, error: bad(`comm message data is ${describe(data)}, not an object`) };
  const method = data.method;
  if (method === 'update') {
    if (!isPlainObject(data.state)) return { kind: 'invalid', reply: false, requestId: null, request: null, error: bad('update without a state object') };
    if (data.buffer_paths !== undefined && !(Array.isArray(data.buffer_paths) && data.buffer_paths.length === 0)) {
      return { kind: 'invalid', reply: false, requestId: null, request: null, error: bad('update with binary buffers: this widget has no binary state') };
    }
    return { kind: 'update', state: data.state };
  }
  if (method === 'request_state') return { kind: 'request_state' };
  if (method === 'custom') return parseCustom(data.content);
  return { kind: 'invalid', reply: false, requestId: null, request: null, error: bad(`unknown comm method ${clip(method)}`) };
}

function parseCustom(content: unknown): Incoming {
  if (!isPlainObject(content)) return { kind: 'invalid', reply: true, requestId: null, request: null, error: bad(`custom message content is ${describe(content)}, not an object`) };
  const rid = content.requestId;
  const requestId = (typeof rid === 'string' && rid.length <= LIMITS.requestId) || (typeof rid === 'number' && Number.isFinite(rid)) ? rid : null;
  const type = content.type;
  const request = typeof type === 'string' && (REQUEST_TYPES as readonly string[]).includes(type) ? (type as RequestType) : null;
  const invalid = (error: ReplyError): Incoming => ({ kind: 'invalid', reply: true, requestId, request, error });
  if (requestId === null) return invalid(bad(rid === undefined ? 'request without a requestId' : `requestId must be a string of at most ${LIMITS.requestId} characters or a number`));
  if (request === null) return invalid({ code: 'unknown_request', message: `unknown request type ${clip(type)}` });
  const c = content;
  const fail = (field: string, want: string) => invalid(bad(`${request}: "${field}" must be ${want}`));
  const str = (field: string, max: number): string | Incoming => {
    const v = c[field];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) return fail(field, `a non-empty string of at most ${max} characters`);
    return v;
  };
  const optBool = (field: string): boolean | undefined | Incoming => {
    const v = c[field];
    if (v === undefined || typeof v === 'boolean') return v;
    return fail(field, 'true or false');
  };
  const optIndex = (field: string): number | undefined | Incoming => {
    const v = c[field];
    if (v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 1000)) return v;
    return fail(field, 'a root index (a whole number from 0)');
  };
  const isErr = (v: unknown): v is Incoming => isPlainObject(v) && (v as { kind?: unknown }).kind === 'invalid';

  switch (request) {
    case 'window': {
      const query = parseQuery(c.query);
      if (typeof query === 'string') return invalid(bad(`window: ${query}`));
      const { offset, limit, seq } = c;
      if (!(typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 && offset <= LIMITS.offset)) return fail('offset', `a whole number from 0 to ${LIMITS.offset}`);
      if (!(typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= MAX_WINDOW)) return fail('limit', `a whole number from 1 to ${MAX_WINDOW}`);
      if (!(typeof seq === 'number' && Number.isSafeInteger(seq))) return fail('seq', 'a whole number');
      return ok({ type: 'window', requestId, query, offset, limit, seq });
    }
    case 'updates': {
      const flags = ['refresh', 'allBases', 'includeEarlyAccess'].map(optBool);
      for (const v of flags) if (isErr(v)) return v;
      const [refresh, allBases, includeEarlyAccess] = flags as Array<boolean | undefined>;
      return ok({ type: 'updates', requestId, refresh, allBases, includeEarlyAccess });
    }
    case 'ignore-update': {
      const id = str('id', LIMITS.id);
      if (isErr(id)) return id;
      const scope = c.scope;
      if (scope !== 'version' && scope !== 'model' && scope !== 'clear') return fail('scope', 'one of version, model, clear');
      const versionId = c.versionId;
      if (scope === 'version' && !(typeof versionId === 'number' && Number.isSafeInteger(versionId) && versionId > 0)) return fail('versionId', 'a Civitai version id');
      return ok({ type: 'ignore-update', requestId, id: id as string, scope, ...(scope === 'version' ? { versionId: versionId as number } : {}) });
    }
    case 'duplicates':
    case 'trash':
      return ok({ type: request, requestId });
    case 'remove': {
      const id = str('id', LIMITS.id);
      if (isErr(id)) return id;
      return ok({ type: 'remove', requestId, id: id as string });
    }
    case 'move': {
      const id = str('id', LIMITS.id);
      if (isErr(id)) return id;
      const root = optIndex('root');
      if (isErr(root)) return root;
      const dest = str('dest', LIMITS.id);
      if (isErr(dest)) return dest;
      return ok({ type: 'move', requestId, id: id as string, root: root as number | undefined, dest: dest as string });
    }
    case 'restore': {
      const root = optIndex('root');
      if (isErr(root)) return root;
      const trashId = str('trashId', 200);
      if (isErr(trashId)) return trashId;
      return ok({ type: 'restore', requestId, root: root as number | undefined, trashId: trashId as string });
    }
    case 'scan': {
      const offline = optBool('offline');
      const refresh = optBool('refresh');
      const verify = optBool('verify');
      for (const v of [offline, refresh, verify]) if (isErr(v)) return v;
      return ok({ type: 'scan', requestId, offline: offline as boolean | undefined, refresh: refresh as boolean | undefined, verify: verify as boolean | undefined });
    }
    case 'cancel':
      return ok({ type: 'cancel', requestId });
    case 'refresh':
    case 'details': {
      const id = str('id', LIMITS.id);
      if (isErr(id)) return id;
      return ok({ type: request, requestId, id: id as string });
    }
    case 'link': {
      const id = str('id', LIMITS.id);
      if (isErr(id)) return id;
      const ref = str('ref', LIMITS.ref);
      if (isErr(ref)) return ref;
      return ok({ type: 'link', requestId, id: id as string, ref: (ref as string).trim() });
    }
    case 'set-hash': {
      const id = str('id', LIMITS.id);
      if (isErr(id)) return id;
      const name = c.name;
      const names = ['SHA256', 'AutoV1', 'AutoV2', 'AutoV3', 'BLAKE3', 'CRC32'] as const;
      if (typeof name !== 'string' || !(names as readonly string[]).includes(name)) return fail('name', `one of ${names.join(', ')}`);
      const value = str('value', LIMITS.hashValue);
      if (isErr(value)) return value;
      return ok({ type: 'set-hash', requestId, id: id as string, name: name as (typeof names)[number], value: value as string });
    }
    case 'export': {
      const root = optIndex('root');
      if (isErr(root)) return root;
      return ok({ type: 'export', requestId, root: root as number | undefined });
    }
    case 'import': {
      const root = optIndex('root');
      if (isErr(root)) return root;
      // The document itself is checked where it is applied (it may come as bytes in a buffer).
      return ok({ type: 'import', requestId, root: root as number | undefined, doc: c.doc });
    }
    case 'previews': {
      const ids = c.ids;
      if (!Array.isArray(ids) || ids.length > MAX_PREVIEW_IDS || !ids.every((i) => typeof i === 'string' && i.length > 0 && i.length <= LIMITS.id)) {
        return fail('ids', `a list of at most ${MAX_PREVIEW_IDS} card ids`);
      }
      return ok({ type: 'previews', requestId, ids: [...new Set(ids as string[])] });
    }
    case 'clean-duplicates':
    case 'cancel-cleanup':
    case 'empty-trash': {
      const parsed = parseCleanupRequest(request, c, requestId);
      return 'ok' in parsed ? ok(parsed.ok) : fail(parsed.field, parsed.want);
    }
    case 'download':
    case 'download-update':
    case 'download-cancel':
    case 'download-retry':
    case 'download-clear': {
      const parsed = parseDownloadRequest(request, requestId, c);
      return 'code' in parsed ? invalid(parsed) : ok(parsed);
    }
    case 'dismiss': {
      const ids = c.ids;
      if (ids === undefined) return ok({ type: 'dismiss', requestId });
      if (!Array.isArray(ids) || ids.length > LIMITS.dismissIds || !ids.every((i) => typeof i === 'number' && Number.isInteger(i))) {
        return fail('ids', 'a list of error ids');
      }
      return ok({ type: 'dismiss', requestId, ids: ids as number[] });
    }
  }
}

function ok(request: PanelRequest): Incoming {
  return { kind: 'custom', request };
}

/** Checks a whole `settings` value from the front end; unknown keys are dropped, missing ones keep `current`. */
export function parseSettings(value: unknown, current: PanelSettings): PanelSettings | ReplyError {
  if (!isPlainObject(value)) return bad(`settings must be an object, not ${describe(value)}`);
  const out: PanelSettings = { ...current };
  if (value.nsfwLevel !== undefined) {
    const n = value.nsfwLevel;
    if (n !== 1 && n !== 2 && n !== 4 && n !== 8 && n !== 16) return bad('settings.nsfwLevel must be 1, 2, 4, 8 or 16');
    out.nsfwLevel = n;
  }
  for (const k of ['previews', 'offline'] as const) {
    if (value[k] === undefined) continue;
    if (typeof value[k] !== 'boolean') return bad(`settings.${k} must be true or false`);
    out[k] = value[k] as boolean;
  }
  return out;
}

/** The export document of an import request: `doc`, or UTF-8 JSON bytes in the first buffer. */
export function importDocument(doc: unknown, buffers: readonly Uint8Array[]): { doc: unknown } | ReplyError {
  if (doc !== undefined) {
    if (!isPlainObject(doc)) return { code: 'bad_export', message: 'import: "doc" must be an export document (a JSON object)' };
    if (Array.isArray(doc.models) && doc.models.length > LIMITS.importModels) return bad(`import: more than ${LIMITS.importModels} models`);
    return { doc };
  }
  const bytes = buffers[0];
  if (!bytes) return bad('import: give the export document as "doc" or as the bytes of the file in the first buffer');
  if (bytes.byteLength > LIMITS.importBytes) return bad(`import: the document is ${bytes.byteLength} bytes; at most ${LIMITS.importBytes} are accepted`);
  try {
    return { doc: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
  } catch (err) {
    return { code: 'bad_export', message: `import: not a JSON file (${(err as Error).message.slice(0, 200)})` };
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A value from a message, short enough to quote in an error. */
export function clip(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : describe(v);
  return s.length > 60 ? s.slice(0, 57) + '..."' : s;
}
