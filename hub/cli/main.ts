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

const FS_CODES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
};
const SQLITE_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_FULL', 'SQLITE_BUSY', 'SQLITE_IOERR']);

/** One line for a problem of the machine (files, disk, database), not of the program; else null. */
export function environmentProblem(err: unknown): string | null {
  const e = err as { code?: unknown; path?: unknown; syscall?: unknown; message?: unknown } | null;
  if (!e || typeof e.code !== 'string') return null;
  if (FS_CODES[e.code] && typeof e.path === 'string') return `cannot ${String(e.syscall ?? 'use')} ${e.path}: ${FS_CODES[e.code]}`;
  if (SQLITE_CODES.has(e.code)) return `database error (${e.code}): ${String(e.message)}`;
  return null;
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
    const known = environmentProblem(err);
    if (known) {
      io.stderr(`smokehub ${cmd.name}: ${known}\n`);
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
