/** Downloads: `modeldeck get` (see get.ts and docs/architecture.md "Downloads"). */
export { getOne, DEFAULT_CONNECTIONS, MAX_CONNECTIONS, type GetOptions, type GetResult, type OnConflict } from './get';
export { parseSource, parseFileSelector, type DownloadSource, type FileSelector } from './source';
export { safeFileName, nameFromContentDisposition } from './file-name';
export { detectLayout, folderFor, type RootLayout } from './destination';
export { DownloadError } from './errors';
export type { TransferProgress } from './transfer';
