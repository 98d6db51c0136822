/**
 * What a Zigbee2MQTT gateway's retained `bridge/devices` list says about each Zigbee device, read
 * into what the hub needs: its kind (from its exposes), whether and how it can ring (a siren), and
 * the state properties it reports. Pure; never throws on input (a malformed entry is skipped and
 * reported). Shapes: Z2M 1.x and 2.x `lib/extension/bridge.ts` (`bridge/devices`) and
 * zigbee-herdsman-converters' exposes (test/fixtures/z2m/README.md).
 */
import type { DeviceKind } from '../protocol/schema.ts';

/** The state properties that raise each kind of alarm, in the order a device's kind is chosen. */
export const ALARM_PROPERTIES = [
  { property: 'smoke', kind: 'smoke' },
  { property: 'heat', kind: 'heat' },
  { property: 'carbon_monoxide', kind: 'co' },
  { property: 'gas', kind: 'gas' },
] as const;
type AlarmKindOfDevice = (typeof ALARM_PROPERTIES)[number]['kind'];
/**
 * A detector whose alarm is the generic IAS `alarm` (read-only; e.g. HEIMAN HM-5HA-E, a heat
 * detector): its kind comes from the definition's description.
 */
const GENERIC_ALARM_KINDS: Array<[RegExp, AlarmKindOfDevice]> = [
  [/smoke/i, 'smoke'],
  [/heat/i, 'heat'],
  [/carbon monoxide|\bco\b/i, 'co'],
  [/gas/i, 'gas'],
];

/** One alarm property of a detector, with the values Z2M publishes for it (its expose's value_on/off). */
export interface AlarmExpose {
  property: string;
  kind: AlarmKindOfDevice;
  on: unknown;
  off: unknown;
}

/** How the hub rings a siren: the IAS WD `warning` composite, or an `alarm` on/off switch. */
export type SirenControl =
  | { type: 'warning'; modes: string[]; levels: string[]; strobe: boolean; duration: boolean }
  | { type: 'alarm'; on: unknown; off: unknown };

export interface ZigbeeDeviceInfo {
  ieee: string;
  friendlyName: string;
  model: string;
  vendor: string;
  kind: DeviceKind;
  /** The alarm properties it reports (detectors); [] for a siren. */
  alarms: AlarmExpose[];
  siren: SirenControl | null;
  /** State properties its exposes declare (top level and inside composites). */
  properties: string[];
  /** It reports a battery percentage (`battery`), so `battery_low` is not the only battery news. */
  batteryPercent: boolean;
}

export interface DeviceListResult {
  devices: ZigbeeDeviceInfo[];
  /** Entries not enrolled and why (not a safety device, malformed, …), for logs. */
  skipped: Array<{ entry: string; why: string }>;
  /** The payload itself is unusable (not a JSON array). */
  error: string | null;
}

/** Z2M's IEEE addresses: `0x` and 16 hex digits. */
export const IEEE_PATTERN = /^0x[0-9a-fA-F]{16}$/;
/** Longest friendly name the hub takes (Z2M allows `/` in it: it becomes several topic levels). */
export const MAX_FRIENDLY_NAME = 128;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every expose feature, composites and specific groups (`features`) flattened. */
function flatten(exposes: unknown[], out: Json[] = []): Json[] {
  for (const e of exposes) {
    if (!isObject(e)) continue;
    out.push(e);
    if (Array.isArray(e.features)) flatten(e.features, out);
  }
  return out;
}

/** Can the hub set it? (Z2M access bit 2: `set`.) */
const settable = (e: Json) => typeof e.access === 'number' && (e.access & 2) === 2;

function sirenOf(features: Json[]): SirenControl | null {
  const warning = features.find((e) => e.property === 'warning' && e.type === 'composite' && settable(e));
  if (warning) {
    const sub = Array.isArray(warning.features) ? warning.features.filter(isObject) : [];
    const values = (name: string) => {
      const f = sub.find((x) => x.property === name || x.name === name);
      return f && Array.isArray(f.values) ? f.values.filter((v): v is string => typeof v === 'string') : [];
    };
    return {
      type: 'warning',
      modes: values('mode'),
      levels: values('level'),
      strobe: sub.some((x) => x.property === 'strobe'),
      duration: sub.some((x) => x.property === 'duration'),
    };
  }
  const alarm = features.find((e) => e.property === 'alarm' && e.type === 'binary' && settable(e));
  if (alarm) return { type: 'alarm', on: alarm.value_on ?? true, off: alarm.value_off ?? false };
  return null;
}

