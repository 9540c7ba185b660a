/** `modeldeck session --stdio`: the widget session for a Python kernel, framed over stdin/stdout (started by python/modeldeck). */
import type { Command } from 'commander';
import { runStdioHost } from '../../hosts/stdio/main';

export function registerSession(program: Command): void {
  program
    .command('session')
    .description('run the models panel session for a Python kernel (length-prefixed frames on stdin/stdout; started by the Python package)')
    .requiredOption('--stdio', 'talk over stdin/stdout')
    .action(() => {
      runStdioHost();
      // The host exits on its own (stdin closed, parent gone, shutdown frame): keep the CLI from returning an exit code first.
      return new Promise<never>(() => undefined);
    });
}
