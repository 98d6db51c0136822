/** Device health rows: joining, problem classification, filtering and sorting. Pure. */
import type { HouseholdInfo, DeviceInfo, DeviceHealthInfo } from './api.ts';

export const LOW_BATTERY_PCT = 20;
/** Self-tests run weekly; one missed round plus a day is overdue. */
export const SELF_TEST_OVERDUE_MS = 8 * 24 * 3600 * 1000;
export const SELF_TEST_KINDS = ['smoke', 'heat', 'co'];

export interface HealthRow {
  household: string;
  name: string;
  address: string;
  team: string;
  device: DeviceInfo;
}
export type HealthFilter = 'all' | 'problems' | 'offline' | 'flapping' | 'lowBattery' | 'fault' | 'noSelfTest';
export type Problem = Exclude<HealthFilter, 'all' | 'problems'>;
export type SortKey = 'urgency' | 'household' | 'name' | 'team' | 'device' | 'kind' | 'status' | 'battery' | 'lastSeen' | 'selfTest';

/**
 * One row per device of the bulk health listing, with the household's name and address from the
 * household list (a household enrolled since that list was loaded shows its id only).
 */
export function joinHealth(devices: DeviceHealthInfo[], households: HouseholdInfo[] | null): HealthRow[] {
  const byId = new Map<string, HouseholdInfo>();
  for (const h of households ?? []) byId.set(h.id, h);
  return devices.map((d) => {
    const h = byId.get(d.household);
    return { household: d.household, name: h?.name ?? '', address: h?.address ?? '', team: d.team || h?.team || '', device: d };
  });
}

/**
 * Where a detector stands with its self-test: `none` (bridges, panic buttons), `notYet` (never tested
 * but enrolled less than one self-test period ago: neutral, not a fault), `overdue` (never tested
 * since enrolment a period ago, or the last test is older than that), `failed`, `ok`.
 */
export type SelfTestState = 'none' | 'notYet' | 'overdue' | 'failed' | 'ok';
export function selfTestState(d: DeviceInfo, now: number): SelfTestState {
  if (!SELF_TEST_KINDS.includes(d.kind)) return 'none';
  if (d.lastSelfTest === null) return now - d.enrolledAt > SELF_TEST_OVERDUE_MS ? 'overdue' : 'notYet';
  if (d.selfTestOk === false) return 'failed';
  return now - d.lastSelfTest > SELF_TEST_OVERDUE_MS ? 'overdue' : 'ok';
}

export function problemsOf(r: HealthRow, now: number): Set<Problem> {
  const p = new Set<Problem>();
  const d = r.device;
  // Reported by supervision (a device within its grace after a drop is not a problem yet).
  if (d.supervision === 'offline' || d.supervision === 'flapping' || (d.supervision === null && d.status === 'offline')) p.add('offline');
  if (d.supervision === 'flapping') p.add('flapping');
  if (d.battery !== null && d.battery < LOW_BATTERY_PCT) p.add('lowBattery');
  if (d.fault || d.selfTestOk === false) p.add('fault');
  // Bridges and panic buttons have no self-test; a detector enrolled within the last period is not due yet.
  if (selfTestState(d, now) === 'overdue') p.add('noSelfTest');
  return p;
}

/**
 * How urgently a row needs action, 0 first: a fault (or failed self-test), flapping, offline, a low
 * battery, an overdue self-test, then the rest (unknown presence before online). Used by the default sort.
 */
const PROBLEM_RANK: [Problem, number][] = [
  ['fault', 0],
  ['flapping', 1],
  ['offline', 2],
  ['lowBattery', 3],
  ['noSelfTest', 4],
];
export function urgencyOf(r: HealthRow, now: number): number {
  const p = problemsOf(r, now);
  for (const [problem, rank] of PROBLEM_RANK) if (p.has(problem)) return rank;
  return shownStatus(r.device) === 'online' ? 6 : 5;
}

/** The state shown in the status column, most serious first. */
export type ShownStatus = 'fault' | 'flapping' | 'offline' | 'unknown' | 'online';
export function shownStatus(d: DeviceInfo): ShownStatus {
  if (d.fault) return 'fault';
  if (d.supervision === 'flapping') return 'flapping';
  if (d.supervision === 'offline' || d.status === 'offline') return 'offline';
  return d.status;
}

export function filterRows(rows: HealthRow[], opts: { text: string; show: HealthFilter; team: string }, now: number): HealthRow[] {
  const q = opts.text.trim().toLowerCase();
  return rows.filter((r) => {
    if (opts.team && r.team !== opts.team) return false;
    if (q && !`${r.household} ${r.name} ${r.address} ${r.device.id}`.toLowerCase().includes(q)) return false;
    if (opts.show === 'all') return true;
    const p = problemsOf(r, now);
    return opts.show === 'problems' ? p.size > 0 : p.has(opts.show);
  });
}

const STATUS_RANK: Record<ShownStatus, number> = { fault: 0, flapping: 1, offline: 2, unknown: 3, online: 4 };
function keyOf(r: HealthRow, k: SortKey, now: number): string | number {
  switch (k) {
    case 'urgency':
      return urgencyOf(r, now);
    case 'household':
      return r.household;
    case 'name':
      return r.name;
    case 'team':
      return r.team;
    case 'device':
      return r.device.id;
    case 'kind':
      return r.device.kind;
    case 'status':
      return STATUS_RANK[shownStatus(r.device)];
    case 'battery':
      return r.device.battery ?? Number.POSITIVE_INFINITY;
    case 'lastSeen':
      return r.device.lastSeen ?? 0;
    case 'selfTest':
      return selfTestSortKey(r.device, now);
  }
}
/**
 * Ascending: failed tests, then overdue ones (never tested first, then the oldest), then passes
 * (oldest first), then detectors not yet due (neutral: by enrolment, the first due first), then the
 * devices that have no self-test. Each tier is a band of 1e15 ms (past any timestamp).
 */
const SELF_TEST_TIER: Record<SelfTestState, number> = { failed: 0, overdue: 1, ok: 2, notYet: 3, none: 4 };
export function selfTestSortKey(d: DeviceInfo, now: number): number {
  const state = selfTestState(d, now);
  const at = state === 'none' ? 0 : state === 'notYet' ? d.enrolledAt : (d.lastSelfTest ?? 0);
  return SELF_TEST_TIER[state] * 1e15 + at;
}
/** Sorts by one column (ties by device id); `now` dates the self-test and urgency keys. */
export function sortRows(rows: HealthRow[], key: SortKey, dir: 1 | -1, now: number): HealthRow[] {
  const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  return [...rows].sort((a, b) => {
    const x = keyOf(a, key, now);
    const y = keyOf(b, key, now);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : coll.compare(String(x), String(y));
    return c * dir || coll.compare(a.device.id, b.device.id);
  });
}
