/** Device health rows: flattening, problem classification, filtering and sorting. Pure. */
import type { HouseholdInfo, DeviceInfo } from './api.ts';
import type { Notice } from '../../hub/protocol/schema.ts';

export const LOW_BATTERY_PCT = 20;
/** Self-tests run weekly; one missed round plus a day is overdue. */
export const SELF_TEST_OVERDUE_MS = 8 * 24 * 3600 * 1000;

export interface HealthRow {
  household: string;
  name: string;
  address: string;
  team: string;
  device: DeviceInfo;
}
export type HealthFilter = 'all' | 'problems' | 'offline' | 'lowBattery' | 'fault' | 'noSelfTest';
export type SortKey = 'household' | 'name' | 'team' | 'device' | 'kind' | 'status' | 'battery' | 'lastSeen' | 'selfTest';

export function flattenHealth(list: HouseholdInfo[]): HealthRow[] {
  const rows: HealthRow[] = [];
  for (const h of list) for (const d of h.devices) rows.push({ household: h.id, name: h.name, address: h.address, team: h.team, device: d });
  return rows;
}

export function problemsOf(r: HealthRow, now: number): Set<Exclude<HealthFilter, 'all' | 'problems'>> {
  const p = new Set<Exclude<HealthFilter, 'all' | 'problems'>>();
  const d = r.device;
  if (d.status === 'offline') p.add('offline');
  if (d.battery !== null && d.battery < LOW_BATTERY_PCT) p.add('lowBattery');
  if (d.fault || d.selfTestOk === false) p.add('fault');
  // Bridges and panic buttons have no self-test.
  if ((d.kind === 'smoke' || d.kind === 'heat' || d.kind === 'co') && (d.lastSelfTest === null || now - d.lastSelfTest > SELF_TEST_OVERDUE_MS)) p.add('noSelfTest');
  return p;
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

const STATUS_RANK = { offline: 0, unknown: 1, online: 2 } as const;
function keyOf(r: HealthRow, k: SortKey): string | number {
  switch (k) {
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
      return r.device.fault ? -1 : STATUS_RANK[r.device.status];
    case 'battery':
      return r.device.battery ?? Number.POSITIVE_INFINITY;
    case 'lastSeen':
      return r.device.lastSeen ?? 0;
    case 'selfTest':
      return r.device.lastSelfTest ?? 0;
  }
}
export function sortRows(rows: HealthRow[], key: SortKey, dir: 1 | -1): HealthRow[] {
  const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  return [...rows].sort((a, b) => {
    const x = keyOf(a, key);
    const y = keyOf(b, key);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : coll.compare(String(x), String(y));
    return c * dir || coll.compare(a.device.id, b.device.id);
  });
}

/**
 * Folds supervision notices into the rows (the bulk household list carries presence only):
 * the newest `battery-low` gives the battery level, `self-test-failed` a failed self-test.
 */
export function applyNotices(rows: HealthRow[], notices: Notice[]): HealthRow[] {
  const newest = new Map<string, Notice>();
  for (const n of notices) {
    if (!n.device || (n.notice !== 'battery-low' && n.notice !== 'self-test-failed')) continue;
    const key = `${n.device}|${n.notice}`;
    const prev = newest.get(key);
    if (!prev || prev.at < n.at) newest.set(key, n);
  }
  if (newest.size === 0) return rows;
  return rows.map((r) => {
    const low = newest.get(`${r.device.id}|battery-low`);
    const failed = newest.get(`${r.device.id}|self-test-failed`);
    if (!low && !failed) return r;
    const d = { ...r.device };
    if (low && d.battery === null) {
      const m = /(\d+(?:\.\d+)?)\s*%/.exec(low.text);
      d.battery = m ? Number(m[1]) : LOW_BATTERY_PCT - 1;
    }
    if (failed && (d.lastSelfTest === null || d.lastSelfTest <= failed.at)) {
      d.lastSelfTest = failed.at;
      d.selfTestOk = false;
    }
    return { ...r, device: d };
  });
}
