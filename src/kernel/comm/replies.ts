/**
 * Protocol fixes for tslab 1.0.22's replies, patched on its
 * `JupyterHandlerImpl` prototype at start, like the comm patch (and checked
 * by the same self-test):
 *
 * - `kernel_info_reply` gets `status: "ok"` (JupyterLab reads it);
 * - a failing cell's `execute_reply` gets `ename`, `evalue` and `traceback`,
 *   and the failure is published as an `error` output instead of stderr
 *   text, so front ends show it as an error and "Run all" stops there;
 * - after a failure tslab aborted every cell that arrived in the next 200 ms
 *   (it resets its queue on a timer), so whether a cell sent right after an
 *   error ran depended on timing. Now the requests already queued behind
 *   the failure are aborted and the queue is reset at once, as ipykernel
 *   does with its default `stop_on_error_timeout` of 0.
 */
import { inspect } from 'node:util';
import { ExecutorOutput, reportText } from './executor-output';

const PATCHED = Symbol.for('modeldeck.kernel.replies.patched');
const RESET_AT_ONCE = Symbol.for('modeldeck.kernel.replies.reset-at-once');

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Where the error output goes: the running cell's iopub. */
export interface ErrorSink {
  publishCellError(content: ErrorContent): void;
}

type Method = (this: unknown, ...args: any[]) => any;

/**
 * What the executor reported, as Jupyter's error fields. It reports a thrown
 * value as one `console.error(value)`, and TypeScript diagnostics as one
 * formatted line each.
 */
export function errorContent(reports: unknown[][]): ErrorContent {
  if (reports.length === 1 && reports[0].length === 1) {
    const value = reports[0][0];
    if (value instanceof Error || (typeof value === 'object' && value !== null && 'message' in value && 'name' in value)) {
      const e = value as Error;
      return { ename: String(e.name || 'Error'), evalue: String(e.message), traceback: inspect(e).split('\n') };
    }
    return { ename: 'Error', evalue: `Uncaught ${inspect(value)}`, traceback: [`Uncaught ${inspect(value)}`] };
  }
  const lines = reportText(reports).split('\n').filter((l) => l !== '');
  if (lines.length === 0) return { ename: 'Error', evalue: 'the cell failed', traceback: [] };
  // tslab's diagnostic lines are "<line>:<column> - <message>".
  return { ename: 'TypeScriptError', evalue: lines[0].replace(/^(?:\S+ )?\d+:\d+ - /, ''), traceback: lines };
}

/** Makes the handler's queue reset at once when tslab asks for a delayed reset (after a failure). */
function resetAtOnce(handler: unknown): void {
  const queue = (handler as { execQueue?: { reset?: (delay?: number) => void } & Record<symbol, unknown> } | null)?.execQueue;
  if (!queue || typeof queue.reset !== 'function' || queue[RESET_AT_ONCE]) return;
  const reset = queue.reset.bind(queue);
  // By the time tslab asks, the requests it had read are chained behind the failure and abort; later ones run.
  queue.reset = () => reset();
  Object.defineProperty(queue, RESET_AT_ONCE, { value: true });
}

/** Patches once per class; false when it was already patched. */
export function patchReplies(Handler: { prototype: Record<string | symbol, unknown> }, output: ExecutorOutput, sink: ErrorSink): boolean {
  const proto = Handler.prototype;
  if (proto[PATCHED]) return false;
  const handleKernel = proto.handleKernel as Method;
  const handleExecute = proto.handleExecute as Method;
  const handleExecuteImpl = proto.handleExecuteImpl as Method;
  /** The error of each failed request, from the body that ran it to the reply. */
  const failures = new WeakMap<object, ErrorContent>();

  proto.handleKernel = function patchedHandleKernel(this: unknown) {
    return { status: 'ok', ...handleKernel.call(this) };
  };
  // The body tslab queues: it runs one cell at a time, so what the executor reports belongs to this request.
  proto.handleExecuteImpl = async function patchedHandleExecuteImpl(this: unknown, req: object, ...rest: unknown[]) {
    const outcome = await output.collect(() => handleExecuteImpl.call(this, req, ...rest));
    if ('result' in outcome) {
      // Success with reports (a module cell's diagnostics): print them as tslab did.
      if (outcome.reports.length) process.stderr.write(reportText(outcome.reports));
      return outcome.result;
    }
    failures.set(req, errorContent(outcome.reports));
    throw outcome.error;
  };
  proto.handleExecute = async function patchedHandleExecute(this: unknown, req: object, ...rest: unknown[]) {
    resetAtOnce(this);
    const content = await handleExecute.call(this, req, ...rest);
    const failure = failures.get(req);
    if (content?.status !== 'error') return content;
    const error = failure ?? { ename: 'Error', evalue: 'the cell failed', traceback: [] };
    sink.publishCellError(error);
    return { ...content, ...error };
  };
  Object.defineProperty(proto, PATCHED, { value: true });
  return true;
}
