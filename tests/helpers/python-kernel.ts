/**
 * A real Debian python3-ipykernel kernel with the repo's python/ on its path,
 * driven by the KernelClient (the Jupyter protocol over ZeroMQ, as any front
 * end speaks it), plus what the Python-route tests ask of it.
 */
import { join } from 'node:path';
import { KernelClient, type KernelMessage } from './kernel-client';
import { WAIT_MS } from './wait';

export const REPO = join(__dirname, '..', '..');
export const PYTHON = '/usr/bin/python3';

export function startPythonKernel(env: NodeJS.ProcessEnv, cwd?: string): Promise<KernelClient> {
  return KernelClient.start({
    argv: [PYTHON, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
    cwd,
    env: { ...process.env, PYTHONPATH: join(REPO, 'python'), ...env },
  });
}

/** The text a cell printed (stdout stream messages). */
export function printed(messages: KernelMessage[]): string {
  return messages
    .filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout')
    .map((m) => m.content.text as string)
    .join('');
}

/** Runs code that must succeed; returns its messages (fails with the traceback otherwise). */
export async function run(kernel: KernelClient, code: string): Promise<KernelMessage[]> {
  const { reply, messages } = await kernel.execute(code);
  if (reply.content.status !== 'ok') throw new Error(`cell failed: ${reply.content.ename}: ${reply.content.evalue}\n${(reply.content.traceback ?? []).join('\n')}`);
  return messages;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves when process `pid` has ended. Polls because an unrelated process
 * cannot be watched otherwise; the deadline only turns a hang into a failure.
 */
export async function processEnds(pid: number, timeoutMs = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid) || isZombie(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** A process that exited but whose parent has not reaped it yet is gone for our purposes. */
function isZombie(pid: number): boolean {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string;
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
