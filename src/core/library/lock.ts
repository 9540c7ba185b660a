/**
 * One scan at a time per library root, across processes and machines.
 *
 * The lock is a file in `<root>/.modeldeck/` created with O_EXCL, holding who
 * took it. Two Colab runtimes can mount the same Drive, so a process id alone
 * cannot tell whether the holder is alive: on the same host a dead pid frees the
 * lock at once; from another host the lock is stale when its heartbeat (the
 * file's mtime, touched while held) is older than STALE_MS.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdir, open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { ModeldeckError } from '../errors';
import { INDEX_DIR } from './index-store';

const LOCK_FILE = 'scan.lock';
export const STALE_MS = 2 * 60 * 1000;
const HEARTBEAT_MS = 20 * 1000;

interface Holder {
  pid: number;
  host: string;
  since: number;
}

export class LockHeldError extends ModeldeckError {
  constructor(root: string, holder: Holder | null, lockFile: string) {
    const who = holder ? `process ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()}` : 'another process';
    super('library_locked', `${root}: another modeldeck is scanning this library (${who}); wait for it, or delete ${lockFile} if it is gone`);
  }
}

export class ScanLock {
  private timer: NodeJS.Timeout | null = null;

  private constructor(readonly file: string) {}

  static async acquire(root: string): Promise<ScanLock> {
    const dir = join(root, INDEX_DIR);
    await mkdir(dir, { recursive: true });
    const file = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(file, 'wx');
        const me: Holder = { pid: process.pid, host: hostname(), since: Date.now() };
        await fh.writeFile(JSON.stringify(me));
        await fh.close();
        const lock = new ScanLock(file);
        lock.timer = setInterval(() => void utimes(file, new Date(), new Date()).catch(() => undefined), HEARTBEAT_MS);
        lock.timer.unref();
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = await readHolder(file);
        if (!(await isStale(file, holder))) throw new LockHeldError(root, holder, file);
        await rm(file, { force: true });
      }
    }
    throw new LockHeldError(root, await readHolder(file), file);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await rm(this.file, { force: true });
  }
}

async function readHolder(file: string): Promise<Holder | null> {
  try {
    const h = JSON.parse(await readFile(file, 'utf8')) as Holder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

async function isStale(file: string, holder: Holder | null): Promise<boolean> {
  if (holder && holder.host === hostname()) return !isAlive(holder.pid);
  try {
    return Date.now() - (await stat(file)).mtimeMs > STALE_MS;
  } catch {
    return true;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
