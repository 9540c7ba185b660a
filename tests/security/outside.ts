/** Files outside a library root that an attack aims at, and proof that they were left exactly as they were. */
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface OutsideFile {
  path: string;
  /** Fails unless the bytes and the modification time are what they were when the file was made. */
  expectUntouched(): void;
}

export function outsideFile(base: string, rel: string, content: string): OutsideFile {
  const path = join(base, 'outside', rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  // A round, past mtime: any write would move it to now.
  const when = new Date('2024-01-01T00:00:00Z');
  utimesSync(path, when, when);
  return {
    path,
    expectUntouched() {
      expect(readFileSync(path, 'utf8')).toBe(content);
      expect(statSync(path).mtimeMs).toBe(when.getTime());
    },
  };
}

/** Every regular file under `dir` (links not followed). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
