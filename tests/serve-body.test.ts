/**
 * The serve body reader over a real HTTP connection: a refused upload is read
 * to its end (up to the drain bound) so the refusal can be delivered on an
 * orderly close; past the bound the reader gives up and says so.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyError, readJson } from '../src/serve/body';

let server: Server;
let outcome: Promise<unknown>;
let settle: (v: unknown) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    readJson(req, 16, 4096).then(
      (v) => settle({ ok: v }),
      (err: unknown) => settle(err),
    );
    res.on('error', () => undefined);
    req.on('close', () => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function post(body: Buffer, headers: Record<string, string>): Promise<unknown> {
  outcome = new Promise((r) => (settle = r));
  const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST', path: '/', headers });
  req.on('error', () => undefined);
  req.end(body);
  return outcome;
}

const json = { 'Content-Type': 'application/json' };

test('a small body is parsed', async () => {
  expect(await post(Buffer.from('{"a":1}'), json)).toEqual({ ok: { a: 1 } });
});

test.each([
  ['declared length', {}],
  ['chunked', { 'Transfer-Encoding': 'chunked' }],
])('a body over the cap (%s) is refused after it was read to its end', async (_how, extra) => {
  const err = await post(Buffer.alloc(2000, 0x20), { ...json, ...extra });
  expect(err).toBeInstanceOf(BodyError);
  expect((err as BodyError).status).toBe(413);
  expect((err as BodyError).drained).toBe(true);
});

test.each([
  ['declared length', {}],
  ['chunked', { 'Transfer-Encoding': 'chunked' }],
])('a body over the drain bound (%s) is refused without reading it all', async (_how, extra) => {
  const err = await post(Buffer.alloc(100_000, 0x20), { ...json, ...extra });
  expect(err).toBeInstanceOf(BodyError);
  expect((err as BodyError).status).toBe(413);
  expect((err as BodyError).drained).toBe(false);
});

test('a body of the wrong type is refused, drained', async () => {
  const err = (await post(Buffer.from("hello"), { "Content-Type": "text/plain" })) as BodyError;
  expect([err.status, err.drained]).toEqual([415, true]);
});
