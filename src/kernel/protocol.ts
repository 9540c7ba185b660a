/**
 * The messages between the kernel and the models panel widget.
 *
 * Plain types and a few constants, with no imports: the kernel (Node) and the
 * widget (browser bundle, `src/widget`) both import this file, so the two
 * sides can never disagree about a field.
 *
 * Transport: Jupyter widget protocol 2.1.0 over one comm per panel.
 * - State (`PanelState`) travels in `comm_open` and in `update` messages.
 * - Everything else travels as `custom` messages: the widget sends a
 *   `PanelRequest`, the kernel answers with a `ReplyMessage` carrying the same
 *   `requestId`; cards arrive in `WindowMessage`s (see `WindowRequest`) and
 *   previews as `PreviewMessage`s with the image bytes in `buffers[0]`.
 */

/** Widget protocol version sent as `comm_open` metadata. */
export const WIDGET_PROTOCOL_VERSION = '2.1.0';
/** The comm target every widget model opens. */
export const WIDGET_COMM_TARGET = 'jupyter.widget';
/** The MIME type of a widget view in a display bundle. */
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

export const MODEL_NAME = 'ModelsPanelModel';
export const VIEW_NAME = 'ModelsPanelView';
/** The npm package that holds the widget module (`dist/index.js`, the labextension). */
export const MODULE_NAME = 'modeldeck';

/**
 * Version of the custom messages below (`PanelState.protocol`). Bumped when a
 * message changes shape, so a widget can tell an incompatible kernel.
 * 2: the page asks for windows (`window`); the kernel no longer sends every card.
 */
export const PANEL_PROTOCOL = 2;

/** Largest number of ids in one `previews` request. */
export const MAX_PREVIEW_IDS = 500;

// ---------------------------------------------------------------------------
// Values shared with the engine (kept equal to src/core by a compile-time check)

export type ModelKind =
  | 'checkpoint'
  | 'lora'
  | 'locon'
  | 'loha'
  | 'lokr'
  | 'lycoris'
  | 'embedding'
  | 'vae'
  | 'controlnet'
  | 'upscaler'
  | 'unknown';

export type BaseModel = 'sd1' | 'sd2' | 'sdxl' | 'sd3' | 'flux' | 'pony' | 'illustrious' | 'noobai' | 'unknown';

export type HashName = 'SHA256' | 'AutoV1' | 'AutoV2' | 'AutoV3' | 'BLAKE3' | 'CRC32';

/** Where a hash came from: `computed` (read from the file), another tool's sidecar or cache, the header, or the user. */
export type HashSource = 'computed' | 'header' | 'a1111-cache' | 'civitai-info' | 'a1111-json' | 'lm-metadata' | 'sm-cm-info' | 'manual';

/** A model can have several: a manual link is also `identified`, a file with a warning also `error`. */
export type ModelStatus = 'identified' | 'not_found' | 'unverified' | 'manual' | 'error' | 'pending';

export type ScanPhase = 'walk' | 'examine' | 'hash' | 'lookup' | 'sidecars' | 'done';

// ---------------------------------------------------------------------------
// Widget state (comm_open `data.state`, `update`/`echo_update` `data.state`)

/** User settings the widget may change with an `update` of `settings` (the only key it may write). */
export interface PanelSettings {
  /** Highest Civitai NSFW level shown unblurred and downloaded as a preview: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX. */
  nsfwLevel: 1 | 2 | 4 | 8 | 16;
  /** Download previews during scans. */
  previews: boolean;
  /** Scans hash and probe only, without asking Civitai. */
  offline: boolean;
}

/** A running (or just finished) scan. */
export interface PanelProgress {
  /** True while the scan runs; the last progress of a finished scan stays until the next one. */
  running: boolean;
  phase: ScanPhase;
  filesFound: number;
  filesToHash: number;
  filesHashed: number;
  bytesToHash: number;
  bytesHashed: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  lookups: number;
  previews: number;
  /** Root-relative path of the file being hashed. */
  currentFile: string | null;
  startedAt: number;
  /** Set when the scan was cancelled. */
  cancelled: boolean;
}

export interface PanelError {
  /** Increasing; a `dismiss` request names errors by id. */
  id: number;
  code: string;
  message: string;
  at: number;
  /** The request that failed, when an error is about one. */
  requestId?: string | number;
}

