/**
 * The Zigbee2MQTT load generator of bench/zigbee-load.ts, in its own process (so it does not share
 * the event loop that times alarm fan-out): one Z2M stand-in (test/helpers/z2m-standin.ts, MQTT.js,
 * Z2M's wire behaviour) per gateway.
 *
 * argv[2]: a JSON file of [{gateway, secret, household, index}]; argv[3]: devices per gateway.
 * IPC from the parent:
 *   {op:'enrol', url}                          → {op:'enrolled', ms, failed, devices}  (bridge/state,
 *        bridge/devices and every availability online, all acknowledged — QoS 1 as Z2M sends them)
 *   {op:'report', intervalMs, temperatureEvery} → {op:'reporting'}  each device's whole state every
 *        ~intervalMs (QoS 0, not retained, as Z2M's default), spread over the interval
 *   {op:'stats'}                               → {op:'stats', sent, sendErrors, lagMaxMs, commands}
 *   {op:'stop'}                                → {op:'stopped'} (bridge/state offline, disconnect), then exits
 */
import { readFileSync } from 'node:fs';
import { Z2mStandIn } from '../../test/helpers/z2m-standin.ts';
import { gatewayDeviceList, quietState, reportState } from './z2m-fleet.ts';

interface GatewayCred {
  gateway: string;
  secret: string;
  household: string;
  index: number;
}

const creds: GatewayCred[] = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const perGateway = Number(process.argv[3] ?? 10);
const CONCURRENCY = 10;

interface Fleet {
  standIn: Z2mStandIn;
  devices: Array<{ name: string; base: Record<string, unknown>; n: number; temperature: boolean }>;
}
const fleets: Fleet[] = [];
const timers: NodeJS.Timeout[] = [];
let sent = 0;
let sendErrors = 0;

// The generator's own event-loop lag: if it stalls, its rate (not the hub) would be the problem.
let lagMaxMs = 0;
let lastTick = performance.now();
const lagTimer = setInterval(() => {
  const now = performance.now();
  lagMaxMs = Math.max(lagMaxMs, now - lastTick - 50);
  lastTick = now;
}, 50);

async function enrolOne(url: string, c: GatewayCred): Promise<Fleet> {
  const list = gatewayDeviceList(c.index, perGateway);
  const standIn = new Z2mStandIn({ url, gateway: c.gateway, secret: c.secret, household: c.household });
  await standIn.start();
  await standIn.devices(list);
  const devices = list.filter((d) => d.type !== 'Coordinator');
  await Promise.all(devices.map((d) => standIn.availability(d.friendly_name, 'online')));
  return { standIn, devices: devices.map((d) => ({ name: d.friendly_name as string, base: quietState(d), n: 0, temperature: false })) };
}

async function enrolAll(url: string): Promise<{ ms: number; failed: number; devices: number }> {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < creds.length) {
        const c = creds[next++]!;
        try {
          fleets.push(await enrolOne(url, c));
        } catch (err) {
          failed++;
          console.error(`z2m load worker: ${c.gateway}: ${(err as Error).message}`);
        }
      }
    }),
  );
  return { ms: performance.now() - t0, failed, devices: fleets.reduce((s, f) => s + f.devices.length, 0) };
}

function startReporting(intervalMs: number, temperatureEvery: number): void {
  let k = 0;
  for (const f of fleets) {
    for (const d of f.devices) {
      const device = k++;
      d.temperature = temperatureEvery > 0 && device % temperatureEvery === 0;
      const report = () => {
        const c = f.standIn.client;
        if (!c?.connected) {
          sendErrors++;
          return;
        }
        c.publish(`${f.standIn.base}/${d.name}`, JSON.stringify(reportState(d.base, device, d.n++, d.temperature)), { qos: 0 }, (err) => {
          if (err) sendErrors++;
        });
        sent++;
      };
      // Spread the devices over the interval (Z2M devices report on their own clocks), ±10 % jitter.
      const first = setTimeout(() => {
        report();
        timers.push(setInterval(report, intervalMs * (0.9 + Math.random() * 0.2)));
      }, Math.random() * intervalMs);
      timers.push(first);
    }
  }
}

process.on('message', async (m: any) => {
  try {
    if (m.op === 'enrol') {
      process.send!({ op: 'enrolled', ...(await enrolAll(m.url)) });
    } else if (m.op === 'report') {
      startReporting(m.intervalMs, m.temperatureEvery);
      process.send!({ op: 'reporting' });
    } else if (m.op === 'stats') {
      process.send!({ op: 'stats', sent, sendErrors, lagMaxMs: Math.round(lagMaxMs), commands: fleets.reduce((s, f) => s + f.standIn.commands.length, 0) });
    } else if (m.op === 'stop') {
      for (const t of timers) clearTimeout(t);
      clearInterval(lagTimer);
      await Promise.all(fleets.map((f) => Promise.race([f.standIn.stop(), new Promise((r) => setTimeout(r, 3000))])));
      process.send!({ op: 'stopped' });
      setTimeout(() => process.exit(0), 50);
    }
  } catch (err) {
    process.send!({ op: 'error', message: (err as Error).message });
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ op: 'ready' });
