/** `modeldeck kernel install|uninstall`: the "TypeScript (modeldeck)" Jupyter kernel. */
import type { Command } from 'commander';
import { DISPLAY_NAME, installKernelSpec, KERNEL_NAME, uninstallKernelSpec } from '../../kernel/kernelspec';
import { scopeOf, scopeOptions, type ScopeFlags } from '../jupyter-scope';
import { reportError } from '../output';

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
