/**
 * The benchmarks' neighbourhood: teams T0..Tn of households TtHh, one smoke detector each
 * (TtHh-smoke), enrolled through the hub's own CSV import; MQTT.js device connections; and the
 * alarm sample every latency figure is made of.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { openDatabase } from '../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../hub/store/registry-store.ts';
import { importCsv } from '../../hub/store/csv-import.ts';

export interface Cred {
  household: string;
  device: string;
  secret: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Enrols `teams` teams of `perTeam` households in the hub database of `dataDir`; returns the generated credentials. */
export function enrolTeams(dataDir: string, teams: number, perTeam = 10): Cred[] {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let t = 0; t < teams; t++) {
    for (let h = 0; h < perTeam; h++) {
      const id = `T${t}H${h}`;
      // Teams ~1.1 km apart, houses 30 m apart: nobody of another team within the nearby radius (50 m).
      const lat = (20.9 + (t % 100) * 0.01 + h * 0.0003).toFixed(6);
      const lon = (107.0 + Math.floor(t / 100) * 0.01).toFixed(6);
      rows.push(`T${t},${id},Nhà ${id},${h} Lê Lợi,0900000000,${lat},${lon},${id}-smoke,smoke,`);
    }
  }
  const db = openDatabase(dataDir);
  try {
    return importCsv(new SqliteRegistryStore(db, { dataDir }), rows.join('\n') + '\n').credentials;
  } finally {
    db.close();
  }
}

/** A device connection as the bridge makes it (client id = user name = device id). */
export function connectDevice(port: number, c: Cred): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: c.device, username: c.device, password: c.secret, reconnectPeriod: 0, keepalive: 0 });
}

export interface AlarmSamples {
  /** Origin's smoke publish → the neighbour's `active` alert (ms). */
  alert: number[];
  /** Origin's smoke publish → its PUBACK (ms). */
  puback: number[];
}

/**
 * One alarm per team in `teams`: household H0's detector publishes smoke (QoS 1), H1's detector is
 * subscribed to its alert topic. Fresh connections per sample; stops early once `until()`.
 */
export async function alarmSamples(port: number, creds: Cred[], teams: number[], tag: string, until: () => boolean = () => false): Promise<AlarmSamples> {
  const byHousehold = new Map(creds.map((c) => [c.household, c]));
  const out: AlarmSamples = { alert: [], puback: [] };
  for (const t of teams) {
    if (until()) break;
    const origin = byHousehold.get(`T${t}H0`)!;
    const neighbour = byHousehold.get(`T${t}H1`)!;
    const o = await connectDevice(port, origin);
    const n = await connectDevice(port, neighbour);
    await n.subscribeAsync(`smokehub/h/${neighbour.household}/alert`, { qos: 1 });
    const alerted = new Promise<number>((resolve) => {
      n.on('message', (_topic, payload) => {
        if (JSON.parse(payload.toString()).state === 'active') resolve(performance.now());
      });
    });
    const t0 = performance.now();
    await o.publishAsync(`smokehub/h/${origin.household}/d/${origin.device}/event`, JSON.stringify({ id: `${tag}-${t}`, type: 'smoke' }), { qos: 1 });
    out.puback.push(performance.now() - t0);
    const at = await Promise.race([alerted, sleep(10_000).then(() => NaN)]);
    if (Number.isFinite(at)) out.alert.push(at - t0);
    await o.endAsync(true);
    await n.endAsync(true);
    await sleep(50);
  }
  return out;
}
