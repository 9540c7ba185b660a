/**
 * The `modeldeck` command. Each subcommand lives in `commands/` and is a thin
 * layer over `src/core`: it parses arguments, calls the engine, prints.
 */
import { Command, CommanderError } from 'commander';
import { printable } from './output';
import { registerHash } from './commands/hash';
import { registerProbe } from './commands/probe';
import { registerLookup } from './commands/lookup';
import { registerScan } from './commands/scan';
import { registerLs } from './commands/ls';
import { registerInfo } from './commands/info';
import { registerLink } from './commands/link';
import { registerTransfer } from './commands/transfer';
import { registerWatch } from './commands/watch';
import { registerMaintenance } from './commands/maintenance';
import { registerUpdates } from './commands/updates';
import { registerGet } from './commands/get';
import { registerKernel } from './commands/kernel';
import { registerJupyter } from './commands/jupyter';
import { registerDoctor } from './commands/doctor';
import { registerSession } from './commands/session';
import { registerServe } from './commands/serve';
import { version } from '../version';

export function buildProgram(): Command {
  const program = new Command('modeldeck')
    .description('Manage Stable Diffusion model files: hash, probe, identify on Civitai.')
    .version(version)
    .showHelpAfterError('(run "modeldeck help" for usage)')
    .exitOverride();
  registerHash(program);
  registerProbe(program);
  registerLookup(program);
  registerScan(program);
  registerLs(program);
  registerInfo(program);
  registerLink(program);
  registerTransfer(program);
  registerWatch(program);
  registerUpdates(program);
  registerGet(program);
  registerMaintenance(program);
  registerKernel(program);
  registerJupyter(program);
  registerDoctor(program);
  registerSession(program);
  registerServe(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`modeldeck: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  }
}
