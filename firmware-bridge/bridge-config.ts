/**
 * `smokehub-bridge` settings: defaults < JSON file (--config FILE) < env SMOKEHUB_BRIDGE_* < flags.
 * One table names every setting (flag, env, default, range, help), loaded by the loader the hub
 * shares (hub/config/config-loader.ts): every bad setting is reported at once in one ConfigError,
 * each naming where its value came from; the result is frozen.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readSettingsFile } from '../hub/config/config-file.ts';
import {
  type KindParser,
  type LoadResult,
  type SettingSpec,
  type SettingsOf,
  type SettingsTable,
  formatProblems,
  invalid,
  loadSettings,
  settingsHelp,
  urlKind,
} from '../hub/config/config-loader.ts';
import { ConfigError } from '../hub/protocol/errors.ts';
import { hubConnectTarget, splitHubUrls } from './hub-urls.ts';

const oneHubUrl = urlKind(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:'], 'mqtt://, mqtts://, ws:// or wss://');
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

/** A bridge setting: its flag is its key, its env name `envName(key)`. */
type BridgeSpec = Omit<SettingSpec, 'flag' | 'env'>;

export const BRIDGE_SPEC = {
  hub: {
    kind: 'hub-url',
    default: null,
    help: "hub URL: mqtt://HOST:1883, mqtts://, ws://HOST:8080/mqtt or wss://; several comma-separated (a cluster's nodes): the next is tried when one refuses or dies",
  },
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
} as const satisfies Record<string, BridgeSpec>;

export type BridgeKey = keyof typeof BRIDGE_SPEC;

export function envName(key: string): string {
  return `SMOKEHUB_BRIDGE_${key.toUpperCase().replace(/-/g, '_')}`;
}

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** BRIDGE_SPEC as the shared loader's table: flag = key, env = envName(key). */
const BRIDGE_TABLE = Object.fromEntries(Object.entries(BRIDGE_SPEC).map(([k, s]) => [k, { ...s, flag: k, env: envName(k) }])) as {
  [K in BridgeKey]: (typeof BRIDGE_SPEC)[K] & { flag: K; env: string };
};

/** The bridge's own value kinds, besides the loader's string, int and number. */
const BRIDGE_KINDS: Record<string, KindParser> = {
  // One URL, or several comma-separated (the nodes of a cluster: hub-urls.ts), each checked.
  'hub-url': (raw, spec) => {
    const urls = splitHubUrls(String(raw));
    if (urls.length === 0) return invalid('is empty');
    for (const u of urls) {
      const r = oneHubUrl(u, spec);
      if (typeof r !== 'string') return r;
    }
    try {
      hubConnectTarget(urls.join(','));
    } catch (err) {
      return invalid((err as Error).message);
    }
    return urls.join(',');
  },
  id: (raw) => {
    const s = String(raw).trim();
    return isValidId(s) ? s : invalid(`is not a valid id (letters, digits, "_", "." and "-", at most 64): "${String(raw).slice(0, 80)}"`);
  },
  // analogChannel's RangeError becomes "smoke-pin (--smoke-pin): analog pin must look like A0..A15, …".
  'analog-pin': (raw) => {
    const s = String(raw).trim();
    analogChannel(s);
    return s.toUpperCase();
  },
};

export interface LoadBridgeConfigOptions {
  flags: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
}

export type BridgeValues = SettingsOf<typeof BRIDGE_TABLE>;

function loadBridge(opts: LoadBridgeConfigOptions, checks?: (v: Partial<BridgeValues>) => string[]): LoadResult<typeof BRIDGE_TABLE> {
  const env = opts.env ?? process.env;
  const path = opts.flags.config ?? env.SMOKEHUB_BRIDGE_CONFIG;
  const read = path ? readSettingsFile(path, true) : { file: null, problems: [] };
  return loadSettings(
    BRIDGE_TABLE,
    { flags: opts.flags, env, file: read.file, problems: read.problems },
    {
      kinds: BRIDGE_KINDS,
      fileKeys: (k) => [k, camel(k)],
      unknownFlag: (f) => (f === 'config' ? null : `unknown flag --${f}; see smokehub-bridge --help`),
      ...(checks ? { checks } : {}),
    },
  );
}

/**
 * Merges and validates every setting, frozen; a ConfigError lists every bad one (what a running
 * bridge needs on top is checked by `toBridgeSettings`; `loadBridgeConfig` does both at once).
 */
