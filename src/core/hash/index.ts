import { HashEngine, type HashFileOptions, type HashFileResult } from './hash-engine';

export { HashEngine, BLOCK_SIZE, type HashEngineOptions, type HashFileOptions, type HashFileResult } from './hash-engine';
export { ResumableFile, type IoRetryOptions } from '../io/resumable-file';
export { HASH_NAMES, DEFAULT_HASHES, parseHashList, type HashName, type FileHashes } from './names';

let shared: HashEngine | undefined;

/**
 * Hashes one file with a process-wide engine (its idle workers do not keep the
 * process alive). Use a HashEngine of your own to control its lifetime.
 */
export function hashFile(file: string, options?: HashFileOptions): Promise<HashFileResult> {
  shared ??= new HashEngine();
  return shared.hashFile(file, options);
}
