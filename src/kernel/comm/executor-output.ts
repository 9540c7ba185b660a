/**
 * What tslab's executor says on the console, told apart from what cells say.
 *
 * tslab 1.0.22's executor (`dist/executor.js`) reports a failing cell with
 * `console.error` (its TypeScript diagnostics, or the thrown value), and
 * prints a cell's last value with `console.log`: in the notebook both are
 * plain stream text. To turn the failure into a Jupyter `error` and to keep a
 * displayed widget from also printing as text, the console methods are
 * wrapped once; a call is the executor's when its caller is that file. Calls
 * from anywhere else (cells, libraries) pass through untouched.
 */
import { format } from 'node:util';

/** Marks a value whose display is already in the cell: the executor does not print it as the cell's result. */
export const QUIET_RESULT = Symbol.for('modeldeck.kernel.quiet-result');

const INSTALLED = Symbol.for('modeldeck.kernel.executor-output');

type ConsoleMethod = (...args: unknown[]) => void;

/** The file of the function that called `fn` (V8's structured stack, one frame). */
function callerFile(fn: ConsoleMethod): string | null {
  const { prepareStackTrace, stackTraceLimit } = Error;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_err, frames) => frames;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, fn);
    return holder.stack?.[0]?.getFileName() ?? null;
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}

export class ExecutorOutput {
  /** The `console.error` argument lists of the executing cell, while one executes. */
  private current: unknown[][] | null = null;

  constructor(private readonly executorFile: string) {}

  /** Wraps `console.error` and `console.log`; a second install in the process is a no-op. */
  install(target: Console = console): void {
    const slot = target as unknown as Record<symbol, unknown>;
    if (slot[INSTALLED]) return;
    const error = target.error.bind(target);
    const log = target.log.bind(target);
    const wrappedError: ConsoleMethod = (...args) => {
      if (this.current && callerFile(wrappedError) === this.executorFile) this.current.push(args);
      else error(...args);
    };
    const wrappedLog: ConsoleMethod = (...args) => {
      const quiet = args.length === 1 && typeof args[0] === 'object' && args[0] !== null && (args[0] as Record<symbol, unknown>)[QUIET_RESULT] === true;
      if (quiet && callerFile(wrappedLog) === this.executorFile) return;
      log(...args);
    };
    target.error = wrappedError;
    target.log = wrappedLog;
    Object.defineProperty(slot, INSTALLED, { value: true });
  }

  /** Runs one cell's execution, collecting what the executor reports with `console.error`. */
  async collect<T>(run: () => Promise<T>): Promise<{ result: T; reports: unknown[][] } | { error: unknown; reports: unknown[][] }> {
    const reports: unknown[][] = [];
    // tslab runs one cell at a time (its TaskQueue), so one collector at a time.
    this.current = reports;
    try {
      return { result: await run(), reports };
    } catch (error) {
      return { error, reports };
    } finally {
      if (this.current === reports) this.current = null;
    }
  }
}

/** The reports as the executor would have printed them. */
export function reportText(reports: unknown[][]): string {
  return reports.map((args) => format(...args) + '\n').join('');
}
