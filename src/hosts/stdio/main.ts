/**
 * The stdio host: `node lib/hosts/stdio/main.js` (or `modeldeck session
 * --stdio`), started by the Python package, one process per kernel. Frames in
 * on stdin, frames out on stdout, log lines on stderr. stdout carries frames
 * only, so anything else that would print there (console.log in a library) is
 * sent to stderr.
 *
 * It exits when stdin ends (the kernel closed the pipe, or died: the pipe's
 * other end was only in the kernel), when its parent changes (the kernel died
 * and the process was re-parented) and on a `shutdown` frame, so it never
 * outlives the kernel.
 */
import { FrameReader, encodeFrame, type Frame } from './frames';
import { StdioServer } from './server';
import { version } from '../../version';

const PARENT_CHECK_MS = 1000;

export function runStdioHost(): void {
  const log = (line: string) => process.stderr.write(`modeldeck session: ${line}\n`);
  // Nothing but frames may reach stdout.
  console.log = console.info = console.debug = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);

  let exiting = false;
  const exit = (why: string, code = 0) => {
    if (exiting) return;
    exiting = true;
    log(`exiting: ${why}`);
    try {
      server.closeAll();
    } finally {
      // Let the frames already written drain, but do not wait on a stuck pipe.
      setTimeout(() => process.exit(code), 200).unref();
      process.stdout.end(() => process.exit(code));
    }
  };

  const send = (header: Record<string, unknown>, buffers: readonly Uint8Array[] = []) => {
    if (exiting) return;
    let bytes: Buffer;
    try {
      bytes = encodeFrame(header, buffers);
    } catch (err) {
      log(`outgoing ${String(header.op)} frame dropped: ${(err as Error).message}`);
      return;
    }
    process.stdout.write(bytes);
  };

  const server = new StdioServer(send, log);
  const reader = new FrameReader({
    frame: (f: Frame) => {
      if (f.header.op === 'shutdown') exit('shutdown requested');
      else server.handle(f);
    },
    dropped: (reason) => log(`frame dropped: ${reason}`),
    broken: (reason) => exit(`input broken (${reason})`, 2),
  });

  process.stdin.on('data', (chunk: Buffer) => reader.push(chunk));
  process.stdin.on('end', () => exit('stdin closed'));
  process.stdin.on('error', () => exit('stdin error'));
  process.stdout.on('error', () => exit('stdout closed'));

  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) exit(`parent ${parent} is gone`);
  }, PARENT_CHECK_MS);
  watch.unref();

  process.on('SIGTERM', () => exit('SIGTERM'));
  process.on('SIGINT', () => undefined); // The kernel's interrupt is the kernel's, not ours.
  process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${String(err)}`));

  send({ op: 'hello', version, node: process.versions.node });
}

if (require.main === module) runStdioHost();
