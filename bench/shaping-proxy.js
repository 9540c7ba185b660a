// A shaping TCP proxy for the benchmarks: the browser talks to the server
// through it, as over a slow link. Each direction is a queue of chunks: a
// chunk leaves once the link has had the time to send it at `mbit` Mbit/s
// (the bytes before it first) and then `delayMs` have passed (propagation), so
// a large message costs size/rate + delay, and a small one about the delay.
// Counts the bytes in each direction (down: server -> browser).
'use strict';
const net = require('node:net');

/** One direction of one connection: rate-capped, delayed, in order. */
class ShapedPipe {
  constructor(dest, link, count) {
    this.dest = dest;
    this.link = link;
    this.count = count;
    /** When the link will have finished sending everything queued so far (ms, monotonic). */
    this.busyUntil = 0;
    this.closed = false;
  }
  push(chunk) {
    const now = performance.now();
    const sendMs = (chunk.length * 8) / (this.link.mbit * 1000);
    this.busyUntil = Math.max(this.busyUntil, now) + sendMs;
    const at = this.busyUntil + this.link.delayMs;
    setTimeout(() => {
      this.count(chunk.length);
      if (!this.dest.destroyed) this.dest.write(chunk);
    }, Math.max(0, at - now));
  }
  end() {
    const at = Math.max(this.busyUntil, performance.now()) + this.link.delayMs;
    setTimeout(() => this.dest.end(), Math.max(0, at - performance.now()));
  }
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) to `target` ({host, port}).
 * `link`: { mbit, delayMs } each way. Resolves with { port, bytesDown(), bytesUp(), close() }.
 */
function startShapingProxy(target, link) {
  let down = 0;
  let up = 0;
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const toServer = new ShapedPipe(upstream, link, (n) => (up += n));
    const toClient = new ShapedPipe(client, link, (n) => (down += n));
    client.on('data', (c) => toServer.push(c));
    upstream.on('data', (c) => toClient.push(c));
    client.on('end', () => toServer.end());
    upstream.on('end', () => toClient.end());
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        bytesDown: () => down,
        bytesUp: () => up,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

module.exports = { startShapingProxy };