export function loadBridgeValues(opts: LoadBridgeConfigOptions): BridgeValues {
  const loaded = loadBridge(opts);
  if (!loaded.ok) throw new ConfigError(formatProblems(loaded.problems));
  return loaded.values;
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

/**
 * The bridge's cross-checks over its valid values (a bad value's key is absent: it is reported
 * already), and the CA certificate read: every problem, none thrown.
 */
function checkBridgeValues(v: Partial<BridgeValues>): { problems: string[]; ca: string | undefined } {
  const problems: string[] = [];
  for (const k of ['hub', 'household', 'device', 'secret'] as const) {
    if (v[k] === null) problems.push(`missing --${k} (or env ${envName(k)}, or "${k}" in --config FILE)`);
  }
  if ((v.serial === null) === (v.firmata === null))
    problems.push('give exactly one board: --serial PATH (own firmware, line protocol) or --firmata PATH (StandardFirmata)');
  const threshold = v['smoke-threshold'];
  const hysteresis = v['smoke-hysteresis'];
  if (threshold !== undefined && hysteresis !== undefined && hysteresis >= threshold) problems.push('smoke-hysteresis must be smaller than smoke-threshold');
  let ca: string | undefined;
  if (typeof v.ca === 'string') {
    try {
      ca = readCaFile(v.ca, typeof v.hub === 'string' ? v.hub : null);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { problems, ca };
}

function shape(v: BridgeValues, ca: string | undefined): BridgeSettings {
  const base = {
    hub: String(v.hub),
    household: String(v.household),
    device: String(v.device),
    secret: String(v.secret),
    state: resolve(String(v.state)),
    outboxMax: Number(v['outbox-max']),
    ...(ca === undefined ? {} : { ca }),
  };
  if (v.serial !== null) return Object.freeze({ ...base, serial: Object.freeze({ path: String(v.serial), baud: Number(v.baud ?? 9600) }) });
  return Object.freeze({
    ...base,
    firmata: Object.freeze({
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
    }),
  });
}

/** Checks what a running bridge needs and shapes it, frozen; a ConfigError lists every problem. */
export function toBridgeSettings(v: BridgeValues): BridgeSettings {
  const checked = checkBridgeValues(v);
  if (checked.problems.length > 0) throw new ConfigError(formatProblems(checked.problems.map((message) => ({ message }))));
  return shape(v, checked.ca);
}

/**
 * What `smokehub-bridge` runs with: the values and the settings, both frozen. Every problem — bad
 * values, unknown flags or file keys, missing or conflicting settings, the CA file — in one ConfigError.
 */
export function loadBridgeConfig(opts: LoadBridgeConfigOptions): { values: BridgeValues; settings: BridgeSettings } {
  let ca: string | undefined;
  const loaded = loadBridge(opts, (v) => {
    const checked = checkBridgeValues(v);
    ca = checked.ca;
    return checked.problems;
  });
  if (!loaded.ok) throw new ConfigError(formatProblems(loaded.problems));
  return { values: loaded.values, settings: shape(loaded.values, ca) };
}

export function bridgeHelp(): string {
  return settingsHelp(BRIDGE_TABLE, 18);
}

/**
 * `smokehub-bridge simulate` settings: flags, and env SMOKEHUB_BRIDGE_HUB / SMOKEHUB_BRIDGE_CA
 * (the others are flags only). Other flags (`--stdin`) are left to the command.
 */
export const SIMULATE_TABLE = {
  hub: { kind: 'hub-url', flag: 'hub', env: envName('hub'), default: null, help: 'hub URL' },
  credentials: { kind: 'string', flag: 'credentials', default: null, help: 'the CSV printed by `smokehub import`' },
  ca: { kind: 'string', flag: 'ca', env: envName('ca'), default: null, help: 'CA certificate (PEM) of a TLS hub' },
  rate: { kind: 'number', flag: 'rate', default: null, min: 0.001, max: 1_000_000, help: 'telemetry messages per second, all devices' },
  'alarm-every': { kind: 'number', flag: 'alarm-every', default: null, min: 0, max: 86_400, help: 'seconds between random alarms' },
  'connect-rate': { kind: 'number', flag: 'connect-rate', default: null, min: 1, max: 100_000, help: 'new connections per second' },
  'log-level': { kind: 'string', flag: 'log-level', default: 'info', help: 'pino level' },
} as const satisfies SettingsTable;

export type SimulateValues = SettingsOf<typeof SIMULATE_TABLE>;

/** The simulator's settings, frozen, with the CA read; a ConfigError lists every problem. */
export function loadSimulateValues(opts: LoadBridgeConfigOptions): { values: SimulateValues; ca: string | undefined } {
  let ca: string | undefined;
  const loaded = loadSettings(
    SIMULATE_TABLE,
    { flags: opts.flags, env: opts.env ?? process.env },
    {
      kinds: BRIDGE_KINDS,
      checks: (v) => {
        const problems: string[] = [];
        if (v.hub === null) problems.push('simulate needs --hub URL');
        if (v.credentials === null) problems.push('simulate needs --credentials FILE (the CSV printed by `smokehub import`)');
        if (typeof v.ca === 'string') {
          try {
            ca = readCaFile(v.ca, typeof v.hub === 'string' ? v.hub : null);
          } catch (err) {
            problems.push((err as Error).message);
          }
        }
        return problems;
      },
    },
  );
  if (!loaded.ok) throw new ConfigError(formatProblems(loaded.problems));
  return { values: loaded.values, ca };
}
