/**
 * The one table-driven settings loader of the hub (hub/config/config.ts) and the bridge
 * (firmware-bridge/bridge-config.ts). Each program keeps only its table (name, flag, env, type,
 * default, range, help) and its own cross-checks; this module merges defaults < file < env < flags,
 * validates every value and returns either the frozen result or EVERY problem, each naming where
 * its value came from. Pure: the file's content, the env and the flags come in as data (reading the
 * file is config-file.ts); it never throws on input.
 */

/** Value kinds every program has; a program adds its own (cron, hub URL, …) with `kinds`. */
export type BaseKind = 'string' | 'int' | 'number' | 'bool' | 'onoff';

export interface SettingSpec {
  /** A base kind, or the name of one of the program's `kinds` (whose values are strings). */
  kind: string;
  flag: string;
  /** Absent: a flag (or file key) only. */
  env?: string;
  default: string | number | boolean | null;
  min?: number;
  max?: number;
  help: string;
}

export type SettingsTable = Record<string, SettingSpec>;

type ValueOf<S extends SettingSpec> = S['kind'] extends 'int' | 'number'
  ? number
  : S['kind'] extends 'bool'
    ? boolean
    : S['kind'] extends 'onoff'
      ? 'on' | 'off'
      : string;

/** The loaded values of a table: a setting without default (null) may stay null. */
export type SettingsOf<T extends SettingsTable> = {
  [K in keyof T]: T[K]['default'] extends null ? ValueOf<T[K]> | null : ValueOf<T[K]>;
};

/** A rejected value: the text after "key (source) ", e.g. `must be an integer, got "x"`. */
export interface Invalid {
  invalid: string;
}
export const invalid = (text: string): Invalid => ({ invalid: text });
const isInvalid = (v: unknown): v is Invalid => typeof v === 'object' && v !== null && 'invalid' in v;

/**
 * A program's own value kind: the raw value (never empty) to its string value, or `invalid(...)`.
 * An exception it throws is reported as "key (source): message" (it is caught, never passed on).
 */
export type KindParser = (raw: unknown, spec: SettingSpec) => string | Invalid;

/** Where a value came from, as problems name it: `--mqtt-port`, `env SMOKEHUB_MQTT_PORT`, `in FILE`, `default`. */
export type Source = string;

export interface Problem {
  /** The table key, or null for a problem of no one setting (a bad file, an unknown flag, a cross-check). */
  key: string | null;
  /** Where the bad value came from (null for a cross-check). */
  source: Source | null;
  /** The whole sentence, e.g. `mqttPort (--mqtt-port) must be between 0 and 65535, got 99999`. */
  message: string;
}

export interface SettingsInputs {
  /** Command-line flags by flag name (`mqtt-port`), strings as typed. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  /** The config file's object (read by config-file.ts), or null when there is none. */
  file?: { path: string; values: Record<string, unknown> } | null;
  /** Problems found before loading (an unreadable config file): reported with the others. */
  problems?: readonly Problem[];
}

export interface LoaderOptions<T extends SettingsTable> {
  kinds?: Record<string, KindParser>;
  /** The keys a setting may have in the file (default: its table key). */
  fileKeys?: (key: string, spec: SettingSpec) => string[];
  /** For a flag that is no setting: its problem, or null to let it pass. Absent: such flags are ignored. */
  unknownFlag?: (flag: string) => string | null;
  /**
   * The program's cross-checks over the settings whose values are valid: a bad value's key is
   * absent (it is reported already), a setting left unset holds its default (null when none).
   */
  checks?: (values: Partial<SettingsOf<T>>) => string[];
}

export type LoadResult<T extends SettingsTable> =
  | { ok: true; values: Readonly<SettingsOf<T>>; sources: Readonly<Record<keyof T, Source>> }
  | { ok: false; problems: readonly Problem[] };

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

function parseBase(kind: BaseKind, spec: SettingSpec, raw: unknown): string | number | boolean | Invalid {
  switch (kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n)))
        return invalid(`must be ${kind === 'int' ? 'an integer' : 'a number'}, got "${String(raw)}"`);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))
        return invalid(`must be between ${spec.min} and ${spec.max}, got ${n}`);
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const t = String(raw).trim().toLowerCase();
      if (TRUE.includes(t)) return true;
      if (FALSE.includes(t)) return false;
      return invalid(`must be true or false, got "${String(raw)}"`);
    }
    case 'onoff': {
      const t = typeof raw === 'boolean' ? (raw ? 'on' : 'off') : String(raw).trim().toLowerCase();
      if (TRUE.includes(t)) return 'on';
      if (FALSE.includes(t)) return 'off';
      return invalid(`must be on or off, got "${String(raw)}"`);
    }
    default:
      return String(raw);
  }
}

