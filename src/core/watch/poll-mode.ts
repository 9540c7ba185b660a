/**
 * Whether a folder must be polled: file-change events (inotify) only report
 * changes made through this machine's kernel. On Colab's Google Drive mount,
 * on network shares and on WSL's Windows drives, files also change elsewhere,
 * and those changes never raise an event, so the only way to see them is to
 * look again every few seconds.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/** Where Colab mounts Google Drive (`drive.mount('/content/drive')`, the documented default). */
const COLAB_DRIVE = '/content/drive';

/**
 * File system types whose changes may come from elsewhere. `fuseblk` is left
 * out: it is ntfs-3g/exfat on a local disk, where every change passes through
 * this kernel and events work.
 */
const REMOTE_FS = /^(?:fuse(?:\.(?!.*blk).*)?|nfs4?|cifs|smb[23]?|smbfs|9p|drvfs|v9fs|afs|ceph|glusterfs|davfs|sshfs|virtiofs)$/;

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/** Parses `/proc/mounts`; mount points escape space, tab, newline and backslash as octal (`\040`). */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.length >= 3)
    .map(([, mountPoint, fsType]) => ({ mountPoint: unescape(mountPoint), fsType }));
}

/** The mount holding `path`: the longest mount point that contains it; the last one listed wins (it is mounted on top). */
export function mountOf(path: string, mounts: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || path === m.mountPoint || path.startsWith(m.mountPoint + '/');
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

function readMounts(): MountEntry[] {
  try {
    return parseMounts(readFileSync('/proc/mounts', 'utf8'));
  } catch {
    // Not Linux (macOS, Windows): no cheap way to know; events it is, unless the caller asks to poll.
    return [];
  }
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + '/');
}

/**
 * True when `root` should be polled rather than watched with events: it lies
 * under Colab's Drive mount, or on a FUSE or network file system.
 * `mounts` is for tests; by default `/proc/mounts` is read (one small read).
 */
export function shouldPoll(root: string, mounts?: readonly MountEntry[]): boolean {
  const absolute = resolve(root);
  let real = absolute;
  try {
    real = realpathSync(absolute);
  } catch {
    // A root that does not exist yet: judge by the path as given.
  }
  if (isUnder(absolute, COLAB_DRIVE) || isUnder(real, COLAB_DRIVE)) return true;
  const mount = mountOf(real, mounts ?? readMounts());
  return mount !== undefined && REMOTE_FS.test(mount.fsType);
}
