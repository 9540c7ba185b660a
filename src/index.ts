/**
 * modeldeck's API for notebooks and scripts.
 *
 *   import { show } from "modeldeck";
 *   const panel = show("/content/drive/MyDrive/models");
 *
 * The CLI lives in bin/modeldeck.js; the widget's browser code in dist/.
 */
export { show, isColab, type Panel, type ShowOptions } from './kernel';
export type { PanelState, PanelSettings, ModelCard } from './kernel';
export {
  Library,
  getManager,
  findRootOf,
  filterModels,
  statusesOf,
  displayName,
  MODEL_STATUSES,
  SORT_KEYS,
  type LibraryOptions,
  type LibraryModel,
  type LibraryWatchOptions,
  type LibraryWatcher,
  type ModelFilter,
  type ModelStatus,
  type SortKey,
  type ExportDocument,
  type ImportReport,
  type ScanOptions,
  type ScanProgress,
  type ScanReport,
  type ScanWarning,
  type ScanPhase,
  type ModelEntry,
  type CivitaiLink,
  type CivitaiState,
  type HashSource,
  type ManualOverrides,
} from './core/library';
export { hashFile, HashEngine, HASH_NAMES, type HashName, type FileHashes, type HashFileOptions, type HashFileResult } from './core/hash';
export { probeFile, MODEL_KINDS, BASE_MODELS, type ModelKind, type BaseModel, type ProbeResult } from './core/probe';
export { ModeldeckError } from './core/errors';
export type { CivitaiOptions } from './core/civitai';
export { version } from './version';
