/**
 * Mounts a folder through tests/drive-mount/drive_fuse.py, a FUSE passthrough
 * that behaves like Google Drive on Colab (latency per open/stat/readdir, a
 * bandwidth cap, injected ENOTCONN/EIO/ESTALE, disconnects, shrinking files),
 * and talks to its control socket (counters, faults).
 *
 * A machine without FUSE fails here with the reason: the drive tests are the
 * only evidence that modeldeck survives Drive, so they never skip silently.
 * `unmount()` always ends the mount (fusermount3 -u, lazy if busy) and the
 * process; the module also unmounts whatever is left when the process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

// From tests/helpers, or from build/dev/tests/helpers when compiled for the benchmark.
const SCRIPT = [resolve(__dirname, '../drive-mount/drive_fuse.py'), resolve(__dirname, '../../../../tests/drive-mount/drive_fuse.py')].find((p) => existsSync(p))!;
const PYTHON = '/usr/bin/python3';

export interface DriveConfig {
  openMs?: number;
  statMs?: number;
  readdirMs?: number;
  /** Read bandwidth of the whole mount in MB/s (0: no cap). */
  bandwidthMBps?: number;
  /**
   * Reads covering `offset` of `path` (mount-relative, leading '/') fail from the first one for
   * `forMs` (default 250): a single failed read would never reach the program (the kernel reads a
   * failed read-ahead page again, or returns a short read).
   */
  faults?: { path: string; offset: number; errno?: DriveErrno; forMs?: number }[];
  /** A fault (as above, at that read's spot) each time the mount's total bytes read cross a multiple of `bytes`. */
  everyBytes?: { bytes: number; errno?: DriveErrno; forMs?: number } | null;
  /** A fault at a read with probability perRead, from a seeded generator. */
  random?: { seed: number; perRead: number; errno?: DriveErrno; forMs?: number } | null;
  /** Truncate the source file to `toSize` once `afterBytes` of it were read through the mount. */
  shrink?: { path: string; afterBytes: number; toSize: number }[];
  /** Once a stat of `path` has found nothing `afterMisses` times (default 1), `content` is written there in the source: another writer in a race window. */
  plantOnMiss?: { path: string; afterMisses?: number; content?: string }[];
  /** link(2) fails with EPERM, as on Drive's mount. */
  refuseLinks?: boolean;
  /**
   * The next `times` (default 1) creates / writes / renames (onto the new name) of a path ending
   * with `endsWith` fail with `errno`; `partial` writes store half their bytes first. `fromByte`
   * (writes): only writes reaching that offset fail, and the one crossing it stores the bytes
   * before it and returns a short count (a disk filling up: use ENOSPC).
   */
  writeFaults?: { op: 'create' | 'write' | 'rename'; endsWith?: string; errno?: Exclude<DriveErrno, 'SHORT'> | 'ENOSPC'; times?: number; partial?: boolean; fromByte?: number }[];
  /** Kernel attribute/entry cache in seconds (default 1, libfuse's). Only at mount time. */
  attrTimeout?: number;
}

export type DriveErrno = 'ENOTCONN' | 'EIO' | 'ESTALE' | 'EAGAIN' | 'SHORT';

export interface FileCounters {
  opens: number;
  stats: number;
  bytes: number;
  reads: number;
  /** Successful write calls on the file, and renames that gave a file this name. */
  writes: number;
  renamesOnto: number;
}

export interface DriveCounters {
  /** Keyed by mount-relative path with a leading '/'. */
  files: Record<string, FileCounters>;
  readdirs: Record<string, number>;
  /** Every read that failed. */
  faults: { path: string; offset: number; size: number; errno: string }[];
  /** Faults that fired (each fails the reads at its spot for a while). */
  injected: number;
  /** Files written by plantOnMiss. */
  planted: number;
  /** Creates, writes and renames that a write fault failed. */
  writeFaults: { op: string; path: string; errno: string }[];
}

export interface DriveMount {
  /** Where the files are seen through FUSE. */
  readonly mountpoint: string;
  /** The real folder behind it. */
  readonly source: string;
  counters(): Promise<DriveCounters>;
  reset(): Promise<void>;
  configure(config: DriveConfig): Promise<void>;
  /** Every call on the mount fails with ENOTCONN for this long. */
  disconnect(seconds: number): Promise<void>;
  unmount(): Promise<void>;
}

