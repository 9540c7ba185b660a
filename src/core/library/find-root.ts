import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { INDEX_DIR } from './index-store';

/** The library root that holds `file`: the nearest folder above it with a `.modeldeck` index. */
export async function findRootOf(file: string): Promise<string | null> {
  let dir = dirname(resolve(file));
  for (;;) {
    const st = await stat(`${dir}/${INDEX_DIR}`).catch(() => null);
    if (st?.isDirectory()) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}
