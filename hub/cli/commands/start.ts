/**
 * `smokehub start [--data DIR] [--mqtt-port N] [--http-port N] [--verify-window S] ...`
 * Runs the hub until SIGTERM/SIGINT, then stops it gracefully (MQTT drained, extensions flushed,
 * database closed) and exits 0. A configuration error or a port in use is ONE clear line and exit 1.
 * Output while the hub runs is its log: pino JSON lines on stdout (UTC ISO `time`), the ports it
 * listens on and the stop included. The one exception is the first-start banner (the admin
 * password, the new CA's fingerprint): plain text on stdout, once, for the person who started it,
 * on a terminal or in the journal alike; the password is never a log field.
 */
import { CONFIG_SPEC, configHelp, loadConfig } from '../../config/config.ts';
import { ConfigError } from '../../protocol/errors.ts';
import { createLogger } from '../../observability/logger.ts';
import { parseCommandArgs, stringFlag, type FlagSpec } from '../args.ts';
import type { CliCommand, CliIo } from '../command.ts';

/** How long a graceful stop may take before the process gives up and exits 1. */
const STOP_TIMEOUT_MS = 20_000;

/** The flags of `start`: --config and one per setting of CONFIG_SPEC (numbers are strings the config loader checks). */
export function startFlagSpec(): Record<string, FlagSpec> {
  const spec: Record<string, FlagSpec> = { config: { type: 'string' } };
  for (const s of Object.values(CONFIG_SPEC)) spec[s.flag] = { type: s.kind === 'bool' ? 'boolean' : 'string' };
  return spec;
}

/** One line for a failure to listen (port in use, no permission), or null for other errors. */
export function listenProblem(err: unknown, ports: { mqtt: number; http: number; mqtts?: number; https?: number }): string | null {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code !== 'EADDRINUSE' && e?.code !== 'EACCES' && e?.code !== 'EADDRNOTAVAIL') return null;
  const flag = (Object.entries(ports) as Array<[string, number | undefined]>).find(([, p]) => p !== undefined && p !== 0 && p === e.port)?.[0];
  const which = flag ? ` (--${flag}-port)` : '';
  const where = `${e.address ?? ''}${e.port !== undefined ? `:${e.port}` : ''}`;
  const why =
    e.code === 'EADDRINUSE'
      ? 'the port is already in use — is another hub running?'
      : e.code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : 'the address is not available on this machine (--host)';
  return `cannot listen on ${where}${which}: ${why}`;
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // A second signal while stopping: give up at once.
      const force = () => process.exit(1);
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs(argv, startFlagSpec());
  const flags: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(args.flags)) {
    if (typeof v === 'string') flags[k] = v;
    else if (v === true) flags[k] = 'true'; // a switch such as --sms-unaccented
  }
  const config = loadConfig({ flags, env: io.env, configFile: stringFlag(args, 'config') });
  const { startHub } = await import('../../app/hub.ts');
  const logger = createLogger({ level: config.logLevel });
  // The command's own lines (listening, stopping, stopped) are written whatever --log-level says,
  // as log lines of the same stream: supervisors and people watch for them.
  const lifecycle = logger.child({ module: 'start' }, { level: 'info' });
  const signal = waitForStopSignal();
  let running: Awaited<ReturnType<typeof startHub>>;
  try {
    running = await startHub(config, { logger });
  } catch (err) {
    const problem = listenProblem(err, { mqtt: config.mqttPort, http: config.httpPort, mqtts: config.mqttsPort, https: config.httpsPort });
    if (problem) {
      io.stderr(`smokehub: ${problem}\n`);
      return 1;
    }
    throw err;
  }
  if (running.adminPassword) {
    lifecycle.info({ user: 'admin' }, 'first start: created the station user "admin"; its password is printed once on stdout, not logged');
    io.stdout(
      `\nFirst start: created the station user "admin".\n` +
        `  user:     admin\n  password: ${running.adminPassword}\n` +
        `This password is shown only once. Log in at ${config.plain === 'on' ? `http://<this machine>:${running.httpPort}` : `https://<this machine>:${running.httpsPort}`}/ ` +
        `and add people with "smokehub user add".\n\n`,
    );
  }
  const ca = running.tls.material.ca;
  if (running.tls.createdCa && ca) {
    io.stdout(
      `First start: created the hub's local certificate authority for TLS.\n` +
        `  CA certificate:      ${running.tls.material.caPath}\n  SHA-256 fingerprint: ${ca.fingerprint256}\n` +
        `Phones and devices that trust this CA check this fingerprint (docs/security.md, "TLS"); ` +
        `"smokehub tls show" prints it again.\n\n`,
    );
  }
  const ports = { mqttPort: running.mqttPort, httpPort: running.httpPort, mqttsPort: running.mqttsPort, httpsPort: running.httpsPort, dataDir: config.dataDir };
  const plain =
    config.plain === 'on'
      ? `MQTT on port ${running.mqttPort}, HTTP (API, dashboard, MQTT over WebSocket /mqtt) on port ${running.httpPort}, data in ${config.dataDir}`
      : `plain MQTT and HTTP are off (--plain off), data in ${config.dataDir}`;
  lifecycle.info(
    { ...ports, plain: config.plain },
    `listening: ${plain}; MQTT over TLS on port ${running.mqttsPort}, HTTPS (API, dashboard, MQTT over secure WebSocket /mqtt) on port ${running.httpsPort}`,
  );
  const sig = await signal;
  lifecycle.info({ signal: sig }, `${sig} received, stopping`);
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
  const outcome = await Promise.race([running.stop().then(() => 'stopped' as const), timeout]);
  if (outcome === 'timeout') {
    lifecycle.error({ timeoutS: STOP_TIMEOUT_MS / 1000 }, `the hub did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting`);
    return 1;
  }
  lifecycle.info('stopped');
  return 0;
}

export const startCommand: CliCommand = {
  name: 'start',
  summary: 'run the hub (MQTT broker, alarm engine, HTTP API and dashboard)',
  help: `Usage: smokehub start [options]

Runs the hub until SIGTERM or Ctrl-C. On the first start with an empty data directory it
creates the station user "admin" and prints its password once.
Settings come from defaults < config file (--config FILE, or DATA/config.json) < env < flags:
  --config FILE                JSON file of settings (keys as in the list below, camelCase)
${configHelp()}`,
  run,
  exitWhenDone: true,
};

export { ConfigError };
