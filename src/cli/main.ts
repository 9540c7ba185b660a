/**
 * The `modeldeck` command. Each subcommand lives in `commands/` and is a thin
 * layer over `src/core`: it parses arguments, calls the engine, prints.
 */
import { Command, CommanderError } from 'commander';
import { printable } from './output';
import { version } from '../version';

type Register = (program: Command) => void;

/**
 * Each subcommand's module, loaded on demand: `modeldeck hash` used to load the
 * library, Civitai client and Jupyter code too, about 50 ms of its start-up
 * (docs/benchmarks.md, hashing). Order is the help's order.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, () => Register[]> = {
  hash: () => [require('./commands/hash').registerHash],
  probe: () => [require('./commands/probe').registerProbe],
  lookup: () => [require('./commands/lookup').registerLookup],
  scan: () => [require('./commands/scan').registerScan],
  ls: () => [require('./commands/ls').registerLs],
  info: () => [require('./commands/info').registerInfo],
  link: () => [require('./commands/link').registerLink],
  transfer: () => [require('./commands/transfer').registerTransfer],
  watch: () => [require('./commands/watch').registerWatch],
  updates: () => [require('./commands/updates').registerUpdates],
  get: () => [require('./commands/get').registerGet],
  maintenance: () => [require('./commands/maintenance').registerMaintenance],
  trash: () => [require('./commands/trash').registerTrash],
  kernel: () => [require('./commands/kernel').registerKernel],
  jupyter: () => [require('./commands/jupyter').registerJupyter],
  doctor: () => [require('./commands/doctor').registerDoctor],
  session: () => [require('./commands/session').registerSession],
  serve: () => [require('./commands/serve').registerServe],
};

/** The program with every subcommand, or (for a run of one hash command) only that one. */
export function buildProgram(only?: string): Command {
  const program = new Command('modeldeck')
    .description('Manage Stable Diffusion model files: hash, probe, identify on Civitai.')
    .version(version)
    .showHelpAfterError('(run "modeldeck help" for usage)')
    .exitOverride();
  const loaders = only && only in FAST_PATH ? [COMMANDS[FAST_PATH[only]]] : Object.values(COMMANDS);
  for (const load of loaders) for (const register of load()) register(program);
  return program;
}

/** Commands whose own module is all a run of them needs (names that several modules register stay on the full path). */
const FAST_PATH: Record<string, string> = { hash: 'hash', get: 'get' };

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv[2]);
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`modeldeck: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  }
}
