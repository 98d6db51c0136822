/**
 * Runs a hub in a child process (for kill -9 tests): config from SMOKEHUB_* env, prints one JSON line
 * `{"mqttPort","httpPort","mqttsPort","httpsPort"}` on stdout when it listens. The TLS ports are
 * any free ones unless SMOKEHUB_MQTTS_PORT / SMOKEHUB_HTTPS_PORT say otherwise.
 */
import { loadConfig } from '../../hub/config/config.ts';
import { startHub } from '../../hub/app/hub.ts';
import { silentLogger } from '../../hub/observability/logger.ts';
import { pino } from 'pino';

// HUB_CHILD_EXTENSIONS=none starts the bare hub (benchmarks separate the extensions' cost).
const extensions = process.env.HUB_CHILD_EXTENSIONS === 'none' ? [] : undefined;
// HUB_CHILD_INGRESS_SLICE_MS=0 turns the ingress scheduler off (benchmarks compare with and without).
const slice = process.env.HUB_CHILD_INGRESS_SLICE_MS;
// HUB_CHILD_JOURNAL_SYNC=full fsyncs each journal commit on the event loop (the hub before wal-durability.ts).
const journalSync = process.env.HUB_CHILD_JOURNAL_SYNC === 'full' ? 'full' : undefined;
// HUB_CHILD_RESERVE_BYTES sets the data dir's reserve file (0: none) — tests on a small tmpfs.
const reserve = process.env.HUB_CHILD_RESERVE_BYTES;
const reserveBytes = reserve === undefined ? undefined : Number(reserve);
// HUB_CHILD_LOGIN_FREE=N lets N attempts in flight or failed per address and per user name (benchmarks: a baseline without throttles).
const free = process.env.HUB_CHILD_LOGIN_FREE;
const loginGuard = free === undefined ? undefined : { address: { freeFailures: Number(free) }, user: { freeFailures: Number(free) } };
// HUB_CHILD_LISTEN_BACKLOG=511 gives the MQTT ports Node's default accept queue (benchmarks: the storm before the fix).
const backlog = process.env.HUB_CHILD_LISTEN_BACKLOG;
const listenBacklog = backlog === undefined ? undefined : Number(backlog);
// HUB_CHILD_LOG_LEVEL=warn (etc.) logs to stderr (stdout carries the ports line) instead of nothing.
const logLevel = process.env.HUB_CHILD_LOG_LEVEL;
const logger = logLevel ? pino({ level: logLevel, base: undefined }, pino.destination(2)) : silentLogger();
const hub = await startHub(loadConfig({ env: { SMOKEHUB_MQTTS_PORT: '0', SMOKEHUB_HTTPS_PORT: '0', ...process.env } }), {
  logger,
  extensions,
  ingressSliceMs: slice === undefined ? undefined : Number(slice),
  journalSync,
  reserveBytes,
  loginGuard,
  listenBacklog,
});
process.stdout.write(
  JSON.stringify({ mqttPort: hub.mqttPort, httpPort: hub.httpPort, mqttsPort: hub.mqttsPort, httpsPort: hub.httpsPort, adminPassword: hub.adminPassword }) +
    '\n',
);
process.on('SIGTERM', () => void hub.stop().then(() => process.exit(0)));