export interface ScanSummary {
  at: number;
  elapsedMs: number;
  files: number;
  added: number;
  changed: number;
  moved: number;
  removed: number;
  hashed: number;
  bytesHashed: number;
  identified: number;
  notOnCivitai: number;
  pendingLookup: number;
  previewsWritten: number;
  warnings: number;
  cancelled: boolean;
}

export interface LibrarySummary {
  /** False until the library's indexes are loaded. */
  ready: boolean;
  /**
   * True while the library is still loading but the counts, and the first
   * window of the query the last panel showed, come from what that panel kept
   * (first-window.ts): the page may ask for that window now. Gone once `ready`.
   */
  preview?: boolean;
  models: number;
  bytes: number;
  byStatus: Partial<Record<ModelStatus, number>>;
  byKind: Partial<Record<ModelKind, number>>;
  /** Whether the kernel can reach Civitai at all (false: opened without Civitai). */
  civitai: boolean;
  /** Whether a Civitai API token is configured. The token itself never leaves the kernel. */
  tokenSet: boolean;
  lastScan: ScanSummary | null;
}

export interface PanelState {
  _model_name: typeof MODEL_NAME;
  _model_module: typeof MODULE_NAME;
  /** A semver range the package version satisfies: `^<major>.<minor>.0`. */
  _model_module_version: string;
  _view_name: typeof VIEW_NAME;
  _view_module: typeof MODULE_NAME;
  _view_module_version: string;
  _view_count: null;
  _dom_classes: string[];
  tabbable: null;
  tooltip: null;
  /** `PANEL_PROTOCOL` of the kernel. */
  protocol: number;
  /** Absolute library folders; a card's `root` indexes this list. */
  roots: string[];
  /** The current or last scan; null before the first. */
  progress: PanelProgress | null;
  /** Most recent last; at most 50 are kept. */
  errors: PanelError[];
  summary: LibrarySummary;
  settings: PanelSettings;
  /** The library's downloads, oldest first (see "Downloads" below). */
  downloads: DownloadItem[];
}

export type PanelStateKey = keyof PanelState;

// ---------------------------------------------------------------------------
// Models

/** What a card shows. `id` is stable while the file stays where it is. */
export interface ModelCard {
  /** `<root index>:<path relative to that root>`. Opaque to the widget: send it back as is. */
  id: string;
  root: number;
  /** `/`-separated, relative to the root. */
  path: string;
  /** The file name. */
  file: string;
  /** Civitai model and version name when identified, else the file name without extension. */
  name: string;
  kind: ModelKind;
  baseModel: BaseModel;
  /** The kind the folder implies, when it is a known layout folder. */
  folderKind: ModelKind | null;
  size: number;
  addedAt: number;
  mtimeMs: number;
  status: ModelStatus[];
  /** SHA256 was computed from this file's bytes. */
  verified: boolean;
  hashes: Partial<Record<HashName, string>>;
  hashSources: Partial<Record<HashName, HashSource>>;
  civitai: CardCivitai;
  trainedWords: string[];
  /** The manual link the user made, when there is one. */
  manualLink: { input: string; modelId: number | null; versionId: number } | null;
  /**
   * Name of the preview file beside the model (ask for its bytes with a
   * `previews` request), or null when there is none. A new value means a new
   * image: drop what was cached for this id.
   */
  preview: string | null;
  warnings: string[];
  conflicts: string[];
}

export interface CardCivitai {
  state: 'unknown' | 'found' | 'not_found';
  modelId: number | null;
  versionId: number | null;
  modelName: string | null;
  versionName: string | null;
  /** Civitai's type: `LORA`, `Checkpoint`, ... */
  type: string | null;
  /** Civitai's base-model label: `SD 1.5`, `SDXL 1.0`, `Pony`, ... */
  baseModel: string | null;
  nsfwLevel: number | null;
  pageUrl: string | null;
  matchedBy: HashName | 'manual' | null;
  checkedAt: number | null;
  lastError: { code: string; message: string; at: number } | null;
}

/** Everything about one model, for the details view (`details` request). */
export interface ModelDetails {
  card: ModelCard;
  /** How kind and base model were inferred. */
  evidence: string[];
  fingerprint: string;
  /** From the `.civitai.info` beside the model, when there is one. */
  info: CivitaiInfoSummary | null;
  /** Where a file `get` fetched from HuggingFace came from (absent for other files). */
  huggingFace?: HuggingFaceOriginInfo;
}

