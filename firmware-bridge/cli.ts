/**
 * `smokehub-bridge`: run one device bridge (default), `simulate` many virtual households, or
 * `demo` a whole neighbourhood with its hub. Exits non-zero with one clear line on bad input.
 */
import { ConfigError, SmokehubError } from '../hub/protocol/errors.ts';
import { createLogger } from '../hub/observability/logger.ts';
import { bridgeHelp, loadBridgeConfig, loadSimulateValues } from './bridge-config.ts';
import { buildBridge } from './build-bridge.ts';
import { Simulator, loadCredentials } from './simulator.ts';
import { runDemo } from './demo.ts';
import { createInterface } from 'node:readline';

const USAGE = `smokehub-bridge — a detector board to a smokehub hub

  smokehub-bridge --hub URL --household H --device D --secret S (--serial PATH | --firmata PATH) [options]
  smokehub-bridge simulate --hub URL --credentials creds.csv [--ca FILE] [--rate N] [--alarm-every S] [--connect-rate N]
  smokehub-bridge demo [--data DIR] [--http-port 8080] [--mqtt-port 1883] [--first-alarm-after S] [--alarm-every S]

Bridge options (also --config FILE.json with the same keys, and env SMOKEHUB_BRIDGE_<KEY>):
${bridgeHelp()}

See docs/bridge.md and docs/serial-protocol.md.`;

/** `--key value`, `--key=value`; a flag followed by another flag (or nothing) is "true". */
export function parseFlags(argv: string[]): { positional: string[]; flags: Record<string, string> } {
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags[a.slice(2, eq)] = a.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      flags[a.slice(2)] = argv[++i]!;
    } else {
      flags[a.slice(2)] = 'true';
    }
  }
  return { positional, flags };
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}

async function runBridge(flags: Record<string, string>): Promise<number> {
  const { values, settings } = loadBridgeConfig({ flags });
  const logger = createLogger({ level: String(values['log-level']), name: 'smokehub-bridge' });
  const built = buildBridge(settings, { logger });
  // A refused CONNACK is logged by the link itself (an error line saying why, and that it retries slowly).
  await built.bridge.start();
  logger.info(
    { hub: settings.hub, household: settings.household, device: settings.device, profile: built.profile.name, state: settings.state },
    'bridge started',
  );
  const sig = await untilSignal();
  logger.info({ signal: sig, pending: built.outbox.size() }, 'stopping');
  await built.bridge.stop();
  return 0;
}

async function runSimulate(flags: Record<string, string>): Promise<number> {
  const { values, ca } = loadSimulateValues({ flags });
  const logger = createLogger({ level: values['log-level'], name: 'smokehub-simulator' });
  const sim = new Simulator({
    hub: String(values.hub),
    ...(ca === undefined ? {} : { ca }),
    credentials: loadCredentials(String(values.credentials)),
    logger,
    rate: values.rate ?? undefined,
    alarmEveryS: values['alarm-every'] ?? undefined,
    connectRate: values['connect-rate'] ?? undefined,
  });
  const startP = sim.start();
  const statsTimer = setInterval(() => logger.info(sim.stats(), 'simulator'), 10_000);
  // On demand: type `smoke [household]`, `panic [household]`, `clear household` or `stats`.
  const rl = process.stdin.isTTY || flags.stdin === 'true' ? createInterface({ input: process.stdin }) : null;
  rl?.on('line', (line) => {
    const [cmd, household] = line.trim().split(/\s+/);
    if (cmd === 'smoke' || cmd === 'panic' || cmd === 'clear') {
      const r = sim.raise(household, cmd, { real: true });
      process.stdout.write(r ? `${cmd} at ${r.household} (${r.device})\n` : `no such household: ${household}\n`);
    } else if (cmd === 'stats') process.stdout.write(`${JSON.stringify(sim.stats())}\n`);
    else if (cmd) process.stdout.write('commands: smoke [household] | panic [household] | clear household | stats\n');
  });
  await startP;
  await untilSignal();
  clearInterval(statsTimer);
  rl?.close();
  await sim.stop();
  return 0;
}

async function runDemoCommand(flags: Record<string, string>): Promise<number> {
  const demo = await runDemo({ flags });
  await untilSignal();
  await demo.stop();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseFlags(argv);
  const command = positional[0] ?? 'run';
  if (flags.help !== undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'run':
        return await runBridge(flags);
      case 'simulate':
        return await runSimulate(flags);
      case 'demo':
        return await runDemoCommand(flags);
      default:
        throw new ConfigError(`unknown command "${command}"; see smokehub-bridge --help`);
    }
  } catch (err) {
    if (err instanceof SmokehubError) {
      process.stderr.write(`smokehub-bridge: ${err.message}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`smokehub-bridge: a port is already in use (${e.message}); pick others with --http-port/--mqtt-port\n`);
      return 2;
    }
    process.stderr.write(`smokehub-bridge: ${e.stack ?? String(err)}\n`);
    return 1;
  }
}

// Run directly through tsx: `node --import tsx firmware-bridge/cli.ts ...`
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
