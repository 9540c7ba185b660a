/**
 * A reverse proxy for the serve e2e test, shaped like jupyter-server-proxy:
 * the page lives under `/proxy/<port>/`, the prefix is stripped on the way
 * in. It can also cut every open connection and hold new ones back for a
 * while (`pause` / `resume`), which is how the test makes the event stream
 * drop while things happen on the server.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class PrefixProxy {
  private server: Server | null = null;
  private readonly open = new Set<ServerResponse>();
  private held: (() => void)[] = [];
  private paused = false;
  readonly prefix: string;
  /** Requests for the event stream that reached the server, with their Last-Event-ID. */
  readonly eventRequests: (string | null)[] = [];
  /** The server's status for each preview request that passed (304: the browser revalidated its cached copy). */
  readonly previewStatuses: number[] = [];

  constructor(private readonly target: number) {
    this.prefix = `/proxy/${target}`;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => (this.paused ? this.held.push(() => this.forward(req, res)) : this.forward(req, res)));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${this.prefix}/`;
  }

  /** Cuts every open answer (event streams included) and holds new requests until `resume`. */
  pause(): void {
    this.paused = true;
    for (const res of this.open) res.destroy();
    this.open.clear();
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }

  async stop(): Promise<void> {
    this.pause();
    this.held = [];
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (!url.startsWith(this.prefix + '/')) {
      res.writeHead(404).end('not under the prefix');
      return;
    }
    const path = url.slice(this.prefix.length);
    if (path.startsWith('/api/events')) this.eventRequests.push(typeof req.headers['last-event-id'] === 'string' ? req.headers['last-event-id'] : null);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    const upstream = request({ host: '127.0.0.1', port: this.target, method: req.method, path, headers: req.headers }, (answer) => {
      if (path.startsWith('/api/previews/')) this.previewStatuses.push(answer.statusCode ?? 0);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      res.on('close', () => answer.destroy());
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
