export { Library, getManager, type LibraryOptions, type LibraryModel, type LibraryWatchOptions, type LibraryWatcher } from './library';
export { findRootOf } from './find-root';
export { filterModels, statusesOf, displayName, MODEL_STATUSES, SORT_KEYS, type ModelFilter, type ModelStatus, type SortKey } from './filter';
export { validateExport, EXPORT_FORMAT, type ExportDocument, type ImportReport } from './export';
export { INDEX_DIR } from './index-store';
export type { ScanOptions } from './scan';
export type { ScanProgress, ScanReport, ScanWarning, ScanPhase } from './progress';
export type { ModelEntry, CivitaiLink, CivitaiState, HashSource, ManualOverrides } from './types';
