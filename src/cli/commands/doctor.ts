/**
 * `modeldeck doctor [--offline] [--json]`: is this machine ready for the
 * notebook kernel and Civitai? One line per check (ok / info / warning /
 * problem) with the fix to apply; exit status 1 when any check is a problem.
 */
import type { Command } from 'commander';
import { printable } from '../output';

interface DoctorFlags {
  offline?: boolean;
  json?: boolean;
}

const WIDTH = { status: 8, check: 18 };

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the installation: Node, tslab and the comm self-test, the modeldeck kernelspec, Jupyter, Civitai, Colab and Drive')
    .option('--offline', 'do not contact Civitai')
    .option('--json', 'print one JSON array of {check, status, detail, fix?}')
    .action(async (flags: DoctorFlags) => {
      const { runChecks, exitCodeOf } = await import('../doctor-checks');
      const results = await runChecks({ offline: flags.offline });
      // Belt and braces: no check prints the token, and none of its text can slip through here either.
      const token = process.env.CIVITAI_TOKEN?.trim();
      const clean = (text: string) => printable(token && token.length >= 4 ? text.split(token).join('<token>') : text);
      const printed = results.map((r) => ({ ...r, detail: clean(r.detail), ...(r.fix !== undefined ? { fix: clean(r.fix) } : {}) }));
      if (flags.json) {
        process.stdout.write(JSON.stringify(printed) + '\n');
      } else {
        for (const r of printed) {
          const fix = r.fix ? `  -> fix: ${r.fix}` : '';
          process.stdout.write(`${r.status.padEnd(WIDTH.status)} ${r.check.padEnd(WIDTH.check)} ${r.detail}${fix}\n`);
        }
        const count = (s: string) => printed.filter((r) => r.status === s).length;
        const problems = count('problem');
        const warnings = count('warning');
        process.stdout.write(
          problems + warnings === 0
            ? 'All checks passed.\n'
            : `${problems} problem${problems === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.\n`,
        );
      }
      const code = exitCodeOf(results);
      if (code !== 0) process.exitCode = code;
    });
}
