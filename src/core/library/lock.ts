/**
 * One writer at a time per library root, across processes and machines: a
 * scan, a link, a hash set by hand, an import all change the index, and each
 * does it holding this lock, on a view of the index read after taking it.
 *
 * The lock is `<root>/.modeldeck/scan.lock` (the name older versions use, so
 * they keep out too), created with O_EXCL, holding who took it and a random
 * nonce. Two Colab runtimes can mount the same Drive, so a process id alone
 * cannot tell whether the holder is alive: on the same host a dead pid makes
 * the lock stale at once; from another host it is stale when its heartbeat
 * (the file's mtime, touched while held) is older than STALE_MS.
 *
 * Taking over a stale lock is the racy part (two processes both judge it
 * stale; the slower one must not remove the lock the faster one just made), so
 * it happens under a second O_EXCL file, `scan.lock.break`, and is checked
 * twice: the lock is judged again once the break file is held, then moved
 * aside by rename and compared with what was judged; a lock that turns out to
 * be someone's fresh one is put back.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, rename, unlink, type FileHandle } from 'node:fs/promises';
import { ModeldeckError } from '../errors';
import { readFileCapped } from '../read-capped';
import { ensureRealDir, lstatOrNull, openSafely } from '../safe-fs';
import { INDEX_DIR } from './index-files';
import { isProcessAlive } from '../process-alive';

const LOCK_FILE = 'scan.lock';
const BREAK_SUFFIX = '.break';
export const STALE_MS = 2 * 60 * 1000;
const HEARTBEAT_MS = 20 * 1000;
/** A break file older than this belongs to a process that died while breaking a lock. */
const BREAK_STALE_MS = 30 * 1000;
/** How long to wait for a lock another process holds, by default. Edits hold it for milliseconds; a scan for as long as it runs. */
export const DEFAULT_LOCK_WAIT_MS = 10_000;

interface Holder {
  pid: number;
  host: string;
  since: number;
  nonce: string;
}

export class LockHeldError extends ModeldeckError {
  constructor(root: string, holder: Holder | null, lockFile: string) {
    const who = holder ? `process ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()}` : 'another process';
    super('library_locked', `${root}: another modeldeck is changing this library (${who}); wait for it to finish, or delete ${lockFile} if it is gone`);
  }
}

export interface AcquireOptions {
  /** Keep trying this long while another live process holds the lock. Default 10 s; 0 tries once. */
  waitMs?: number;
}

export class LibraryLock {
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    readonly file: string,
    private readonly content: string,
    private readonly handle: FileHandle,
  ) {}

  static async acquire(root: string, options: AcquireOptions = {}): Promise<LibraryLock> {
    const dir = join(root, INDEX_DIR);
    await ensureRealDir(dir);
    const file = join(dir, LOCK_FILE);
    const deadline = Date.now() + (options.waitMs ?? waitFromEnv() ?? DEFAULT_LOCK_WAIT_MS);
    let pause = 25;
    for (;;) {
      const lock = await tryCreate(file);
      if (lock) return lock;
      const held = await readHolder(file);
      if (held.exists && (await isStale(file, held.holder))) {
        await breakStaleLock(file);
        continue;
      }
      if (Date.now() >= deadline) throw new LockHeldError(root, held.holder, file);
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 500);
    }
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.handle.close().catch(() => undefined);
    // Only our own lock is removed: had it been taken over as stale, the file there now is someone else's.
    const now = await readFileCapped(this.file, 4096);
    if (now.kind === 'ok' && now.bytes.toString('utf8') === this.content) await unlink(this.file).catch(() => undefined);
  }

  private startHeartbeat(): void {
    this.timer = setInterval(() => void this.handle.utimes(new Date(), new Date()).catch(() => undefined), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** A lock file's content as a process writes it (tests plant one with a dead `pid`). */
  static holderText(pid: number, host = hostname(), since = Date.now()): string {
    return JSON.stringify({ pid, host, since, nonce: randomBytes(8).toString('hex') } satisfies Holder);
  }

  static async create(file: string, content: string): Promise<LibraryLock | null> {
    let fh: FileHandle;
    try {
      fh = await openSafely(file, 'create');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw err;
    }
    try {
      await fh.writeFile(content);
      await fh.sync().catch(() => undefined);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(file).catch(() => undefined);
      throw err;
    }
    const lock = new LibraryLock(file, content, fh);
    lock.startHeartbeat();
    return lock;
  }
}

/** `MODELDECK_LOCK_WAIT_MS`: how long any modeldeck waits for a lock (scripts that would rather fail fast set 0). */
function waitFromEnv(): number | undefined {
  const v = Number(process.env.MODELDECK_LOCK_WAIT_MS);
  return process.env.MODELDECK_LOCK_WAIT_MS !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function tryCreate(file: string): Promise<LibraryLock | null> {
  return LibraryLock.create(file, LibraryLock.holderText(process.pid));
}

/**
 * Removes a lock judged stale, unless another process got there first: only
 * the holder of the break file may remove it, the lock is judged again under
 * it, and what is moved aside must be what was judged.
 */
async function breakStaleLock(file: string): Promise<void> {
  const breakFile = file + BREAK_SUFFIX;
  const breaker = await LibraryLock.create(breakFile, LibraryLock.holderText(process.pid));
  if (!breaker) {
    // Another process is breaking it; if that one died doing so, its break file goes after a while.
    const st = await lstatOrNull(breakFile);
    const held = await readHolder(breakFile);
    const dead = held.holder && held.holder.host === hostname() && !isProcessAlive(held.holder.pid);
    if (st && (dead || Date.now() - st.mtimeMs > BREAK_STALE_MS)) await unlink(breakFile).catch(() => undefined);
    else await new Promise((r) => setTimeout(r, 20));
    return;
  }
  try {
    const judged = await readHolder(file);
    if (!judged.exists || !(await isStale(file, judged.holder))) return;
    const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(file, aside);
    } catch {
      return; // gone already
    }
    const moved = await readFileCapped(aside, 4096);
    const movedText = moved.kind === 'ok' ? moved.bytes.toString('utf8') : null;
    if (movedText !== judged.text) {
      // Not the lock we judged: someone's fresh lock. Put it back, unless yet another was made meanwhile.
      await link(aside, file).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
  } finally {
    await breaker.release();
  }
}

async function readHolder(file: string): Promise<{ exists: boolean; holder: Holder | null; text: string | null }> {
  const read = await readFileCapped(file, 4096);
  if (read.kind === 'missing') return { exists: false, holder: null, text: null };
  if (read.kind !== 'ok') return { exists: true, holder: null, text: null };
  const text = read.bytes.toString('utf8');
  try {
    const h = JSON.parse(text) as Holder;
    return { exists: true, holder: typeof h.pid === 'number' && typeof h.host === 'string' ? h : null, text };
  } catch {
    // Being written right now, or damaged: judged by its age.
    return { exists: true, holder: null, text };
  }
}

async function isStale(file: string, holder: Holder | null): Promise<boolean> {
  if (holder && holder.host === hostname()) return !isProcessAlive(holder.pid);
  const st = await lstatOrNull(file);
  return !st || Date.now() - st.mtimeMs > STALE_MS;
}

