/** `modeldeck kernel install|uninstall`: the "TypeScript (modeldeck)" Jupyter kernel. */
import type { Command } from 'commander';
import { DISPLAY_NAME, installKernelSpec, KERNEL_NAME, uninstallKernelSpec, type KernelSpecScope } from '../../kernel/kernelspec';
import { reportError } from '../output';

interface ScopeFlags {
  user?: boolean;
  sysPrefix?: boolean;
  prefix?: string;
}

function scopeOf(flags: ScopeFlags): KernelSpecScope {
  const chosen = [flags.user, flags.sysPrefix, flags.prefix !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new Error('use only one of --user, --sys-prefix, --prefix DIR');
  if (flags.sysPrefix) return { kind: 'sys-prefix' };
  if (flags.prefix !== undefined) return { kind: 'prefix', dir: flags.prefix };
  return { kind: 'user' };
}

function scopeOptions(command: Command): Command {
  return command
    .option('--user', 'the per-user Jupyter data directory ($JUPYTER_DATA_DIR or ~/.local/share/jupyter); the default')
    .option('--sys-prefix', "the sys.prefix of python3 (a virtualenv or conda env Jupyter runs from)")
    .option('--prefix <dir>', 'DIR/share/jupyter/kernels');
}

export function registerKernel(program: Command): void {
  const kernel = program.command('kernel').description(`the "${DISPLAY_NAME}" Jupyter kernel: tslab with widget support`);

  scopeOptions(kernel.command('install'))
    .description(`install the "${KERNEL_NAME}" kernelspec (runs the tslab that ships with modeldeck, with comm support)`)
    .action(async (flags: ScopeFlags) => {
      try {
        const { dir, spec } = await installKernelSpec(scopeOf(flags));
        process.stdout.write(`Installed kernelspec "${KERNEL_NAME}" (${DISPLAY_NAME}) in ${dir}\n  runs: ${spec.argv.join(' ')}\nChoose "${DISPLAY_NAME}" as the notebook's kernel.\n`);
      } catch (err) {
        reportError(err);
      }
    });

  scopeOptions(kernel.command('uninstall'))
    .description(`remove the "${KERNEL_NAME}" kernelspec`)
    .action(async (flags: ScopeFlags) => {
      try {
        const { dir, removed } = await uninstallKernelSpec(scopeOf(flags));
        process.stdout.write(removed ? `Removed kernelspec "${KERNEL_NAME}" from ${dir}\n` : `Kernelspec "${KERNEL_NAME}" is not installed in ${dir}\n`);
      } catch (err) {
        reportError(err);
      }
    });
}
