/**
 * Room for the rest of a download, checked before the first byte is written:
 * on the destination, and, when the destination is a FUSE mount (Google
 * Drive on Colab stages every write in a cache on the VM's disk before it
 * uploads), on the local disk too.
 */
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { DownloadError } from './errors';

const FUSE_SUPER_MAGIC = 0x65735546;
/** Left free beyond the file: the index, sidecars, and whatever else the machine is writing. */
const MARGIN = 64 * 1024 * 1024;

export async function checkFreeSpace(dir: string, needed: number, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const fmt = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
  const dest = await statfs(dir).catch(() => null);
  if (!dest) return;
  const free = dest.bavail * dest.bsize;
  if (free < needed + MARGIN) {
    throw new DownloadError('disk_full', `${dir}: not enough free space (${fmt(needed)} needed, ${fmt(free)} free); nothing downloaded`);
  }
  if (dest.type === FUSE_SUPER_MAGIC || env.MODELDECK_STAGING_DIR) {
    const local = env.MODELDECK_STAGING_DIR || tmpdir();
    const st = await statfs(local).catch(() => null);
    if (st && st.bavail * st.bsize < needed + MARGIN) {
      throw new DownloadError('disk_full', `${local}: the local disk, where Drive stages writes before uploading, has ${fmt(st.bavail * st.bsize)} free and the file needs ${fmt(needed)}; nothing downloaded`);
    }
  }
}
