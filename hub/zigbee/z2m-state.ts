/**
 * A Zigbee device's state message (`<base>/<friendly_name>`) translated into the contract: Z2M
 * republishes the WHOLE state on every change, so only transitions become events — a repeated
 * `smoke: true` is not a new alarm. Pure and synchronous; never throws on input.
 *
 *   smoke / heat / carbon_monoxide / gas  false→true: smoke / heat / co / gas;  true→false: clear
 *   tamper false→true: tamper;  test false→true: test (the device's test button)
 *   battery_low false→true (a device that reports no battery percentage): fault
 *   fault_state (Heiman) leaving `normal`: fault
 *   battery, temperature, humidity, smoke_density → telemetry (battery, temperature, humidity, smoke)
 *
 * A malformed state (not a JSON object, or an alarm property that is not a boolean) is rejected
 * and reported as a `fault` of the detector — never read as `clear`.
 */
import { ERROR_CODES } from '../protocol/errors.ts';
import { TELEMETRY_FIELDS, type EventType, type Issue, type TelemetryField } from '../protocol/schema.ts';
import type { ZigbeeDeviceInfo } from './z2m-devices.ts';

/** What the hub remembers of a device's last state: the booleans that make transitions, by property. */
export type RememberedState = Partial<Record<string, boolean>>;

export interface StateTranslation {
  /** Events in the order they happened (an alarm before its tamper, a clear last). */
  events: EventType[];
  /** Telemetry values (in the contract's ranges); empty when none. */
  telemetry: Partial<Record<TelemetryField, number>>;
  /** Z2M's `linkquality` (LQI 0–255), kept with the device. */
  linkquality: number | null;
  issues: Issue[];
  /** The message was unusable as a whole (fault). */
  malformed: boolean;
  next: RememberedState;
}

/** Z2M state → telemetry field. `smoke_density` is the detector's own reading (raw). */
const TELEMETRY_MAP: Array<[string, TelemetryField]> = [
  ['battery', 'battery'],
  ['battpercentage', 'battery'],
  ['temperature', 'temperature'],
  ['humidity', 'humidity'],
  ['smoke_density', 'smoke'],
];

const bad = (message: string): Issue => ({ code: ERROR_CODES.BAD_FIELD, message });

/**
 * `prev`: what the hub remembers (undefined: nothing since it started). `alarmOpen`: an alarm this
 * device raised is open, so a first `false` after a restart still clears it.
 */
export function translateState(
  device: Pick<ZigbeeDeviceInfo, 'alarms' | 'batteryPercent'>,
  prev: RememberedState | undefined,
  payload: Buffer | string,
  alarmOpen: boolean,
): StateTranslation {
  const out: StateTranslation = { events: [], telemetry: {}, linkquality: null, issues: [], malformed: false, next: { ...prev } };
  let state: unknown;
  try {
    state = JSON.parse(payload.toString());
  } catch {
    state = undefined;
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    out.malformed = true;
    out.issues.push({ code: ERROR_CODES.BAD_JSON, message: 'a Zigbee device state must be a JSON object' });
    return out;
  }
  const s = state as Record<string, unknown>;

  let cleared = false;
  for (const { property, kind, on, off } of device.alarms) {
    // Absent (e.g. before the first zone status after pairing): not a clear.
    if (!(property in s) || s[property] === null) continue;
    const raw = s[property];
    if (raw !== on && raw !== off) {
      // Never read as "clear": the detector is failing or lying.
      out.malformed = true;
      out.issues.push(bad(`${property} must be ${JSON.stringify(on)} or ${JSON.stringify(off)}, got ${JSON.stringify(raw)?.slice(0, 32)}`));
      continue;
    }
    const v = raw === on;
    const was = prev?.[property];
    out.next[property] = v;
    if (v && was !== true) out.events.push(kind);
    else if (!v && (was === true || (was === undefined && alarmOpen))) cleared = true;
  }
  for (const [property, event] of [
    ['tamper', 'tamper'],
    ['test', 'test'],
  ] as const) {
    const v = s[property];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') {
      out.issues.push(bad(`${property} must be true or false`));
      continue;
    }
    if (v && prev?.[property] !== true) out.events.push(event);
    out.next[property] = v;
  }
  // Heiman's sensor fault state (`normal`, or the faults joined with " | "): a fault when it leaves normal.
  const faultState = s.fault_state;
  if (typeof faultState === 'string') {
    const faulty = faultState !== 'normal';
    if (faulty && prev?.fault_state !== true) out.events.push('fault');
    out.next.fault_state = faulty;
  }
  const low = s.battery_low;
  if (typeof low === 'boolean') {
    if (low && prev?.battery_low !== true && !device.batteryPercent) out.events.push('fault');
    out.next.battery_low = low;
  } else if (low !== undefined && low !== null) {
    out.issues.push(bad('battery_low must be true or false'));
  }
  // A clear goes last, and only when no alarm property is still true (a CO alarm outlives the smoke).
  if (cleared && !device.alarms.some(({ property }) => out.next[property] === true)) out.events.push('clear');

  for (const [property, field] of TELEMETRY_MAP) {
    const v = s[property];
    if (v === undefined || v === null) continue;
    const range = TELEMETRY_FIELDS[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < range.min || v > range.max) {
      out.issues.push(bad(`${property} ${JSON.stringify(v)?.slice(0, 32)} is not a number in ${range.min}..${range.max}`));
      continue;
    }
    out.telemetry[field] = v;
  }
  const lqi = s.linkquality;
  if (typeof lqi === 'number' && Number.isInteger(lqi) && lqi >= 0 && lqi <= 255) out.linkquality = lqi;
  return out;
}
