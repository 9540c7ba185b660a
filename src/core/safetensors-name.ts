/** Whether a file's name promises a safetensors layout. Loads nothing: the hash CLI's start-up path uses it. */

/** Extensions that promise a safetensors layout (`.sft` is ComfyUI's short form). */
export const SAFETENSORS_EXTENSIONS = ['.safetensors', '.sft'];

export function hasSafetensorsExtension(file: string): boolean {
  const lower = file.toLowerCase();
  return SAFETENSORS_EXTENSIONS.some((ext) => lower.endsWith(ext));
}
