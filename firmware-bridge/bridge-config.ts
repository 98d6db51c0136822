/**
 * `smokehub-bridge` settings: defaults < JSON file (--config FILE) < env SMOKEHUB_BRIDGE_* < flags.
 * One table names every setting (flag, env, default, range, help); every value is validated and
 * a bad one is one clear ConfigError naming where it came from.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../hub/protocol/errors.ts';
import { isValidId } from '../hub/protocol/topics.ts';
import type { BridgeSettings } from './build-bridge.ts';
import { DEFAULT_FIRMATA, analogChannel } from './firmata-profile.ts';

/**
 * Where the bridge keeps its state unless told: the XDG state directory (`$XDG_STATE_HOME`, else
 * `~/.local/state`), never the current directory (run from a checkout, it would land in the repository).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'smokehub-bridge');
}

type Kind = 'string' | 'int' | 'number' | 'hub-url' | 'id' | 'analog-pin';
interface Spec {
  kind: Kind;
  default: string | number | null;
  min?: number;
  max?: number;
  help: string;
}

export const BRIDGE_SPEC = {
  hub: { kind: 'hub-url', default: null, help: 'hub URL: mqtt://HOST:1883, mqtts://, ws://HOST:8080/mqtt or wss://' },
  household: { kind: 'id', default: null, help: 'household id (as enrolled)' },
  device: { kind: 'id', default: null, help: 'device id (MQTT client id and user name)' },
  secret: { kind: 'string', default: null, help: 'device secret printed by `smokehub import`' },
  ca: {
    kind: 'string',
    default: null,
    help: "CA certificate (PEM) the hub's TLS certificate is checked against, for mqtts:// or wss:// (the hub's DATA/tls/ca.pem)",
  },
  serial: { kind: 'string', default: null, help: "serial line profile: the board's port, e.g. /dev/ttyUSB0" },
  firmata: { kind: 'string', default: null, help: "Firmata profile: the board's port, e.g. /dev/ttyACM0" },
  baud: { kind: 'int', default: null, min: 300, max: 4_000_000, help: 'baud rate (default 9600 serial, 57600 Firmata)' },
  state: {
    kind: 'string',
    default: defaultStateDir(),
    help: 'state directory (durable event outbox); default $XDG_STATE_HOME/smokehub-bridge (~/.local/state/smokehub-bridge)',
  },
  'outbox-max': { kind: 'int', default: 10_000, min: 100, max: 10_000_000, help: 'outbox bound (entries); telemetry is dropped first, alarm events never' },
  'smoke-pin': { kind: 'analog-pin', default: DEFAULT_FIRMATA.smokePin, help: 'Firmata: analog pin of the smoke sensor' },
  'smoke-threshold': { kind: 'number', default: DEFAULT_FIRMATA.smokeThreshold, min: 1, max: 100_000, help: 'Firmata: raw level at which smoke is reported' },
  'smoke-hysteresis': {
    kind: 'number',
    default: DEFAULT_FIRMATA.smokeHysteresis,
    min: 0,
    max: 100_000,
    help: 'Firmata: clear only below threshold minus this',
  },
  'button-pin': { kind: 'int', default: DEFAULT_FIRMATA.buttonPin, min: 0, max: 127, help: 'Firmata: push button to ground (internal pull-up)' },
  'hold-ms': { kind: 'int', default: DEFAULT_FIRMATA.holdMs, min: 500, max: 30_000, help: 'Firmata: a press this long is always a panic' },
  'piezo-pin': { kind: 'int', default: DEFAULT_FIRMATA.piezoPin, min: 0, max: 127, help: 'Firmata: active piezo buzzer (T3 pattern)' },
  'led-pin': { kind: 'int', default: DEFAULT_FIRMATA.ledPin, min: 0, max: 127, help: 'Firmata: status LED' },
  'temp-pin': { kind: 'analog-pin', default: null, help: 'Firmata: analog pin of a TMP36 temperature sensor (none by default)' },
  'telemetry-every': { kind: 'number', default: 60, min: 1, max: 86_400, help: 'Firmata: seconds between telemetry readings' },
  watchdog: { kind: 'number', default: 5, min: 1, max: 600, help: 'Firmata: seconds without a report before the board is declared faulty' },
  'log-level': { kind: 'string', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
} as const satisfies Record<string, Spec>;

export type BridgeKey = keyof typeof BRIDGE_SPEC;

export function envName(key: string): string {
  return `SMOKEHUB_BRIDGE_${key.toUpperCase().replace(/-/g, '_')}`;
}

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function coerce(key: string, spec: Spec, raw: unknown, where: string): string | number | null {
  if (raw === undefined || raw === null || raw === '') return spec.default;
  const at = `${key} (${where})`;
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n)))
        throw new ConfigError(`${at} must be ${spec.kind === 'int' ? 'an integer' : 'a number'}, got "${String(raw)}"`);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))
        throw new ConfigError(`${at} must be between ${spec.min} and ${spec.max}, got ${n}`);
      return n;
    }
    case 'hub-url': {
      const s = String(raw).trim();
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        throw new ConfigError(`${at} is not a URL: "${s}"`);
      }
      if (!['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:'].includes(u.protocol))
        throw new ConfigError(`${at} must be mqtt://, mqtts://, ws:// or wss://, got "${u.protocol}"`);
      return s;
    }
    case 'id': {
      const s = String(raw).trim();
      if (!isValidId(s)) throw new ConfigError(`${at} is not a valid id (letters, digits, "_", "." and "-", at most 64): "${String(raw).slice(0, 80)}"`);
      return s;
    }
    case 'analog-pin': {
      const s = String(raw).trim();
      try {
        analogChannel(s);
      } catch (err) {
        throw new ConfigError(`${at}: ${(err as Error).message}`);
      }
      return s.toUpperCase();
    }
    default:
      return String(raw);
  }
}

export interface LoadBridgeConfigOptions {
  flags: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
}

export type BridgeValues = { [K in BridgeKey]: string | number | null };

/** Merges and validates every setting (required ones are checked by `toBridgeSettings`). */
export function loadBridgeValues(opts: LoadBridgeConfigOptions): BridgeValues {
  const env = opts.env ?? process.env;
  const file = opts.flags.config ?? env.SMOKEHUB_BRIDGE_CONFIG;
  let fromFile: Record<string, unknown> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (!fromFile || typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new ConfigError(`config file ${file} must hold a JSON object`);
    const known = new Set(Object.keys(BRIDGE_SPEC).flatMap((k) => [k, camel(k)]));
    for (const k of Object.keys(fromFile)) {
      if (!known.has(k)) throw new ConfigError(`config file ${file}: unknown setting "${k}"; known: ${Object.keys(BRIDGE_SPEC).join(', ')}`);
    }
  }
  for (const f of Object.keys(opts.flags)) {
    if (f !== 'config' && !(f in BRIDGE_SPEC)) throw new ConfigError(`unknown flag --${f}; see smokehub-bridge --help`);
  }
  const out: Record<string, string | number | null> = {};
  for (const [key, spec] of Object.entries(BRIDGE_SPEC) as Array<[string, Spec]>) {
    let raw: unknown = fromFile[key] ?? fromFile[camel(key)];
    let where = `in ${file}`;
    const e = env[envName(key)];
    if (e !== undefined && e !== '') {
      raw = e;
      where = `env ${envName(key)}`;
    }
    if (opts.flags[key] !== undefined) {
      raw = opts.flags[key];
      where = `--${key}`;
    }
    out[key] = coerce(key, spec, raw, where);
  }
  return out as BridgeValues;
}