/** The index entry's HuggingFace origin, as `modeldeck info` shows it. */
export interface HuggingFaceOriginInfo {
  repo: string;
  revision: string;
  path: string;
  commit?: string;
  license?: string;
  baseModels?: string[];
}

export interface CivitaiInfoSummary {
  modelName: string | null;
  versionName: string | null;
  type: string | null;
  baseModel: string | null;
  /** HTML written by strangers: sanitise before rendering. */
  description: string | null;
  trainedWords: string[];
  nsfwLevel: number | null;
  stats: { downloadCount: number | null; thumbsUpCount: number | null };
  images: { url: string; nsfwLevel: number | null; width: number | null; height: number | null; type: string | null }[];
  files: { name: string; sizeKB: number | null; type: string | null; primary: boolean }[];
  createdAt: string | null;
  publishedAt: string | null;
}

// ---------------------------------------------------------------------------
// Custom messages, kernel -> widget

/**
 * One preview. `mime` set: the image bytes are `buffers[0]`. `mime` null: no
 * preview can be sent for this id, and `error` says why.
 */
export interface PreviewMessage {
  type: 'preview';
  id: string;
  /** The card's `preview` value these bytes belong to. */
  preview: string | null;
  mime: string | null;
  size: number;
  error?: string;
}

export interface ReplyError {
  /** Stable: `bad_request`, `unknown_request`, `not_found`, `busy`, `offline`, `bad_link`, `bad_hash`, `bad_export`, ... */
  code: string;
  message: string;
}

/** The answer to one request; `requestId` is the request's own (null when it had none). */
export type ReplyMessage =
  | { type: 'reply'; requestId: string | number | null; request: string | null; ok: true; result?: unknown }
  | { type: 'reply'; requestId: string | number | null; request: string | null; ok: false; error: ReplyError };

// ---------------------------------------------------------------------------
// Queries and windows (protocol 2): the kernel searches, filters and sorts;
// the page asks for the slice it shows.

/** What a card in the grid shows. The rest of `ModelCard` comes with `details`. */
export interface GridCard {
  id: string;
  root: number;
  path: string;
  file: string;
  name: string;
  kind: ModelKind;
  baseModel: BaseModel;
  size: number;
  addedAt: number;
  status: ModelStatus[];
  trainedWords: string[];
  preview: string | null;
  /** What the card shows of Civitai: titles, the base-model label, the blur level and the page link. */
  civitai: Pick<CardCivitai, 'state' | 'modelName' | 'versionName' | 'baseModel' | 'nsfwLevel' | 'pageUrl'>;
}

export type QuerySort = 'name' | 'added' | 'size' | 'base' | 'update';
export type QueryStatus = ModelStatus | 'update' | 'any';

/** Search, filters and sort of the grid. Every search word must match a name, file name, path, trained word or tag. */
export interface GridQuery {
  search: string;
  kind: ModelKind | 'any';
  base: BaseModel | 'any';
  status: QueryStatus;
  sort: QuerySort;
  desc: boolean;
}

/** Counts per value for the filter menus; each menu counts the models matching the search and the other filters. */
export interface QueryFacets {
  kinds: Partial<Record<ModelKind, number>>;
  bases: Partial<Record<BaseModel, number>>;
  statuses: Partial<Record<ModelStatus | 'update', number>>;
}

/** Largest `limit` of one `window` request. */
export const MAX_WINDOW = 500;

/**
 * Asks for cards `offset` .. `offset + limit` of a query's result. The last
 * window asked for is the page's view: changes inside it come as `window`
 * messages. Result: `WindowResult`.
 */
export interface WindowRequest extends RequestBase {
  type: 'window';
  query: GridQuery;
  offset: number;
  limit: number;
  /** Increasing per page: echoed so that the page drops an answer older than the one it shows. */
  seq: number;
}

export interface WindowResult {
  /** The query and `seq` this answers. */
  query: GridQuery;
  seq: number;
  offset: number;
  /** The window's cards, in the query's order (fewer than `limit` at the end). */
  cards: GridCard[];
  /** Models matching the query. */
  total: number;
  /** Models in the library. */
  library: number;
  facets: QueryFacets;
}

/**
 * A change to the page's view during a scan or after a request: new counts,
 * and the view's window again as ids, with the cards among them that changed
 * since they were sent. `seq` is the view's request's.
 */
export interface WindowMessage {
  type: 'window';
  seq: number;
  query: GridQuery;
  offset: number;
  /** Every id of the window, in order. */
  ids: string[];
  /** Cards of `ids` the page has not been sent as they are now. */
  upsert: GridCard[];
  total: number;
  library: number;
  facets: QueryFacets;
}

