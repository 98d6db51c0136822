/**
 * A tiny argument parser for the CLI commands over node:util `parseArgs`: `--flag value`,
 * `--flag=value`, boolean switches, `--` ends options. Unknown flags and missing values become
 * one readable UsageError instead of a stack trace. A value that looks like a negative number
 * (`--verify-window -5`) is the flag's value, not an option, so the range check of whoever reads
 * it (the config loader) reports it, not node:util's "argument is ambiguous".
 */
import { parseArgs } from 'node:util';

/** A command line the command cannot make sense of; printed with the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean | undefined>;
}

/** `-5`, `-0.5`, `-.5`, `-1e3`: never an option of ours (no flag is a digit). */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/** `--flag -5` / `-f -5` for a string flag → `--flag=-5`, which node:util takes as the value; the rest untouched. */
export function joinNegativeValues(argv: readonly string[], spec: Record<string, FlagSpec>): string[] {
  const shorts = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith('--') ? a.slice(2) : /^-[^-]$/.test(a) ? shorts.get(a.slice(1)) : undefined;
    const next = argv[i + 1];
    if (
      name !== undefined &&
      !name.includes('=') &&
      Object.hasOwn(spec, name) &&
      spec[name]!.type === 'string' &&
      next !== undefined &&
      NEGATIVE_NUMBER.test(next)
    ) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export function parseCommandArgs(argv: string[], spec: Record<string, FlagSpec>, positionals: { min?: number; max?: number; names?: string } = {}): ParsedArgs {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, spec), options: spec, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    // node:util messages look like: Unknown option '--foo'. / Option '--data <value>' argument missing
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\.$/, '');
    throw new UsageError(msg);
  }
  const min = positionals.min ?? 0;
  const max = positionals.max ?? 0;
  if (parsed.positionals.length < min) throw new UsageError(`missing ${positionals.names ?? 'argument'}`);
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`);
  }
  return { positionals: parsed.positionals, flags: parsed.values };
}

/** A string flag's value (undefined when absent). */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A positive integer flag, or the default. */
export function intFlag(args: ParsedArgs, name: string, def: number, min = 1, max = 1_000_000): number {
  const v = stringFlag(args, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer between ${min} and ${max}, got "${v}"`);
  return n;
}