/**
 * Reads the CA certificate file given with --ca: one ConfigError when it is missing or holds no
 * PEM certificate. A --ca with a plain mqtt:// or ws:// hub URL is refused too (it would do nothing).
 */
export function readCaFile(path: string, hubUrl: string | null): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read --ca ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no -----BEGIN CERTIFICATE----- in it');
    new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError(`--ca ${path} is not a PEM certificate: ${(err as Error).message}`);
  }
  if (hubUrl !== null && !/^(mqtts|wss):/i.test(hubUrl)) throw new ConfigError(`--ca is for a TLS hub URL (mqtts:// or wss://), but the hub is ${hubUrl}`);
  return pem;
}

/** Checks what a running bridge needs and shapes it. */
export function toBridgeSettings(v: BridgeValues): BridgeSettings {
  for (const k of ['hub', 'household', 'device', 'secret'] as const) {
    if (v[k] === null) throw new ConfigError(`missing --${k} (or env ${envName(k)}, or "${k}" in --config FILE)`);
  }
  if ((v.serial === null) === (v.firmata === null))
    throw new ConfigError('give exactly one board: --serial PATH (own firmware, line protocol) or --firmata PATH (StandardFirmata)');
  if (v['smoke-hysteresis']! >= v['smoke-threshold']!) throw new ConfigError('smoke-hysteresis must be smaller than smoke-threshold');
  const base = {
    hub: String(v.hub),
    household: String(v.household),
    device: String(v.device),
    secret: String(v.secret),
    state: resolve(String(v.state)),
    outboxMax: Number(v['outbox-max']),
    ...(v.ca === null ? {} : { ca: readCaFile(String(v.ca), String(v.hub)) }),
  };
  if (v.serial !== null) return { ...base, serial: { path: String(v.serial), baud: Number(v.baud ?? 9600) } };
  return {
    ...base,
    firmata: {
      path: String(v.firmata),
      baud: Number(v.baud ?? DEFAULT_FIRMATA.baud),
      smokePin: String(v['smoke-pin']),
      smokeThreshold: Number(v['smoke-threshold']),
      smokeHysteresis: Number(v['smoke-hysteresis']),
      buttonPin: Number(v['button-pin']),
      holdMs: Number(v['hold-ms']),
      piezoPin: Number(v['piezo-pin']),
      ledPin: Number(v['led-pin']),
      temperaturePin: v['temp-pin'] === null ? null : String(v['temp-pin']),
      telemetryIntervalMs: Number(v['telemetry-every']) * 1000,
      watchdogMs: Number(v.watchdog) * 1000,
    },
  };
}

export function bridgeHelp(): string {
  return (Object.entries(BRIDGE_SPEC) as Array<[string, Spec]>)
    .map(([k, s]) => `  --${k.padEnd(18)} ${s.help} (env ${envName(k)}${s.default === null ? '' : `, default ${s.default}`})`)
    .join('\n');
}
