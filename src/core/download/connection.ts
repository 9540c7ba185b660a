/**
 * One of a download's N connections: a socket of its own to the storage host,
 * kept alive across the chunks it fetches, with room for one request
 * pipelined behind the running one. The transfer writes the next chunk's
 * request shortly before the current body ends, so the server starts the next
 * answer as it finishes this one: no round trip between two chunks (under a
 * bench load about 11 ms per hand-over, 56 hand-overs per GiB on 8
 * connections; docs/benchmarks.md, "Downloads"). It stays one connection: the
 * answers come one after another on one socket, as a per-connection cap sees
 * them, never two at once.
 *
 * Only the origin it was first asked for goes through it (the storage host a
 * redirect led to); any other hop takes the policy's shared agent as before.
 */
import type { Client, Dispatcher } from 'undici';
import type { OutboundPolicy } from '../net/outbound-policy';

/** Requests on the socket at once: the running one and the next. */
const PIPELINING = 2;

export class DownloadConnection {
  private client: Client | undefined;
  private origin: string | undefined;

  constructor(private readonly policy: OutboundPolicy) {}

  /** This connection's socket for its origin (set by the first URL asked), else undefined. */
  readonly dispatcherFor = (url: URL): Dispatcher | undefined => {
    if (!this.client) {
      this.origin = url.origin;
      this.client = this.policy.connectionTo(url, PIPELINING);
    }
    return url.origin === this.origin ? this.client : undefined;
  };

  /** Drops the socket; a request still queued on it fails (the transfer has let go of it by then). */
  close(): void {
    const c = this.client;
    this.client = undefined;
    void c?.destroy().catch(() => undefined);
  }
}
