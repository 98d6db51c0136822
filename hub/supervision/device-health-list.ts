/**
 * The bulk device-health listing behind `GET /api/devices/health`, as a pure function: the
 * devices in scope joined with what supervision holds about each (live presence and reported
 * state, last battery reading, latest self-test, open fault). Every input is already in memory or
 * read with one query per table by the caller: nothing here does I/O, so 32,000 devices are one
 * pass over arrays and maps.
 */
import type { DeviceHealth } from '../protocol/http/device-health.ts';
import { addMonths, DETECTOR_LIFE_MONTHS } from './reminders.ts';
import { SELF_TEST_KINDS } from './self-test-round.ts';
import type { Device } from '../store/registry-types.ts';
import type { DeviceLiveView, SupervisionState } from './supervision-tracker.ts';
import type { BatteryReading } from './reminders.ts';
import type { LastSelfTest, DeviceFault } from './device-health-store.ts';

export const SUPERVISION_STATES: readonly SupervisionState[] = ['ok', 'offline', 'flapping'];

/** The one device-health item of `GET /api/devices/health` and `GET /api/households/:id/health`. */
export type DeviceHealthItem = DeviceHealth;

export interface DeviceHealthSources {
  live(device: string): DeviceLiveView | undefined;
  battery(device: string): BatteryReading | undefined;
  fault(device: string): DeviceFault | undefined;
  lastTests: ReadonlyMap<string, LastSelfTest>;
  /** Since when, and why, supervision holds the device's state (undefined: not tracked yet). */
  supervision(device: string): { since: number; reason: DeviceHealth['offlineReason'] } | undefined;
}

/** A device the tracker has not picked up yet (enrolled since its last registry sync). */
const UNTRACKED: DeviceLiveView = { online: false, lastHeardAt: null, supervision: 'ok' };

const byId = (a: Device, b: Device) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * One item per device, sorted by device id; `states` keeps only devices whose supervision state
 * is one of them. A self-test is reported from when it was asked for (round start) or pressed.
 */
export function deviceHealthList(devices: Device[], src: DeviceHealthSources, states?: ReadonlySet<SupervisionState>): DeviceHealthItem[] {
  const out: DeviceHealthItem[] = [];
  for (const d of devices.sort(byId)) {
    const live = src.live(d.id) ?? UNTRACKED;
    if (states && !states.has(live.supervision)) continue;
    const b = src.battery(d.id);
    const t = src.lastTests.get(d.id);
    const sv = src.supervision(d.id);
    out.push({
      device: d.id,
      label: d.label ?? null,
      household: d.household,
      team: d.team,
      kind: d.kind,
      online: live.online,
      lastSeen: live.lastHeardAt,
      supervision: live.supervision,
      battery: b ? b.percent : null,
      batteryAt: b ? b.at : null,
      lastTest: t ? { at: t.at, outcome: t.outcome === 'passed' ? 'pass' : 'fail', reason: t.reason } : null,
      fault: src.fault(d.id) !== undefined,
      since: sv ? sv.since : null,
      offlineReason: live.online ? null : (sv?.reason ?? null),
      enrolledAt: d.enrolledAt,
      replaceBy: SELF_TEST_KINDS.includes(d.kind) ? addMonths(d.enrolledAt, DETECTOR_LIFE_MONTHS) : null,
    });
  }
  return out;
}