export type KernelMessage = PreviewMessage | ReplyMessage | WindowMessage | CleanupProgressMessage;

// ---------------------------------------------------------------------------
// Custom messages, widget -> kernel (each with a `requestId` the reply repeats)

export interface RequestBase {
  /** A string (at most 128 characters) or a number of the widget's choice. */
  requestId: string | number;
}

/** Result: `ScanResult`, once the scan ends (progress arrives in state meanwhile). */
export interface ScanRequest extends RequestBase {
  type: 'scan';
  /** Overrides `settings.offline` for this scan. */
  offline?: boolean;
  /** Ask Civitai again even where its answer is cached ("identify again"). */
  refresh?: boolean;
  /** Re-hash every file. */
  verify?: boolean;
}
/** Result: `{ cancelled: boolean }` (false when no scan ran). */
export interface CancelRequest extends RequestBase {
  type: 'cancel';
}
/** Asks Civitai about one model again. Result: the new `ModelCard`. */
export interface RefreshRequest extends RequestBase {
  type: 'refresh';
  id: string;
}
/** Links a model to a Civitai URL, AIR or version id. Result: the new `ModelCard`. */
export interface LinkRequest extends RequestBase {
  type: 'link';
  id: string;
  ref: string;
}
/** Sets one hash by hand. Result: the new `ModelCard`. */
export interface SetHashRequest extends RequestBase {
  type: 'set-hash';
  id: string;
  name: HashName;
  value: string;
}
/** Result: the export document (JSON) of one root (index; may be left out with one root). */
export interface ExportRequest extends RequestBase {
  type: 'export';
  root?: number;
}
/**
 * Applies an export document: `doc` as JSON, or the file's bytes (UTF-8 JSON)
 * in `buffers[0]`. Result: `{ models, matched, unmatched }`.
 */
export interface ImportRequest extends RequestBase {
  type: 'import';
  doc?: unknown;
  root?: number;
}
/**
 * Previews for these cards (the visible ones). Each comes as a `preview`
 * message; then the reply, with result `{ sent, missing }`.
 */
export interface PreviewsRequest extends RequestBase {
  type: 'previews';
  ids: string[];
}
/** Result: `ModelDetails`. */
export interface DetailsRequest extends RequestBase {
  type: 'details';
  id: string;
}
/** Removes errors from `errors` state (all of them without `ids`). Result: `{ removed }`. */
export interface DismissRequest extends RequestBase {
  type: 'dismiss';
  ids?: number[];
}

/** Newer versions of the identified models (asked in bulk, cached a day). Result: `UpdatesResult`. */
export interface UpdatesRequest extends RequestBase {
  type: 'updates';
  refresh?: boolean;
  allBases?: boolean;
  includeEarlyAccess?: boolean;
}
export interface UpdateInfo {
  modelId: number;
  modelName: string;
  current: { versionId: number; name: string; baseModel: string | null };
  latest: { versionId: number; name: string; baseModel: string | null; publishedAt: string | null; earlyAccess: boolean; size: number | null; pageUrl: string };
  newer: number;
  /** Cards of the files of the current version: where the badge goes. */
  ids: string[];
}
export interface UpdatesResult {
  checked: number;
  updates: UpdateInfo[];
  ignored: number;
  /** Models not checked because their request failed (the others are in `updates`). */
  failed: number;
}
/** Ignores the update offered for a card's model: this version (`versionId`), the whole model, or `clear`s the ignores. Result: `{ changed }`. */
export interface IgnoreUpdateRequest extends RequestBase {
  type: 'ignore-update';
  id: string;
  scope: 'version' | 'model' | 'clear';
  versionId?: number;
}
/** Result: `DuplicatesResult`. */
export interface DuplicatesRequest extends RequestBase {
  type: 'duplicates';
}
export interface DuplicatesResult {
  groups: Array<{ sha256: string; size: number; ids: string[]; differentModels: boolean }>;
  sameVersion: Array<{ modelName: string; versionName: string; ids: string[] }>;
  reclaimable: number;
}
/** Moves a card's model with its sidecars to `dest`, a path relative to root `root` (a folder ending in `/`, or a new name). Result: the moved `ModelCard`. */
export interface MoveRequest extends RequestBase {
  type: 'move';
  id: string;
  root?: number;
  dest: string;
}
/** Moves a card's model with its sidecars to its root's trash. Result: `{ trashId }`. */
export interface RemoveRequest extends RequestBase {
  type: 'remove';
  id: string;
}
/** Result: `{ items: [{ trashId, root, path, trashedAt }] }`. */
export interface TrashRequest extends RequestBase {
  type: 'trash';
}
/** Puts a trashed model back. Result: its `ModelCard`. */
export interface RestoreRequest extends RequestBase {
  type: 'restore';
  root?: number;
  trashId: string;
}

