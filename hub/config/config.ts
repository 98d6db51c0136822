/**
 * Hub configuration: defaults < JSON file (--config FILE, or DATA/config.json) < env < flags.
 * Every value is validated; a bad one is one clear ConfigError at start-up.
 */
import { validateDetailed } from 'node-cron';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../protocol/errors.ts';

type Kind = 'string' | 'int' | 'number' | 'bool' | 'onoff' | 'url' | 'cron' | 'timezone';
interface Spec {
  kind: Kind;
  flag: string;
  env: string;
  default: string | number | boolean | null;
  min?: number;
  max?: number;
  help: string;
}

/** The table of every setting: one place for flag, env name, default, range and help text. */
export const CONFIG_SPEC = {
  dataDir: { kind: 'string', flag: 'data', env: 'SMOKEHUB_DATA', default: './data', help: 'data directory (SQLite database, outbox)' },
  host: { kind: 'string', flag: 'host', env: 'SMOKEHUB_HOST', default: '0.0.0.0', help: 'address the MQTT and HTTP servers listen on' },
  mqttPort: { kind: 'int', flag: 'mqtt-port', env: 'SMOKEHUB_MQTT_PORT', default: 1883, min: 0, max: 65535, help: 'MQTT TCP port (0: any free port)' },
  httpPort: {
    kind: 'int',
    flag: 'http-port',
    env: 'SMOKEHUB_HTTP_PORT',
    default: 8080,
    min: 0,
    max: 65535,
    help: 'HTTP port: API, dashboard, MQTT over WebSocket at /mqtt',
  },
  mqttsPort: { kind: 'int', flag: 'mqtts-port', env: 'SMOKEHUB_MQTTS_PORT', default: 8883, min: 0, max: 65535, help: 'MQTT over TLS port (0: any free port)' },
  httpsPort: {
    kind: 'int',
    flag: 'https-port',
    env: 'SMOKEHUB_HTTPS_PORT',
    default: 8443,
    min: 0,
    max: 65535,
    help: 'HTTPS port: API, dashboard, MQTT over secure WebSocket at /mqtt (0: any free port)',
  },
  plain: {
    kind: 'onoff',
    flag: 'plain',
    env: 'SMOKEHUB_PLAIN',
    default: 'on',
    help: 'on or off: off closes the plain MQTT and HTTP ports (TLS only, HSTS sent), for a hub reached over the internet',
  },
  tlsCert: {
    kind: 'string',
    flag: 'tls-cert',
    env: 'SMOKEHUB_TLS_CERT',
    default: null,
    help: "the operator's own server certificate (PEM, chain included) instead of the hub's local CA in DATA/tls",
  },
  tlsKey: { kind: 'string', flag: 'tls-key', env: 'SMOKEHUB_TLS_KEY', default: null, help: 'the private key (PEM) of --tls-cert' },
  verifyWindowS: {
    kind: 'number',
    flag: 'verify-window',
    env: 'SMOKEHUB_VERIFY_WINDOW_S',
    default: 20,
    min: 0,
    max: 600,
    help: 'seconds a pre-alarm waits before neighbours are alerted (0 disables)',
  },
  escalateAfterS: {
    kind: 'number',
    flag: 'escalate-after',
    env: 'SMOKEHUB_ESCALATE_AFTER_S',
    default: 120,
    min: 1,
    max: 3600,
    help: 'seconds an active alarm may stay uncancelled before it is escalated',
  },
  resolveQuietS: {
    kind: 'number',
    flag: 'resolve-quiet',
    env: 'SMOKEHUB_RESOLVE_QUIET_S',
    default: 60,
    min: 0,
    max: 3600,
    help: 'seconds without smoke after all devices cleared before an alarm resolves',
  },
  hushPeriodS: {
    kind: 'number',
    flag: 'hush-period',
    env: 'SMOKEHUB_HUSH_PERIOD_S',
    default: 300,
    min: 5,
    max: 900,
    help: 'seconds a hushed alarm is watched before it is re-raised (devices still alarming) or cancelled',
  },
  slowClientTimeoutS: {
    kind: 'number',
    flag: 'slow-client-timeout',
    env: 'SMOKEHUB_SLOW_CLIENT_TIMEOUT_S',
    default: 30,
    min: 1,
    max: 600,
    help: 'seconds an MQTT connection may stay unable to drain its deliveries before it is closed',
  },
  httpHeadersTimeoutS: {
    kind: 'number',
    flag: 'http-headers-timeout',
    env: 'SMOKEHUB_HTTP_HEADERS_TIMEOUT_S',
    default: 15,
    min: 0.5,
    max: 20,
    help: 'seconds an HTTP client has to send its request line and headers before the connection is closed',
  },
  httpRequestTimeoutS: {
    kind: 'number',
    flag: 'http-request-timeout',
    env: 'SMOKEHUB_HTTP_REQUEST_TIMEOUT_S',
    default: 30,
    min: 1,
    max: 300,
    help: 'seconds an HTTP client has to send a whole request (headers and body)',
  },
  httpMaxConnections: {
    kind: 'int',
    flag: 'http-max-connections',
    env: 'SMOKEHUB_HTTP_MAX_CONNECTIONS',
    default: 2048,
    min: 16,
    max: 1_000_000,
    help: 'open HTTP and WebSocket connections at most (they never take the file descriptors held back for enrolled devices)',
  },
  httpMaxConnectionsPerAddress: {
    kind: 'int',
    flag: 'http-max-connections-per-address',
    env: 'SMOKEHUB_HTTP_MAX_CONNECTIONS_PER_ADDRESS',
    default: 256,
    min: 1,
    max: 1_000_000,
    help: 'open HTTP and WebSocket connections at most from one IP address',
  },
  allowedOrigins: {
    kind: 'string',
    flag: 'allowed-origins',
    env: 'SMOKEHUB_ALLOWED_ORIGINS',
    default: null,
    help: "web origins (scheme://host[:port], comma-separated) besides the hub's own whose pages may use the API and MQTT over WebSocket",
  },
  metricsPublic: {
    kind: 'bool',
    flag: 'metrics-public',
    env: 'SMOKEHUB_METRICS_PUBLIC',
    default: false,
    help: '/metrics without login also when the hub listens beyond loopback',
  },
  metricsToken: {
    kind: 'string',
    flag: 'metrics-token',
    env: 'SMOKEHUB_METRICS_TOKEN',
    default: null,
    help: 'bearer token that may read /metrics (Prometheus authorization), at least 16 characters',
  },
  nearbyRadiusM: {
    kind: 'number',
    flag: 'nearby-radius',
    env: 'SMOKEHUB_NEARBY_RADIUS_M',
    default: 50,
    min: 0,
    max: 5000,
    help: 'metres around a fire within which households of other teams are alerted too (0: none)',
  },
  modem: {
    kind: 'string',
    flag: 'modem',
    env: 'SMOKEHUB_MODEM',
    default: null,
    help: 'serial port of a GSM modem for SMS and calls, e.g. /dev/ttyUSB2 (several: comma-separated)',
  },
  modemBaud: {
    kind: 'int',
    flag: 'modem-baud',
    env: 'SMOKEHUB_MODEM_BAUD',
    default: 115200,
    min: 1200,
    max: 921600,
    help: 'baud rate of the modem serial port',
  },
  modemPin: { kind: 'string', flag: 'modem-pin', env: 'SMOKEHUB_MODEM_PIN', default: null, help: "the SIM card's PIN, when it asks for one" },
  smsUnaccented: {
    kind: 'bool',
    flag: 'sms-unaccented',
    env: 'SMOKEHUB_SMS_UNACCENTED',
    default: false,
    help: 'send SMS in GSM-7 without Vietnamese diacritics (160 characters per SMS instead of 70)',
  },
  callAfterS: {
    kind: 'number',
    flag: 'call-after',
    env: 'SMOKEHUB_CALL_AFTER_S',
    default: 60,
    min: 5,
    max: 3600,
    help: 'seconds a texted neighbour has to answer before the hub calls them',
  },
  callRingS: {
    kind: 'number',
    flag: 'call-ring',
    env: 'SMOKEHUB_CALL_RING_S',
    default: 30,
    min: 5,
    max: 120,
    help: 'seconds a voice call rings before the hub hangs up (a missed call wakes a sleeper)',
  },
  stationPhones: {
    kind: 'string',
    flag: 'station-phones',
    env: 'SMOKEHUB_STATION_PHONES',
    default: null,
    help: 'fire station numbers (E.164, comma-separated): called in order and sent the dispatch card when an alarm escalates',
  },
  influxUrl: {
    kind: 'url',
    flag: 'influx',
    env: 'SMOKEHUB_INFLUX_URL',
    default: null,
    help: 'InfluxDB 1.x URL http://[user:pass@]HOST:PORT/DB (default: embedded SQLite store)',
  },
  influxUser: { kind: 'string', flag: 'influx-user', env: 'SMOKEHUB_INFLUX_USER', default: null, help: 'InfluxDB user (or in the URL)' },
  influxPassword: { kind: 'string', flag: 'influx-password', env: 'SMOKEHUB_INFLUX_PASSWORD', default: null, help: 'InfluxDB password (or in the URL)' },
  rawRetentionDays: {
    kind: 'int',
    flag: 'raw-retention-days',
    env: 'SMOKEHUB_RAW_RETENTION_DAYS',
    default: 30,
    min: 1,
    max: 3650,
    help: 'days raw telemetry is kept in InfluxDB',
  },
  rollupRetentionDays: {
    kind: 'int',
    flag: 'rollup-retention-days',
    env: 'SMOKEHUB_ROLLUP_RETENTION_DAYS',
    default: 730,
    min: 1,
    max: 36500,
    help: 'days 5-minute means/max are kept in InfluxDB',
  },
  embeddedRetentionDays: {
    kind: 'int',
    flag: 'embedded-retention-days',
    env: 'SMOKEHUB_EMBEDDED_RETENTION_DAYS',
    default: 7,
    min: 1,
    max: 365,
    help: 'days telemetry is kept in the embedded SQLite store',
  },
  outboxMaxPoints: {
    kind: 'int',
    flag: 'outbox-max-points',
    env: 'SMOKEHUB_OUTBOX_MAX_POINTS',
    default: 5_000_000,
    min: 1000,
    max: 100_000_000,
    help: 'bound of the durable telemetry outbox (points)',
  },
  supervisionWindowS: {
    kind: 'number',
    flag: 'supervision-window',
    env: 'SMOKEHUB_SUPERVISION_WINDOW_S',
    default: 200,
    min: 1,
    max: 86400,
    help: 'seconds a device may stay silent before it is reported offline',
  },
  countryCode: {
    kind: 'int',
    flag: 'country-code',
    env: 'SMOKEHUB_COUNTRY_CODE',
    default: 84,
    min: 1,
    max: 999,
    help: 'country calling code of local phone numbers (0…) in the registry, for E.164',
  },
  timezone: { kind: 'timezone', flag: 'timezone', env: 'SMOKEHUB_TIMEZONE', default: 'Asia/Ho_Chi_Minh', help: 'timezone of schedules and daily reports' },
  selfTestCron: { kind: 'cron', flag: 'self-test-cron', env: 'SMOKEHUB_SELF_TEST_CRON', default: '0 9 * * 0', help: 'weekly detector self-test schedule' },
  dailyCron: { kind: 'cron', flag: 'daily-cron', env: 'SMOKEHUB_DAILY_CRON', default: '0 18 * * *', help: 'daily battery / end-of-life check schedule' },
  equipmentCron: {
    kind: 'cron',
    flag: 'equipment-cron',
    env: 'SMOKEHUB_EQUIPMENT_CRON',
    default: '0 9 1 * *',
    help: 'monthly equipment expiry reminder schedule',
  },
  selfTestTimeoutS: {
    kind: 'number',
    flag: 'self-test-timeout',
    env: 'SMOKEHUB_SELF_TEST_TIMEOUT_S',
    default: 300,
    min: 1,
    max: 3600,
    help: 'seconds a detector has to answer the weekly self-test',
  },
  reportCron: {
    kind: 'cron',
    flag: 'report-cron',
    env: 'SMOKEHUB_REPORT_CRON',
    default: '5 0 * * *',
    help: 'daily station report schedule (reports the previous day)',
  },
  flapCycles: {
    kind: 'int',
    flag: 'flap-cycles',
    env: 'SMOKEHUB_FLAP_CYCLES',
    default: 4,
    min: 2,
    max: 1000,
    help: 'down/up cycles within --flap-window that make a device flapping',
  },
  flapWindowS: {
    kind: 'number',
    flag: 'flap-window',
    env: 'SMOKEHUB_FLAP_WINDOW_S',
    default: 3600,
    min: 10,
    max: 86400,
    help: 'seconds over which down/up cycles are counted for flapping',
  },
  batteryLowPercent: {
    kind: 'number',
    flag: 'battery-low',
    env: 'SMOKEHUB_BATTERY_LOW_PERCENT',
    default: 20,
    min: 1,
    max: 99,
    help: 'battery level (%) below which the daily check reminds the household',
  },
  catchUpDelayS: {
    kind: 'number',
    flag: 'catch-up-delay',
    env: 'SMOKEHUB_CATCH_UP_DELAY_S',
    default: 60,
    min: 0,
    max: 3600,
    help: 'seconds after start before a job missed while the hub was off runs (devices reconnect first)',
  },
  logLevel: { kind: 'string', flag: 'log-level', env: 'SMOKEHUB_LOG_LEVEL', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
} as const satisfies Record<string, Spec>;

export type ConfigKey = keyof typeof CONFIG_SPEC;
type ValueOf<S extends Spec> = S['kind'] extends 'int' | 'number'
  ? number
  : S['kind'] extends 'bool'
    ? boolean
    : S['kind'] extends 'onoff'
      ? 'on' | 'off'
      : string;
export type HubConfig = {
  [K in ConfigKey]: (typeof CONFIG_SPEC)[K]['default'] extends null ? ValueOf<(typeof CONFIG_SPEC)[K]> | null : ValueOf<(typeof CONFIG_SPEC)[K]>;
};

/**
 * A cron expression node-cron (the scheduler, supervision/cron-schedule.ts) accepts: one validator
 * for the config and the scheduler, so a value the config lets through always schedules.
 */
export function isValidCron(expr: string): boolean {
  return typeof expr === 'string' && validateDetailed(expr).valid;
}

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function coerce(key: string, spec: Spec, raw: unknown, source: string): string | number | boolean | null {
  if (raw === null || raw === undefined || raw === '') return spec.default;
  const where = `${key} (${source})`;
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${where} must be ${spec.kind === 'int' ? 'an integer' : 'a number'}, got "${String(raw)}"`);
      }
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new ConfigError(`${where} must be between ${spec.min} and ${spec.max}, got ${n}`);
      }
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const t = String(raw).trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      throw new ConfigError(`${where} must be true or false, got "${String(raw)}"`);
    }
    case 'onoff': {
      const t = typeof raw === 'boolean' ? (raw ? 'on' : 'off') : String(raw).trim().toLowerCase();
      if (['on', 'true', 'yes', '1'].includes(t)) return 'on';
      if (['off', 'false', 'no', '0'].includes(t)) return 'off';
      throw new ConfigError(`${where} must be on or off, got "${String(raw)}"`);
    }
    case 'url': {
      const s = String(raw);
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        throw new ConfigError(`${where} is not a URL: "${s}"`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${where} must be http:// or https://, got "${u.protocol}"`);
      return s;
    }
    case 'cron': {
      const s = String(raw).trim();
      if (!isValidCron(s)) throw new ConfigError(`${where} is not a valid cron expression: "${s}"`);
      return s;
    }
    case 'timezone': {
      const s = String(raw).trim();
      if (!isValidTimezone(s)) throw new ConfigError(`${where} is not a known timezone: "${s}"`);
      return s;
    }
    default:
      return String(raw);
  }
}