const BASE_KINDS: ReadonlySet<string> = new Set<BaseKind>(['string', 'int', 'number', 'bool', 'onoff']);

/** A URL kind for the given schemes (`['http:', 'https:']`); `expected` names them in the problem. */
export function urlKind(schemes: readonly string[], expected: string): KindParser {
  return (raw) => {
    const s = String(raw).trim();
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return invalid(`is not a URL: "${s}"`);
    }
    if (!schemes.includes(u.protocol)) return invalid(`must be ${expected}, got "${u.protocol}"`);
    return s;
  };
}

function unknownKeysProblem(path: string, unknown: string[], table: SettingsTable): Problem {
  const list = unknown.map((k) => `"${k}"`).join(', ');
  return {
    key: null,
    source: `in ${path}`,
    message: `config file ${path}: unknown setting${unknown.length > 1 ? 's' : ''} ${list}; known: ${Object.keys(table).join(', ')}`,
  };
}

/** Merges defaults < file < env < flags and validates every setting; every problem is returned, none thrown. */
export function loadSettings<T extends SettingsTable>(table: T, inputs: SettingsInputs, options: LoaderOptions<T> = {}): LoadResult<T> {
  const flags = inputs.flags ?? {};
  const env = inputs.env ?? {};
  const fileValues = inputs.file?.values ?? {};
  const filePath = inputs.file?.path ?? '';
  const fileKeys = options.fileKeys ?? ((key: string) => [key]);
  const problems: Problem[] = [...(inputs.problems ?? [])];

  const entries = Object.entries(table);
  const knownFileKeys = new Set(entries.flatMap(([key, spec]) => fileKeys(key, spec)));
  const unknown = Object.keys(fileValues).filter((k) => !knownFileKeys.has(k));
  if (unknown.length > 0) problems.push(unknownKeysProblem(filePath, unknown, table));
  if (options.unknownFlag) {
    const flagNames = new Set(entries.map(([, spec]) => spec.flag));
    for (const f of Object.keys(flags)) {
      const message = flagNames.has(f) ? null : options.unknownFlag(f);
      if (message !== null) problems.push({ key: null, source: `--${f}`, message });
    }
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  for (const [key, spec] of entries) {
    let raw: unknown;
    let source: Source = 'default';
    for (const k of fileKeys(key, spec)) {
      if (fileValues[k] !== undefined && fileValues[k] !== null) {
        raw = fileValues[k];
        source = `in ${filePath}`;
        break;
      }
    }
    const e = spec.env === undefined ? undefined : env[spec.env];
    if (e !== undefined && e !== '') {
      raw = e;
      source = `env ${spec.env}`;
    }
    if (flags[spec.flag] !== undefined) {
      raw = flags[spec.flag];
      source = `--${spec.flag}`;
    }
    sources[key] = source;
    if (raw === undefined || raw === null || raw === '') {
      values[key] = spec.default;
      continue;
    }
    const at = `${key} (${source})`;
    const own = options.kinds?.[spec.kind];
    let parsed: unknown;
    try {
      if (own) parsed = own(raw, spec);
      else if (BASE_KINDS.has(spec.kind)) parsed = parseBase(spec.kind as BaseKind, spec, raw);
      else parsed = invalid(`has an unknown kind "${spec.kind}" (a bug in the settings table)`);
    } catch (err) {
      problems.push({ key, source, message: `${at}: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    if (isInvalid(parsed)) problems.push({ key, source, message: `${at} ${parsed.invalid}` });
    else values[key] = parsed;
  }

  if (options.checks) {
    let messages: string[];
    try {
      messages = options.checks(values as Partial<SettingsOf<T>>);
    } catch (err) {
      messages = [err instanceof Error ? err.message : String(err)];
    }
    for (const message of messages) problems.push({ key: null, source: null, message });
  }
  if (problems.length > 0) return { ok: false, problems: Object.freeze(problems.map((p) => Object.freeze(p))) };
  return { ok: true, values: Object.freeze(values) as Readonly<SettingsOf<T>>, sources: Object.freeze(sources) as Readonly<Record<keyof T, Source>> };
}

/** One start-up message: the problem itself, or `N settings are not valid:` and one line each. */
export function formatProblems(problems: readonly Pick<Problem, 'message'>[]): string {
  if (problems.length === 1) return problems[0]!.message;
  return `${problems.length} settings are not valid:\n  - ${problems.map((p) => p.message).join('\n  - ')}`;
}

/** Help lines, one per setting: `  --flag  help (env NAME, default D)`. */
export function settingsHelp(table: SettingsTable, width: number): string {
  return Object.values(table)
    .map((s) => {
      const notes = [...(s.env === undefined ? [] : [`env ${s.env}`]), ...(s.default === null ? [] : [`default ${s.default}`])];
      return `  --${s.flag.padEnd(width)} ${s.help}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
    })
    .join('\n');
}
