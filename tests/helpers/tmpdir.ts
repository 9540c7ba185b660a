import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory for one test file, removed in afterAll. */
export function useTmpDir(prefix = 'modeldeck-test-'): { readonly path: string } {
  const holder = { path: '' };
  beforeAll(() => {
    holder.path = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (holder.path) rmSync(holder.path, { recursive: true, force: true });
  });
  return holder;
}
