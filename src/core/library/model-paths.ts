/**
 * Which names inside a library root are model files, and which folders are
 * not looked into. The scanner (scan-tree.ts) and the watcher (watch/) both
 * use these, so a file the watcher reports is exactly a file a scan finds.
 */

/**
 * The union of what A1111/Forge, ComfyUI, Stability Matrix and qDiffusion load
 * (reference §7, §8, §10). `.bin` and `.pt` also hold embeddings and upscalers;
 * probing decides what such a file is.
 */
export const MODEL_EXTENSIONS: readonly string[] = ['.safetensors', '.sft', '.ckpt', '.pt', '.pth', '.bin', '.gguf'];

/** True when a file name ends in a model extension, in any case (`X.SafeTensors` on a Windows-made share). */
export function isModelFileName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  // A bare `.safetensors` is a hidden file with no name, not a model.
  if (dot <= 0) return false;
  return MODEL_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/**
 * Hidden entries (`.git`, `.ipynb_checkpoints`, `.Trash-0`, and modeldeck's own
 * `.modeldeck/` index folder) are never part of the library.
 */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

/**
 * Folders the scanner does not enter: hidden ones, and `_`-prefixed ones,
 * which qDiffusion hides from its model lists (reference §10), so users park
 * unused models there. A `_`-prefixed *file* is still a model: A1111 and
 * ComfyUI list it, and hiding it would surprise their users.
 */
export function isSkippedDirName(name: string): boolean {
  return isHiddenName(name) || name.startsWith('_');
}

/** A file inside a root is a library file when it is not hidden and has a model extension. */
export function isLibraryFileName(name: string): boolean {
  return !isHiddenName(name) && isModelFileName(name);
}

/**
 * True when a path inside a root (`/` or platform separators, relative to the
 * root) is a model file the library tracks: no skipped folder on the way, a
 * visible file name with a model extension.
 */
export function isLibraryFilePath(relativePath: string): boolean {
  const parts = splitPath(relativePath);
  if (parts.length === 0) return false;
  const name = parts[parts.length - 1];
  return parts.slice(0, -1).every((dir) => !isSkippedDirName(dir)) && isLibraryFileName(name);
}

/**
 * True when a path inside a root lies in, or is, a folder the scanner skips.
 * The watcher uses it to not even watch such folders (cheaper on Drive, where
 * every watched folder costs polling).
 */
export function isInSkippedDir(relativePath: string, lastIsDir: boolean): boolean {
  const parts = splitPath(relativePath);
  const dirs = lastIsDir ? parts : parts.slice(0, -1);
  return dirs.some(isSkippedDirName);
}

/**
 * Path segments. On POSIX a backslash is an ordinary character in a file name,
 * so only Windows splits on it; that keeps scanner and watcher in agreement.
 */
const SEPARATORS = process.platform === 'win32' ? /[\\/]+/ : /\/+/;
export function splitPath(path: string): string[] {
  return path.split(SEPARATORS).filter((p) => p !== '' && p !== '.');
}
