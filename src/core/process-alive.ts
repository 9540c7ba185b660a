/**
 * Whether a process of this host still runs: signal 0 checks without
 * touching it. EPERM means it runs under another user, so it is alive.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
