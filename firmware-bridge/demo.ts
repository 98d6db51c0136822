/**
 * `npm run demo`: a hub with a demo neighbourhood of Hạ Long (four interfamily fire-prevention
 * teams of phường Hồng Gai and phường Bạch Đằng), the simulator playing every household, and a
 * first alarm within a minute — so a newcomer sees live households, an alarm, neighbours
 * answering and the stand-down, on the dashboard, without any hardware.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../hub/config/config.ts';
import { type SettingsTable, formatProblems, loadSettings } from '../hub/config/config-loader.ts';
import { ConfigError } from '../hub/protocol/errors.ts';
import { startHub } from '../hub/app/hub.ts';
import { importCsv, credentialsCsv } from '../hub/store/csv-import.ts';
import { SqliteRegistryStore } from '../hub/store/registry-store.ts';
import { createLogger } from '../hub/observability/logger.ts';
import { Simulator, parseCredentialsCsv, type Credential } from './simulator.ts';

/** The project root (works from the TypeScript sources and from dist/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const DEMO_CSV = () => join(projectRoot(), 'firmware-bridge', 'demo', 'ha-long-demo.csv');
/** The household whose kitchen catches fire first. */
export const FIRST_FIRE = 'hg-to05-h04';

/** The demo's own settings (flags only); the hub's (--data, --http-port, …) go to the hub's loader. */
const DEMO_TABLE = {
  'first-alarm-after': { kind: 'number', flag: 'first-alarm-after', default: 25, min: 0, max: 86_400, help: 'seconds before the first fire' },
  'alarm-every': { kind: 'number', flag: 'alarm-every', default: 240, min: 0, max: 86_400, help: 'seconds between random alarms (0: none)' },
} as const satisfies SettingsTable;

export interface DemoOptions {
  flags: Record<string, string | undefined>;
  out?: (line: string) => void;
}

export async function runDemo(opts: DemoOptions): Promise<{ stop(): Promise<void> }> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const f = opts.flags;
  const own = loadSettings(DEMO_TABLE, { flags: f });
  if (!own.ok) throw new ConfigError(formatProblems(own.problems));
  const dataDir = f.data ?? './demo-data';
  const config = loadConfig({
    flags: {
      data: dataDir,
      'http-port': f['http-port'] ?? '8080',
      'mqtt-port': f['mqtt-port'] ?? '1883',
      'mqtts-port': f['mqtts-port'],
      'https-port': f['https-port'],
      host: f.host,
      'verify-window': f['verify-window'] ?? '20',
      'log-level': f['log-level'] ?? 'warn',
    },
    env: {},
  });
  const logger = createLogger({ level: config.logLevel, name: 'demo' });
  const hub = await startHub(config, { logger });
  try {
    const saved = join(config.dataDir, 'demo-credentials.csv');
    if (!(hub.registry instanceof SqliteRegistryStore)) throw new Error('the demo runs a single box');
    const result = importCsv(hub.registry, readFileSync(DEMO_CSV(), 'utf8'));
    let credentials: Credential[];
    if (result.credentials.length > 0) {
      // First run: keep the generated secrets (the simulator needs them on the next run too).
      const known = existsSync(saved) ? parseCredentialsCsv(readFileSync(saved, 'utf8')) : [];
      credentials = [...known.filter((k) => !result.credentials.some((c) => c.device === k.device)), ...result.credentials];
      writeFileSync(saved, credentialsCsv(credentials), { mode: 0o600 });
    } else {
      credentials = parseCredentialsCsv(readFileSync(saved, 'utf8'));
    }
    const adminPassword = hub.adminPassword ?? (await hub.registry.setPassword('admin')).password;
    const simulator = new Simulator({
      hub: `mqtt://127.0.0.1:${hub.mqttPort}`,
      credentials,
      logger: logger.child({ module: 'simulator' }),
      rate: credentials.length / 10,
      alarmEveryS: own.values['alarm-every'],
    });
    await simulator.start();
    const firstAfterS = own.values['first-alarm-after'];
    const timer = setTimeout(() => {
      simulator.raise(FIRST_FIRE, 'smoke', { real: true });
      out(`\n🔥 Smoke at ${FIRST_FIRE} (Hồng Gai, tổ 5): pre-alarm now, neighbours alerted after ${config.verifyWindowS} s.`);
    }, firstAfterS * 1000);
    const host = config.host === '0.0.0.0' ? 'localhost' : config.host;
    out('');
    out('smokehub demo — Hạ Long, phường Hồng Gai & phường Bạch Đằng');
    out(`  ${simulator.households().length} households in 4 teams, ${credentials.length} simulated devices`);
    out(`  dashboard:  http://${host}:${hub.httpPort}/`);
    out(`  login:      admin / ${adminPassword}`);
    out(`  MQTT:       mqtt://${host}:${hub.mqttPort}  (devices' secrets: ${saved})`);
    out(`  data:       ${config.dataDir}`);
    out(`  first alarm in ${firstAfterS} s, then a random one every ${f['alarm-every'] ?? 240} s. Ctrl-C to stop.`);
    let stopped = false;
    return {
      async stop() {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        await simulator.stop();
        await hub.stop();
      },
    };
  } catch (err) {
    await hub.stop();
    throw err;
  }
}
