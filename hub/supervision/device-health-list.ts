/**
 * The bulk device-health listing behind `GET /api/devices/health`, as a pure function: the
 * devices in scope joined with what supervision holds about each (live presence and reported
 * state, last battery reading, latest self-test, open fault). Every input is already in memory or
 * read with one query per table by the caller: nothing here does I/O, so 32,000 devices are one
 * pass over arrays and maps.
 */
import type { DeviceKind } from '../protocol/schema.ts';
import type { Device } from '../store/registry-types.ts';
import type { DeviceLiveView, SupervisionState } from './supervision-tracker.ts';
import type { BatteryReading } from './reminders.ts';
import type { LastSelfTest, DeviceFault } from './device-health-store.ts';

export const SUPERVISION_STATES: readonly SupervisionState[] = ['ok', 'offline', 'flapping'];

export interface DeviceHealthItem {
  device: string;
  household: string;
  team: string;
  kind: DeviceKind;
  online: boolean;
  lastSeen: number | null;
  supervision: SupervisionState;
  battery: number | null;
  batteryAt: number | null;
  lastTest: { at: number; outcome: 'pass' | 'fail'; reason: string | null } | null;
  fault: boolean;
}

export interface DeviceHealthSources {
  live(device: string): DeviceLiveView | undefined;
  battery(device: string): BatteryReading | undefined;
  fault(device: string): DeviceFault | undefined;
  lastTests: ReadonlyMap<string, LastSelfTest>;
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
    out.push({
      device: d.id,
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
    });
  }
  return out;
}
