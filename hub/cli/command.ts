/** The shape of a `smokehub` command and what it may print to. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

export interface CliCommand {
  /** The word after `smokehub`. */
  name: string;
  /** One line for `smokehub --help`. */
  summary: string;
  /** Full usage for `smokehub NAME --help`. */
  help: string;
  /** Runs the command; resolves to the exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
  /** The process must exit when the command returns (long-running servers with timers). */
  exitWhenDone?: boolean;
}