export interface LoadConfigOptions {
  /** Parsed command-line flags, by flag name (`mqtt-port`) — strings as typed. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  /** Explicit config file; when absent, DATA/config.json is read if it exists. */
  configFile?: string;
}

export function loadConfig(opts: LoadConfigOptions = {}): HubConfig {
  const flags = opts.flags ?? {};
  const env = opts.env ?? process.env;
  const dataDirGuess = flags.data ?? env.SMOKEHUB_DATA ?? CONFIG_SPEC.dataDir.default;
  const file = opts.configFile ?? flags.config ?? env.SMOKEHUB_CONFIG ?? join(dataDirGuess, 'config.json');
  let fromFile: Record<string, unknown> = {};
  const explicit = Boolean(opts.configFile ?? flags.config ?? env.SMOKEHUB_CONFIG);
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (!fromFile || typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  } else if (explicit) {
    throw new ConfigError(`config file ${file} does not exist`);
  }
  // Every bad setting is reported at once (one start-up error listing them all), not the first only.
  const problems: string[] = [];
  const unknown = Object.keys(fromFile).filter((key) => !(key in CONFIG_SPEC));
  if (unknown.length > 0)
    problems.push(
      `config file ${file}: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${Object.keys(CONFIG_SPEC).join(', ')}`,
    );
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SPEC) as Array<[string, Spec]>) {
    let raw: unknown = fromFile[key];
    let source = `in ${file}`;
    if (env[spec.env] !== undefined && env[spec.env] !== '') {
      raw = env[spec.env];
      source = `env ${spec.env}`;
    }
    if (flags[spec.flag] !== undefined) {
      raw = flags[spec.flag];
      source = `--${spec.flag}`;
    }
    try {
      out[key] = coerce(key, spec, raw, source);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length === 1) throw new ConfigError(problems[0]!);
  if (problems.length > 1) throw new ConfigError(`${problems.length} settings are not valid:\n  - ${problems.join('\n  - ')}`);
  out.dataDir = resolve(String(out.dataDir));
  // Frozen: nothing changes the configuration behind the hub's back once it is loaded.
  return Object.freeze(out) as HubConfig;
}

/** Help lines for `smokehub start --help`. */
export function configHelp(): string {
  return (Object.entries(CONFIG_SPEC) as Array<[string, Spec]>)
    .map(([, s]) => `  --${s.flag.padEnd(26)} ${s.help} (env ${s.env}${s.default === null ? '' : `, default ${s.default}`})`)
    .join('\n');
}