export type PanelRequest =
  | WindowRequest
  | UpdatesRequest
  | IgnoreUpdateRequest
  | DuplicatesRequest
  | MoveRequest
  | RemoveRequest
  | TrashRequest
  | RestoreRequest
  | ScanRequest
  | CancelRequest
  | RefreshRequest
  | LinkRequest
  | SetHashRequest
  | ExportRequest
  | ImportRequest
  | PreviewsRequest
  | DetailsRequest
  | DismissRequest
  | CleanDuplicatesRequest
  | CancelCleanupRequest
  | EmptyTrashRequest
  | DownloadRequest;

export type RequestType = PanelRequest['type'];

export const REQUEST_TYPES: readonly RequestType[] = [
  'scan', 'cancel', 'refresh', 'link', 'set-hash', 'export', 'import', 'previews', 'details', 'dismiss',
  'updates', 'ignore-update', 'duplicates', 'move', 'remove', 'trash', 'restore',
  'window',
  'clean-duplicates', 'cancel-cleanup', 'empty-trash',
  'download', 'download-update', 'download-cancel', 'download-retry', 'download-clear',
];

/** The result of a `scan` request. */
export interface ScanResult {
  summary: ScanSummary;
  /** The first warnings (at most 100), paths relative to their root where possible. */
  warnings: { path: string; message: string }[];
  verifyMismatches: number;
}

// ---------------------------------------------------------------------------
// Comm message envelopes (`data` of comm_msg)

export type WidgetMessageData =
  | { method: 'update'; state: Partial<PanelState>; buffer_paths: (string | number)[][] }
  | { method: 'echo_update'; state: Partial<PanelState>; buffer_paths: (string | number)[][] }
  | { method: 'request_state' }
  | { method: 'custom'; content: unknown };

/** The `_model_module_version` range for a package version: `^<major>.<minor>.0`. */
export function moduleVersionRange(version: string): string {
  const m = /^(\d+)\.(\d+)\./.exec(version);
  return m ? `^${m[1]}.${m[2]}.0` : '*';
}

// ---------------------------------------------------------------------------
// Duplicate clean-up and emptying the trash (the panel's side of `dupes --keep` and `trash --empty`)

/**
 * Which copy of each duplicate group stays. A rule (`first`, `newest`, a
 * folder `prefix` inside root `root`) is for a plan only; what is carried out
 * is always `choices`: per group the card kept and the cards that may go, as
 * the user saw and confirmed them.
 */
export type CleanupKeep =
  | { kind: 'first' }
  | { kind: 'newest' }
  | { kind: 'prefix'; root?: number; prefix: string }
  | { kind: 'choices'; groups: Array<{ sha256: string; keep: string; remove: string[] }> };

export type CleanupAction = 'trash' | 'hardlink' | 'symlink';

/**
 * Plans (`dryRun`: nothing read, nothing changed) or carries out a clean-up.
 * Carrying out needs `keep.kind: 'choices'`. While it runs, `cleanup-progress`
 * messages with this request's id; one clean-up at a time per panel (`busy`).
 * Result: `CleanDuplicatesResult`.
 */
export interface CleanDuplicatesRequest extends RequestBase {
  type: 'clean-duplicates';
  keep: CleanupKeep;
  action: CleanupAction;
  dryRun?: boolean;
}
export interface CleanDuplicatesResult {
  dryRun: boolean;
  action: CleanupAction;
  /** Per group: the card kept and the cards to go (card ids). */
  plan: Array<{ sha256: string; size: number; keep: string; remove: string[] }>;
  /** Groups or copies the rule or the choices could not place, with why; nothing changed there. */
  skipped: string[];
  done: Array<{ id: string; kept: string }>;
  /** Copies left alone, with why (changed bytes, cancelled, another file system for a hard link). */
  failed: Array<{ id: string | null; path: string; reason: string }>;
  /** Bytes the plan frees (dry run) or freed (trash: once the trash is emptied). */
  bytes: number;
  cancelled: boolean;
}
/** Sent while a clean-up reads and changes files; `requestId` is the clean-up request's. */
export interface CleanupProgressMessage {
  type: 'cleanup-progress';
  requestId: string | number;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  copiesDone: number;
  copiesTotal: number;
  /** Card id of the file being read, or null between files. */
  current: string | null;
}
/** Stops a running clean-up after the file it reads (nothing not verified is changed). Result: `{ cancelled }`. */
export interface CancelCleanupRequest extends RequestBase {
  type: 'cancel-cleanup';
}

