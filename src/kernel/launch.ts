/**
 * The `modeldeck` kernel: tslab with Jupyter comm support from the first cell.
 *
 *   node lib/kernel/launch.js {connection_file}
 *   node lib/kernel/launch.js --config-path {connection_file} [--js]   (tslab's own spelling)
 *
 * It self-tests tslab's internals, patches them, then starts tslab's kernel
 * exactly as `tslab kernel` would, except that it never hands over to a
 * project-local tslab (`enableFindLocal: false`): that copy would not carry
 * the patch.
 */
import { installInto } from './comm/install';
import { loadOwnTslab } from './comm/tslab';

interface LaunchArgs {
  configPath: string;
  jsKernel: boolean;
}

export function parseLaunchArgs(argv: string[]): LaunchArgs {
  let configPath = '';
  let jsKernel = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--js') jsKernel = true;
    else if (arg === '--config-path') configPath = argv[++i] ?? '';
    else if (arg.startsWith('--config-path=')) configPath = arg.slice('--config-path='.length);
    else if (!arg.startsWith('--') && !configPath) configPath = arg;
    else throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
  }
  if (!configPath) throw new Error('missing the connection file (usage: launch.js CONNECTION_FILE)');
  return { configPath, jsKernel };
}

export function launch(argv: string[]): void {
  const args = parseLaunchArgs(argv);
  const tslab = loadOwnTslab();
  installInto(tslab, 'launcher');
  tslab.main.startKernel({ configPath: args.configPath, enableFindLocal: false, jsKernel: args.jsKernel, globalVersion: tslab.version });
}

if (require.main === module) {
  try {
    launch(process.argv.slice(2));
  } catch (err) {
    // Jupyter shows "kernel died" and keeps this in the server log: make it say why.
    process.stderr.write(`modeldeck kernel: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
