/** `--user | --sys-prefix | --prefix DIR`: which Jupyter data directory `kernel` and `jupyter` install into. */
import type { Command } from 'commander';
import type { KernelSpecScope } from '../kernel/kernelspec';

export interface ScopeFlags {
  user?: boolean;
  sysPrefix?: boolean;
  prefix?: string;
}

export function scopeOf(flags: ScopeFlags): KernelSpecScope {
  const chosen = [flags.user, flags.sysPrefix, flags.prefix !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new Error('use only one of --user, --sys-prefix, --prefix DIR');
  if (flags.sysPrefix) return { kind: 'sys-prefix' };
  if (flags.prefix !== undefined) return { kind: 'prefix', dir: flags.prefix };
  return { kind: 'user' };
}

export function scopeOptions(command: Command, under = 'kernels'): Command {
  return command
    .option('--user', 'the per-user Jupyter data directory ($JUPYTER_DATA_DIR or ~/.local/share/jupyter); the default')
    .option('--sys-prefix', 'the sys.prefix of python3 (a virtualenv or conda env Jupyter runs from)')
    .option('--prefix <dir>', `DIR/share/jupyter/${under}`);
}
