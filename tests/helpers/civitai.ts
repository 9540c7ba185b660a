// Shared by the civitai-*.test.ts files: fast client settings against a fake, and small probes.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CivitaiOptions } from '../../src/core/civitai';
import type { FakeCivitai, RouteName } from '../fake-civitai';

/** Distinctive, so a grep for it in any output cannot match by accident. */
export const TOKEN = 'mdk-TEST-TOKEN-7f3a9c2e1b55d0';

/** Real Civitai data from the fixtures (PARTIAL_by-hash_1050496). */
export const FLUX_LORA = {
  versionId: 1050496,
  modelId: 706978,
  SHA256: '21437EC26670E230B067CA936F6657CAF5CA063F15AEC333EF249BEC7C0F0DC0',
  AutoV3: '7AAE878CB805',
  AutoV2: '21437EC266',
};

/** Folders `tempDir` made in this test file, removed after its last test (nothing is left in the system's temp folder). */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'mdk-civitai-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/**
 * Short backoffs so fault tests run in milliseconds, not minutes. The
 * per-attempt timeout is long on purpose: the fake answers in milliseconds,
 * but on a loaded machine an answer can take seconds, and a timeout there
 * would add a retry the test then miscounts. Tests about timeouts set their own.
 */
export function fastOptions(fake: FakeCivitai, extra: CivitaiOptions = {}): CivitaiOptions {
  return {
    baseUrl: fake.url,
    fallbackBaseUrls: [],
    token: TOKEN,
    timeoutMs: 30_000,
    maxAttempts: 3,
    baseDelayMs: 20,
    maxDelayMs: 100,
    cacheDir: tempDir(),
    ...extra,
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Milliseconds between consecutive requests to a route, from the fake's arrival times. */
export function gaps(fake: FakeCivitai, route: RouteName): number[] {
  const at = fake.requests.filter((r) => r.route === route).map((r) => r.at);
  return at.slice(1).map((t, i) => t - at[i]);
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, got a result');
}

/** Polls a condition on the fake's request log (in this process) until it holds. */
export async function until(cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
