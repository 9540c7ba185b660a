/**
 * A real `modeldeck serve` process for the tests, and plain node:http clients
 * for it (node:http, not fetch: the hostile tests set `Host` and `Origin`,
 * which fetch forbids).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingMessage } from 'node:http';
import { BIN } from './cli';
import { WAIT_MS } from './wait';

export interface ServeProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  base: string;
  port: number;
  token: string;
  /** The URL it printed. */
  url: string;
  stdout(): string;
  stderr(): string;
  /** Ctrl-C, and the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServe(roots: string[], args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', ...roots, '--port', '0', '--no-open', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in ${WAIT_MS} ms: ${out} ${err}`)), WAIT_MS);
    const look = () => {
      const m = /(http:\/\/\S+\/(?:\?token=\S+)?)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before printing its URL: ${out} ${err}`));
    });
  });
  const u = new URL(url);
  return {
    child,
    base: `${u.protocol}//${u.host}`,
    port: Number(u.port),
    token: u.searchParams.get('token') ?? '',
    url,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGINT') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface RawAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** One request, headers exactly as given (node:http adds Host only when it is not set). */
export function raw(base: string, r: RawRequest): Promise<RawAnswer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: r.method ?? 'GET', path: r.path, headers: r.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** An open event stream; `next` waits for the first event (after those already taken) that matches. */
export class SseReader {
  readonly events: SseEvent[] = [];
  status = 0;
  private buffer = '';
  private taken = 0;
  private waiters: (() => void)[] = [];
  private res: IncomingMessage | null = null;
  ended = false;

  static open(base: string, path: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    const u = new URL(base);
    return new Promise((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path, headers, agent: false }, (res) => {
        reader.res = res;
        reader.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (c: string) => reader.push(c));
        res.on('end', () => reader.finish());
        res.on('close', () => reader.finish());
        res.on('error', () => reader.finish());
        resolve(reader);
      });
      req.on('error', reject);
      req.end();
    });
  }

  async next(match: (e: SseEvent) => boolean, what: string): Promise<SseEvent> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      while (this.taken < this.events.length) {
        const e = this.events[this.taken++];
        if (match(e)) return e;
      }
      if (this.ended) throw new Error(`event stream ended before ${what}`);
      if (Date.now() > deadline) throw new Error(`no event ${what} in ${WAIT_MS} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.res?.destroy();
    this.finish();
  }

  private push(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      const e: SseEvent = { id: null, event: 'message', data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) e.id = line.slice(4);
        else if (line.startsWith('event: ')) e.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          e.data += (hasData ? '\n' : '') + line.slice(6);
          hasData = true;
        }
      }
      if (hasData) this.events.push(e);
    }
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/** The session message an event carries. */
export function messageOf(e: SseEvent): { method?: string; state?: Record<string, any>; content?: any } {
  return (JSON.parse(e.data) as { m: any }).m;
}
