/**
 * The hub's settings: one table naming each setting's flag, env name, kind, default, range and
 * help text, and the hub's own value kinds (cron, timezone, http URL). The loading itself is the
 * shared config-loader.ts; config.ts puts the two together.
 */
import { validateDetailed } from 'node-cron';
import { type KindParser, type SettingsTable, invalid, urlKind } from './config-loader.ts';

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

/** The hub's own kinds, besides the loader's string, int, number, bool and onoff. */
export const HUB_KINDS: Record<string, KindParser> = {
  url: urlKind(['http:', 'https:'], 'http:// or https://'),
  postgresUrl: urlKind(['postgres:', 'postgresql:'], 'postgres:// or postgresql://'),
  redisUrl: urlKind(['redis:', 'rediss:'], 'redis:// or rediss://'),
  cron: (raw) => {
    const s = String(raw).trim();
    return isValidCron(s) ? s : invalid(`is not a valid cron expression: "${s}"`);
  },
  language: (raw) => {
    const s = String(raw).trim().toLowerCase();
    return s === 'en' || s === 'vi' ? s : invalid(`must be en or vi, got "${String(raw)}"`);
  },
  timezone: (raw) => {
    const s = String(raw).trim();
    return isValidTimezone(s) ? s : invalid(`is not a known timezone: "${s}"`);
  },
};

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
  homeassistant: {
    kind: 'bool',
    flag: 'homeassistant',
    env: 'SMOKEHUB_HOMEASSISTANT',
    default: false,
    help: 'publish Home Assistant MQTT discovery for each household whose Home Assistant announced itself (docs/home-assistant.md)',
  },
  homeassistantLanguage: {
    kind: 'language',
    flag: 'homeassistant-language',
    env: 'SMOKEHUB_HOMEASSISTANT_LANGUAGE',
    default: 'en',
    help: 'en or vi: the language of the Home Assistant entity names',
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
  postgres: {
    kind: 'postgresUrl',
    flag: 'postgres',
    env: 'SMOKEHUB_POSTGRES',
    default: null,
    help: 'cluster node: PostgreSQL for the registry, sessions and alarm journal, postgres://USER:PASS@HOST:PORT/DB (with --redis; docs/cluster.md)',
  },
  redis: {
    kind: 'redisUrl',
    flag: 'redis',
    env: 'SMOKEHUB_REDIS',
    default: null,
    help: 'cluster node: Redis for the shared MQTT bus and sessions, redis://HOST:PORT[/DB] (with --postgres)',
  },
  nodeId: {
    kind: 'string',
    flag: 'node-id',
    env: 'SMOKEHUB_NODE_ID',
    default: null,
    help: 'cluster node name, unique in the cluster and the same across restarts (default: host name and data directory)',
  },
  logLevel: { kind: 'string', flag: 'log-level', env: 'SMOKEHUB_LOG_LEVEL', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
} as const satisfies SettingsTable;
