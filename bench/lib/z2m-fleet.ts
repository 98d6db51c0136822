/**
 * The Zigbee devices of bench/zigbee-load.ts: per gateway, a `bridge/devices` list cloned from the
 * recorded fixtures (test/fixtures/z2m/, read only through fixtureDevices/fixtureState) with
 * distinct IEEE addresses and friendly names, and the whole state each device reports.
 */
import { fixtureDevices, fixtureState } from '../../test/helpers/z2m-fixtures.ts';

/** Ten devices per household: smoke detectors, CO, gas and sirens (cycled when there are more). */
export const FLEET_MODELS = ['TS0205', 'TS0205', 'TS0205', 'TS0205', 'HS1CA-E', 'TS0205', 'HS1CA-E', 'HS3CG', 'HS2WD-E', 'HS2WD-E'];
const ROOMS = ['bep', 'khach', 'ngu1', 'ngu2', 'cauthang', 'kho', 'ga', 'gac', 'san', 'tum'];

type Entry = Record<string, any>;

/** `0x` + 16 hex digits, distinct per (gateway, device). */
export function ieeeOf(gateway: number, device: number): string {
  return `0x5b${gateway.toString(16).padStart(6, '0')}${device.toString(16).padStart(8, '0')}`;
}

/** The `bridge/devices` payload of gateway number `g`: its coordinator, then `perGateway` devices. */
export function gatewayDeviceList(g: number, perGateway: number): Entry[] {
  const models = Array.from({ length: perGateway }, (_, i) => FLEET_MODELS[i % FLEET_MODELS.length]!);
  const distinct = [...new Set(models)];
  const [coordinator, ...picked] = fixtureDevices(distinct);
  const byModel = new Map(picked.map((d) => [d.definition.model as string, d]));
  const list: Entry[] = [{ ...structuredClone(coordinator!), ieee_address: `0x5c${g.toString(16).padStart(14, '0')}` }];
  models.forEach((m, i) => {
    const d = structuredClone(byModel.get(m)!);
    d.ieee_address = ieeeOf(g, i);
    d.network_address = 0x1000 + i;
    // Z2M allows `/` in a friendly name (several topic levels); the hub must route both shapes.
    d.friendly_name = i % 2 === 0 ? `${ROOMS[i % ROOMS.length]}/${m.toLowerCase()}-${i}` : `${m.toLowerCase()}-${i}`;
    list.push(d);
  });
  return list;
}

/**
 * A device's quiet whole state: the recorded `normal` state of its model when there is one, else
 * what its exposes say it reports (binaries off, battery, link quality).
 */
export function quietState(entry: Entry): Record<string, unknown> {
  const model = entry.definition?.model as string;
  try {
    return { ...fixtureState(model, 'normal') };
  } catch {
    const out: Record<string, unknown> = {};
    for (const e of (entry.definition?.exposes ?? []) as Entry[]) {
      if (typeof e.access !== 'number' || (e.access & 1) === 0 || typeof e.property !== 'string') continue;
      if (e.type === 'binary') out[e.property] = e.value_off ?? false;
      else if (e.property === 'battery') out.battery = 100;
      else if (e.property === 'linkquality') out.linkquality = 120;
    }
    return out;
  }
}

/** Report number `n` of a device: its quiet state with battery and link quality moving, temperature on some. */
export function reportState(base: Record<string, unknown>, device: number, n: number, withTemperature: boolean): Record<string, unknown> {
  const s: Record<string, unknown> = { ...base };
  if ('battery' in s) s.battery = Math.max(5, 100 - ((device * 7 + Math.floor(n / 10)) % 60));
  s.linkquality = 40 + ((device * 37 + n * 13) % 215);
  if (withTemperature) s.temperature = Math.round((24 + ((device + n) % 60) / 10) * 10) / 10;
  return s;
}
