/**
 * `modeldeck serve ROOT...`: the models panel as a web page, for pods, servers
 * and anyone outside a notebook. Prints its URL with the access token, as
 * Jupyter does; Ctrl-C stops it (a running scan is cancelled, what it finished
 * is kept).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { ModeldeckError } from '../../core/errors';
import { isLoopback } from '../../serve/guard';
import { ServeServer, type ServeLimits } from '../../serve/server';
import { printable } from '../output';

interface ServeFlags {
  port: string;
  host: string;
  token?: string | boolean;
  readOnly?: boolean;
  open?: boolean;
  allowFrame?: boolean;
  allowHost: string[];
  allowOrigin: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the models panel as a web page (prints its URL with an access token; Ctrl-C stops)')
    .argument('<roots...>', 'library folders')
    .option('--port <port>', 'port to listen on (0: any free port)', '8765')
    .option('--host <address>', 'address to listen on; 0.0.0.0 makes the page reachable from the network', '127.0.0.1')
    .option('--token <token>', 'the access token (default: MODELDECK_SERVE_TOKEN, or a new random one)')
    .option('--no-token', 'no access token (refused unless listening on a loopback address)')
    .option('--read-only', 'browsing only: scans, links, edits and settings are refused')
    .option('--no-open', 'do not open a browser')
    .option('--allow-frame', "let other sites show the page in a frame (Colab's serve_kernel_port_as_iframe)")
    .option('--allow-host <name>', 'also answer to this Host name (a reverse proxy that rewrites Host); repeatable', collect, [])
    .option('--allow-origin <origin>', 'also accept requests from this origin (https://name:port); repeatable', collect, [])
    .action(async (roots: string[], flags: ServeFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ModeldeckError('bad_port', `--port ${flags.port}: give a port number 0-65535`);
      const token = flags.token === false ? null : typeof flags.token === 'string' ? flags.token : process.env.MODELDECK_SERVE_TOKEN || randomBytes(24).toString('hex');
      if (token === null && !isLoopback(flags.host)) {
        throw new ModeldeckError('no_token', `refusing to listen on ${flags.host} without an access token: anyone who can reach this machine could change your library (drop --no-token, or listen on 127.0.0.1)`);
      }
      if (token !== null && !/^[\x21-\x7e]{8,200}$/.test(token)) throw new ModeldeckError('bad_token', 'the access token must be 8-200 printable characters without spaces');
      const server = await ServeServer.start({
        roots,
        port,
        host: flags.host,
        token,
        readOnly: Boolean(flags.readOnly),
        allowFrame: Boolean(flags.allowFrame),
        allowHosts: flags.allowHost,
        allowOrigins: flags.allowOrigin,
        civitaiToken: process.env.CIVITAI_TOKEN,
        limits: limitsFromEnv(),
      });
      server.session.ready.then(
        (lib) => {
          for (const w of lib.loadWarnings) process.stderr.write(`modeldeck: warning: ${printable(w)}\n`);
        },
        (err: Error) => process.stderr.write(`modeldeck: ${printable(err.message)}\n`),
      );
      // The handlers come before the URL is printed: whoever reads the URL may press Ctrl-C at once.
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          process.stdout.write(`\nmodeldeck serve: stopping (${signal})${server.session.isScanning ? '; cancelling the scan, its finished files are kept' : ''}\n`);
          resolve();
        };
        const onInt = () => stop('Ctrl-C');
        const onTerm = () => stop('SIGTERM');
        process.once('SIGINT', onInt);
        process.once('SIGTERM', onTerm);
      });
      process.stdout.write(`modeldeck serve: ${server.session.getState().roots.map(printable).join(', ')}${flags.readOnly ? ' (read-only)' : ''}\n`);
      process.stdout.write(`Open the panel at\n    ${server.url}\n`);
      if (!isLoopback(flags.host)) process.stdout.write(`(listening on ${flags.host}:${server.boundPort}: use this machine's name or address instead of 127.0.0.1)\n`);
      process.stdout.write('Ctrl-C stops.\n');
      if (flags.open !== false) openBrowser(server.url);
      await stopped;
      await server.stop();
      process.stdout.write('modeldeck serve: stopped\n');
      process.exitCode = 0;
    });
}

/** Tuning for tests and odd setups: MODELDECK_SERVE_LIMITS='{"maxStreams":20,...}'. */
function limitsFromEnv(): Partial<ServeLimits> | undefined {
  const raw = process.env.MODELDECK_SERVE_LIMITS;
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ModeldeckError('bad_limits', 'MODELDECK_SERVE_LIMITS is not JSON');
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed as object)) if (typeof v === 'number' && v > 0) out[k] = v;
  return out as Partial<ServeLimits>;
}

/** Opens the URL in a browser when there is a screen to show it on; silent when there is none. */
function openBrowser(url: string): void {
  if (!process.stdout.isTTY) return;
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? 'xdg-open' : null;
  if (!command) return;
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser: the printed URL is enough.
  }
}
