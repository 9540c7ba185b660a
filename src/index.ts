/**
 * modeldeck's API for notebooks and scripts.
 *
 *   import { show } from "modeldeck";
 *   const panel = show("/content/drive/MyDrive/models");
 *
 * The CLI lives in bin/modeldeck.js; the widget's browser code in dist/.
 */
import { installComms, isTslabKernel } from './kernel/comm';

// Imported into a tslab kernel, modeldeck turns on comm support at once, so that
// widgets work from the next cell even in a plain tslab kernel (which is told,
// once, that the `modeldeck` kernel is the supported route). Outside a kernel
// (scripts, the CLI) importing has no side effect.
if (isTslabKernel()) installComms();

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