const live = new Set<string>();
process.on('exit', () => {
  for (const mp of live) unmountSync(mp);
});

/** Throws a one-line reason when this machine cannot run FUSE mounts. */
export function checkFuseAvailable(): void {
  const missing: string[] = [];
  if (!existsSync('/dev/fuse')) missing.push('/dev/fuse is missing (a container needs --device /dev/fuse and CAP_SYS_ADMIN)');
  if (spawnSync('fusermount3', ['-V']).status !== 0) missing.push('fusermount3 is missing (apt-get install fuse3; scripts/test-deps.sh does it)');
  if (spawnSync(PYTHON, ['-c', 'import fusepy']).status !== 0) missing.push('python module fusepy is missing (apt-get install python3-fusepy)');
  if (missing.length) throw new Error(`FUSE mounts cannot run here: ${missing.join('; ')}`);
}

export async function mountDrive(config: DriveConfig = {}, source?: string): Promise<DriveMount> {
  checkFuseAvailable();
  const base = mkdtempSync(join(tmpdir(), 'mdk-drive-'));
  const src = source ?? join(base, 'source');
  const mountpoint = join(base, 'mnt');
  spawnSync('mkdir', ['-p', src, mountpoint]);
  const sock = join(base, 'control.sock');
  const devBefore = statSync(mountpoint).dev;
  // The daemon's stderr goes to a file, not a pipe: a caller that blocks its event loop (spawnSync of a
  // `cat` through the mount) would otherwise stop draining the pipe, and the daemon would block writing to it.
  const logFile = join(base, 'daemon.log');
  const log = openSync(logFile, 'w');
  const child = spawn(PYTHON, [SCRIPT, src, mountpoint, sock, JSON.stringify(config)], { stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  const stderr = () => readFileSync(logFile, 'utf8').trim().slice(-2000);
  live.add(mountpoint);
  try {
    await new Promise<void>((ok, fail) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (l) => l === 'MOUNTED' && ok());
      child.once('exit', (code) => fail(new Error(`drive mount exited (${code}) before it was up: ${stderr()}`)));
    });
    // init ran: the kernel has the mount. Check it is the FUSE file system that answers at the mountpoint.
    if (!isMounted(mountpoint) || statSync(mountpoint).dev === devBefore) throw new Error(`drive mount not visible at ${mountpoint}`);
  } catch (err) {
    await stop(child, mountpoint);
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  const control = new Control(sock);
  let done = false;
  return {
    mountpoint,
    source: src,
    counters: () => control.call('counters') as Promise<DriveCounters>,
    reset: async () => void (await control.call('reset')),
    configure: async (c) => void (await control.call('configure', { config: c })),
    disconnect: async (seconds) => void (await control.call('disconnect', { seconds })),
    unmount: async () => {
      if (done) return;
      done = true;
      control.close();
      await stop(child, mountpoint);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

function isMounted(mountpoint: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === mountpoint);
}

function unmountSync(mountpoint: string): void {
  if (!isMounted(mountpoint)) return;
  if (spawnSync('fusermount3', ['-u', mountpoint]).status !== 0) spawnSync('fusermount3', ['-uz', mountpoint]);
}

async function stop(child: ChildProcess, mountpoint: string): Promise<void> {
  unmountSync(mountpoint);
  live.delete(mountpoint);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  // After the unmount the file system's loop ends by itself; a process that hangs anyway is killed.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Line-delimited JSON requests, each answered by the line carrying its id. */
class Control {
  private socket: Socket | null = null;
  private next = 0;
  private waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();

  constructor(private readonly path: string) {}

  call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.next;
    const socket = this.open();
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      socket.write(JSON.stringify({ ...args, cmd, id }) + '\n');
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): Socket {
    if (this.socket) return this.socket;
    const socket = connect(this.path);
    socket.unref();
    createInterface({ input: socket }).on('line', (line) => {
      const reply = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.ok) w?.ok(reply.result);
      else w?.fail(new Error(`drive control: ${reply.error}`));
    });
    socket.on('error', (err) => {
      for (const w of this.waiting.values()) w.fail(err);
      this.waiting.clear();
    });
    this.socket = socket;
    return socket;
  }
}
