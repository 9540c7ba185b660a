/**
 * The HTTP server every fake runs on: 127.0.0.1 on a free port, its open
 * sockets tracked so that stop() ends kept-alive connections at once instead
 * of waiting for clients to hang up.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class LoopbackServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private origin = '';

  constructor(
    private readonly name: string,
    private readonly handler: RequestListener,
  ) {}

  /** `http://127.0.0.1:PORT`, once started. */
  get url(): string {
    if (!this.origin) throw new Error(`${this.name}: not started`);
    return this.origin;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    const server = createServer(this.handler);
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