/** One `bridge/devices` entry, or why it is not a device of the household. */
export function readDeviceEntry(entry: unknown): ZigbeeDeviceInfo | { skip: string; entry: string } {
  if (!isObject(entry)) return { skip: 'not an object', entry: '?' };
  const ieee = entry.ieee_address;
  const name = entry.friendly_name;
  const label = typeof name === 'string' ? name.slice(0, 64) : typeof ieee === 'string' ? ieee.slice(0, 20) : '?';
  if (entry.type === 'Coordinator') return { skip: 'the coordinator', entry: label };
  if (typeof ieee !== 'string' || !IEEE_PATTERN.test(ieee)) return { skip: 'no valid ieee_address', entry: label };
  if (typeof name !== 'string' || name === '' || name.length > MAX_FRIENDLY_NAME || /[#+]|^\/|\/$|\/\//.test(name)) {
    return { skip: 'unusable friendly_name', entry: label };
  }
  if (entry.disabled === true) return { skip: 'disabled in Zigbee2MQTT', entry: label };
  const def = entry.definition;
  if (!isObject(def) || !Array.isArray(def.exposes)) return { skip: 'no definition (unsupported or not interviewed yet)', entry: label };
  const features = flatten(def.exposes);
  const properties = [...new Set(features.map((e) => e.property).filter((p): p is string => typeof p === 'string'))];
  const siren = sirenOf(features);
  const readable = (e: Json) => e.type === 'binary' && typeof e.access === 'number' && (e.access & 1) === 1 && !settable(e);
  const alarms: AlarmExpose[] = [];
  for (const a of ALARM_PROPERTIES) {
    const e = features.find((x) => x.property === a.property && readable(x));
    if (e) alarms.push({ property: a.property, kind: a.kind, on: e.value_on ?? true, off: e.value_off ?? false });
  }
  const generic = features.find((x) => x.property === 'alarm' && readable(x));
  const described = typeof def.description === 'string' ? GENERIC_ALARM_KINDS.find(([re]) => re.test(def.description as string)) : undefined;
  if (generic && described && !alarms.some((a) => a.kind === described[1])) {
    alarms.push({ property: 'alarm', kind: described[1], on: generic.value_on ?? true, off: generic.value_off ?? false });
  }
  const kind: DeviceKind | null = alarms.length > 0 ? alarms[0]!.kind : siren ? 'siren' : null;
  if (!kind) return { skip: 'neither a detector nor a siren', entry: label };
  return {
    ieee: ieee.toLowerCase(),
    friendlyName: name,
    model: typeof def.model === 'string' ? def.model.slice(0, 64) : '',
    vendor: typeof def.vendor === 'string' ? def.vendor.slice(0, 64) : '',
    kind,
    alarms,
    siren,
    properties,
    batteryPercent: features.some((e) => (e.property === 'battery' || e.property === 'battpercentage') && e.type === 'numeric'),
  };
}

/** The whole retained `bridge/devices` payload. */
export function readDeviceList(payload: Buffer | string): DeviceListResult {
  let list: unknown;
  try {
    list = JSON.parse(payload.toString());
  } catch {
    return { devices: [], skipped: [], error: 'bridge/devices is not JSON' };
  }
  if (!Array.isArray(list)) return { devices: [], skipped: [], error: 'bridge/devices is not a JSON array' };
  const devices: ZigbeeDeviceInfo[] = [];
  const skipped: DeviceListResult['skipped'] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    const r = readDeviceEntry(entry);
    if ('skip' in r) {
      skipped.push({ entry: r.entry, why: r.skip });
    } else if (seen.has(r.ieee) || devices.some((d) => d.friendlyName === r.friendlyName)) {
      skipped.push({ entry: r.friendlyName, why: 'duplicate ieee_address or friendly_name' });
    } else {
      seen.add(r.ieee);
      devices.push(r);
    }
  }
  return { devices, skipped, error: null };
}

/** The hub's device id of a Zigbee device: `<gateway>.<ieee address>` (lower case). */
export function zigbeeDeviceId(gateway: string, ieee: string): string {
  return `${gateway}.${ieee.toLowerCase()}`;
}

/** `bridge/state`: `{"state":"online"}` (Z2M ≥ 1.28) or the older plain `online` / `offline`. */
export function readBridgeState(payload: Buffer | string): 'online' | 'offline' | null {
  return readOnlineState(payload);
}

/** `<device>/availability`: `{"state":"online"}`, or plain `online` / `offline` (legacy payload). */
export function readOnlineState(payload: Buffer | string): 'online' | 'offline' | null {
  const text = payload.toString().trim();
  if (text === 'online' || text === 'offline') return text;
  try {
    const v: unknown = JSON.parse(text);
    if (isObject(v) && (v.state === 'online' || v.state === 'offline')) return v.state;
  } catch {
    // not JSON: unknown
  }
  return null;
}