/**
 * Empties the trash for good. `dryRun`: what would go (items, files, bytes).
 * Carrying out needs `items` (those the user was shown and confirmed);
 * `olderThanDays` keeps items trashed since. Result: `EmptyTrashResult`.
 */
export interface EmptyTrashRequest extends RequestBase {
  type: 'empty-trash';
  olderThanDays?: number;
  items?: Array<{ root: number; trashId: string }>;
  dryRun?: boolean;
}
export interface EmptyTrashResult {
  dryRun: boolean;
  items: Array<{ root: number; trashId: string; path: string | null; trashedAt: number | null; files: number; bytes: number }>;
  files: number;
  bytes: number;
  /** What was left alone (a link where a folder should be, a folder inside an item), with why. */
  problems: string[];
}

// Downloads (`modeldeck get` from the panel). The list is state (`downloads`):
// it comes back whole with `request_state` or serve's snapshot after a reload,
// and changes arrive as `update`s of that key, at most a few a second.

export type DownloadStatus = 'queued' | 'resolving' | 'downloading' | 'done' | 'exists' | 'skipped' | 'error' | 'cancelled';

/** One download of the library, as every panel on it shows it. */
export interface DownloadItem {
  /** The kernel's id (`d1`, `d2`...): name it in cancel, retry and clear. */
  downloadId: string;
  /** What was pasted (a link, an AIR, a version id); never carries a token. */
  input: string;
  /** `update`: "download update" of a card (into the folder of the version it updates). */
  origin: 'link' | 'update';
  status: DownloadStatus;
  /** The file name, once known. */
  name: string | null;
  /** Root index and root-relative destination, once known. */
  root: number | null;
  path: string | null;
  received: number;
  /** Bytes in all, when the server said. */
  total: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** One line: the error (as `modeldeck get` prints it), "already in the library: <path>", or why it was skipped. */
  message: string | null;
  /** The error's stable code (`login_required`, `hash_mismatch`, `refused_url`, `cancelled`, ...). */
  code: string | null;
  /** The model's card: the downloaded file (`done`) or the file already in the library (`exists`). */
  cardId: string | null;
  queuedAt: number;
  finishedAt: number | null;
}

/** Largest number of downloads the list keeps (the oldest finished ones go first). */
export const MAX_DOWNLOADS = 50;

/** Queues a download of anything `modeldeck get` accepts, into root `root` (left out with one root). Result: `{ downloadId }`. */
export interface DownloadStartRequest extends RequestBase {
  type: 'download';
  ref: string;
  root?: number;
}
/** Queues the update the last check found for a card's model, into the folder of that card's file. Result: `{ downloadId }`. */
export interface DownloadUpdateRequest extends RequestBase {
  type: 'download-update';
  id: string;
  versionId: number;
}
/** Stops a queued or running download; its `.part` stays for a retry, as after Ctrl-C in `get`. Result: `{ cancelled }`. */
export interface DownloadCancelRequest extends RequestBase {
  type: 'download-cancel';
  downloadId: string;
}
/** Queues a failed or cancelled download again (a `.part` is resumed). Result: `{ downloadId }`. */
export interface DownloadRetryRequest extends RequestBase {
  type: 'download-retry';
  downloadId: string;
}
/** Removes one finished download from the list, or every finished one without `downloadId`. Result: `{ removed }`. */
export interface DownloadClearRequest extends RequestBase {
  type: 'download-clear';
  downloadId?: string;
}

export type DownloadRequest = DownloadStartRequest | DownloadUpdateRequest | DownloadCancelRequest | DownloadRetryRequest | DownloadClearRequest;

export const DOWNLOAD_REQUEST_TYPES: readonly DownloadRequest['type'][] = ['download', 'download-update', 'download-cancel', 'download-retry', 'download-clear'];
// (REQUEST_TYPES above lists the same names: a constant cannot be spread before it is declared.)
