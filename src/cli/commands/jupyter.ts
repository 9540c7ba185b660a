/**
 * `modeldeck jupyter install|uninstall`: everything JupyterLab needs in one
 * Jupyter data directory: the "TypeScript (modeldeck)" kernelspec and the
 * prebuilt JupyterLab extension that renders the panel.
 */
import type { Command } from 'commander';
import { DISPLAY_NAME, installKernelSpec, KERNEL_NAME, uninstallKernelSpec } from '../../kernel/kernelspec';
import { installLabextension, LABEXTENSION_NAME, uninstallLabextension } from '../../kernel/labextension';
import { scopeOf, scopeOptions, type ScopeFlags } from '../jupyter-scope';
import { reportError } from '../output';

/**
 * For notebooks in a Python kernel. The Python package is the Python-notebooks
 * route, shipped separately from this npm package; this extension is the
 * front end it displays through.
 */
const PYTHON_NOTE =
  'Python kernels: with the modeldeck Python package installed in the kernel\'s environment (not part of this npm package), ' +
  '`from modeldeck import show` then `show("/path/to/models", frontend="modeldeck")` displays the same panel through this extension.';

export function registerJupyter(program: Command): void {
  const jupyter = program.command('jupyter').description('install or remove what JupyterLab needs: the kernelspec and the JupyterLab extension');

  scopeOptions(jupyter.command('install'), 'kernels and DIR/share/jupyter/labextensions')
    .description(`install the "${KERNEL_NAME}" kernelspec and the "${LABEXTENSION_NAME}" JupyterLab extension in one Jupyter data directory (replaces older copies)`)
    .action(async (flags: ScopeFlags) => {
      try {
        const scope = scopeOf(flags);
        const kernel = await installKernelSpec(scope);
        const ext = await installLabextension(scope);
        const replaced = ext.replaced ? ` (replaced ${ext.replaced})` : '';
        process.stdout.write(
          `Installed kernelspec "${KERNEL_NAME}" (${DISPLAY_NAME}) in ${kernel.dir}\n` +
            `Installed JupyterLab extension ${LABEXTENSION_NAME} ${ext.version} in ${ext.dir}${replaced}\n` +
            `Reload JupyterLab's page, then choose "${DISPLAY_NAME}" as the notebook's kernel.\n` +
            `${PYTHON_NOTE}\n`,
        );
      } catch (err) {
        reportError(err);
      }
    });

  scopeOptions(jupyter.command('uninstall'), 'kernels and DIR/share/jupyter/labextensions')
    .description(`remove the "${KERNEL_NAME}" kernelspec and the JupyterLab extension from that data directory`)
    .action(async (flags: ScopeFlags) => {
      try {
        const scope = scopeOf(flags);
        const kernel = await uninstallKernelSpec(scope);
        const ext = await uninstallLabextension(scope);
        const line = (what: string, r: { dir: string; removed: boolean }) => (r.removed ? `Removed ${what} from ${r.dir}\n` : `${what} is not installed in ${r.dir}\n`);
        process.stdout.write(line(`kernelspec "${KERNEL_NAME}"`, kernel) + line(`JupyterLab extension ${LABEXTENSION_NAME}`, ext));
      } catch (err) {
        reportError(err);
      }
    });
}
