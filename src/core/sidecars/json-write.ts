/**
 * JSON text as the Python tools write it (`json.dumps(obj, indent=4)`):
 * four-space indent and non-ASCII escaped as `\uXXXX` (Python's default
 * `ensure_ascii`). ASCII-only files read the same whatever encoding a reader
 * opens them with (Python's `open()` without `encoding=` on Windows is not UTF-8).
 */
export function pythonStyleJson(value: unknown): string {
  return JSON.stringify(value, null, 4).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
