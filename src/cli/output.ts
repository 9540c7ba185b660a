/** Small printing helpers shared by the subcommands. */

/**
 * Prints a one-line error for one input and marks the run as failed; the caller
 * goes on. Engine errors already start with the file they are about; `file`
 * is prefixed only to messages that do not.
 */
export function reportError(err: unknown, file?: string): void {
  let message = err instanceof Error ? err.message : String(err);
  if (file !== undefined && !message.startsWith(`${file}: `)) message = `${file}: ${message}`;
  process.stderr.write(`modeldeck: ${printable(message)}\n`);
  process.exitCode = 1;
}

/**
 * Control characters (C0, DEL, C1) and the Unicode controls that reorder or
 * hide text: removed from everything the CLI prints that came from a file, a
 * sidecar or Civitai, so no escape sequence (OSC, clear-screen, cursor moves)
 * reaches the terminal and no name can disguise itself.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The one function every remote or file-derived string goes through before the CLI prints it: one line, no controls. */
export function printable(text: string): string {
  return String(text).replace(UNPRINTABLE, (c) => (c === '\n' || c === '\t' || c === '\r' ? ' ' : ''));
}

/**
 * JSON on one line. JSON.stringify escapes C0 controls but leaves C1 and the
 * reordering controls raw, which some terminals act on: they are escaped too.
 */
// eslint-disable-next-line no-control-regex
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function printJsonLine(value: unknown): void {
  process.stdout.write(jsonText(value) + '\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(2)} ${UNITS[i]}`;
}

/**
 * A progress bar on stderr for work measured in bytes, shown only on a
 * terminal, so that pipes and `!` cells in notebooks get clean output.
 */
export function byteProgress(label: string, total: number): { update(done: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  // Loaded here, not at start-up: only a terminal ever draws a bar.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done} / {size} | {speed}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  const fields = (done: number) => ({
    done: formatBytes(done),
    size: formatBytes(total),
    speed: formatBytes(Math.round(done / Math.max((Date.now() - started) / 1000, 0.001))),
  });
  bar.start(total, 0, fields(0));
  return {
    update: (done) => bar.update(done, fields(done)),
    stop: () => bar.stop(),
  };
}

/**
 * An AbortSignal that fires on Ctrl-C, so a long hash stops cleanly
 * (and the process exits 130, as shells expect).
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInt = () => {
    controller.abort();
    process.exitCode = 130;
  };
  process.once('SIGINT', onInt);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onInt) };
}
