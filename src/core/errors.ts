/**
 * Errors that the engine reports about one file or one request.
 *
 * Every error carries a stable `code` (for JSON output and the widget) and a
 * one-line message that names the file and the reason, so a CLI can print
 * `message` as is and go on with the next file.
 */
export class ModeldeckError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A file that cannot be opened or read (missing, a directory, no permission, I/O error). */
export class FileAccessError extends ModeldeckError {
  constructor(readonly file: string, reason: string, options?: { cause?: unknown }) {
    super('file_access', `${file}: ${reason}`, options);
  }
}

/** A file whose contents do not follow its format (a bad safetensors or GGUF header). */
export class MalformedFileError extends ModeldeckError {
  constructor(readonly file: string, reason: string) {
    super('malformed_file', `${file}: ${reason}`);
  }
}

/** Work stopped through an AbortSignal. */
export class CancelledError extends ModeldeckError {
  constructor(what: string) {
    super('cancelled', `${what}: cancelled`);
  }
}

/** Turns a Node fs error into a one-line reason a user understands. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EIO':
      return 'I/O error while reading (a network mount may have dropped)';
    case 'ENOTCONN':
    case 'ESTALE':
      return 'the mount holding this file is not connected';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
