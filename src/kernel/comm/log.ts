/**
 * Where the comm layer reports what it drops or what failed.
 *
 * Not `console.error`: while a cell runs, tslab points `process.stderr.write`
 * at that cell's output, and afterwards at the last cell's. A malformed
 * message from the wire is the kernel's business, not the notebook user's, so
 * these lines go straight to file descriptor 2, which Jupyter keeps in the
 * kernel's log (the terminal that runs `jupyter lab`, or the server log).
 */
import { writeSync } from 'node:fs';

export type CommLogger = (line: string) => void;

const toStderr: CommLogger = (line) => {
  try {
    writeSync(2, `[modeldeck comm] ${line}\n`);
  } catch {
    // stderr closed: nowhere left to report to.
  }
};

let current: CommLogger = toStderr;

export function logComm(line: string): void {
  current(line);
}

/** Replaces the logger (tests, or a host that keeps its own log); `null` restores stderr. */
export function setCommLogger(logger: CommLogger | null): void {
  current = logger ?? toStderr;
}

/** A short description of a thrown value, with the stack when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
