/**
 * `smokehub <command> [args]`: dispatches to the command table (hub/cli/commands/index.ts).
 * Expected failures (bad usage, bad configuration, refused input) print one line on stderr and
 * exit 1; only unexpected errors print a stack trace.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { SmokehubError } from '../protocol/errors.ts';
import { UsageError } from './args.ts';
import type { CliIo } from './command.ts';
import { COMMANDS, findCommand } from './commands/index.ts';
import { MissingDataError } from './data-dir.ts';
import { packageVersion } from '../http/health-routes.ts';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return (
    `Usage: smokehub <command> [options]\n\nCommands:\n` +
    COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n') +
    `\n\nRun "smokehub <command> --help" for a command's options.\n`
  );
}

export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
  };
}

/** Runs one command line; resolves to the exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(usage());
    return 1;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`smokehub ${packageVersion()}\n`);
    return 0;
  }
  const cmd = findCommand(name);
  if (!cmd) {
    io.stderr(`smokehub: unknown command "${name}"; run "smokehub --help"\n`);
    return 1;
  }
  const dashDash = rest.indexOf('--');
  const options = dashDash === -1 ? rest : rest.slice(0, dashDash);
  if (options.includes('--help') || options.includes('-h')) {
    io.stdout(cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`smokehub ${cmd.name}: ${err.message}\nRun "smokehub ${cmd.name} --help" for usage.\n`);
      return 1;
    }
    if (err instanceof SmokehubError || err instanceof MissingDataError) {
      io.stderr(`smokehub ${cmd.name}: ${err.message}\n`);
      return 1;
    }
    io.stderr(`smokehub ${cmd.name}: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

/** Entry point for bin/smokehub.js (and `node hub/cli/main.ts`). */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  const code = await main(argv);
  const cmd = findCommand(argv[0] ?? '');
  if (cmd?.exitWhenDone && !argv.includes('--help') && !argv.includes('-h')) process.exit(code);
  process.exitCode = code;
}

function isEntryModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryModule()) await runCli();
