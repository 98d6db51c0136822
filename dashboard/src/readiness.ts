/**
 * Equipment expiry and each household's readiness: are its detectors working, is its equipment in
 * date. Joins the bulk device health (health-rows.ts) with the equipment list (`GET /api/equipment`).
 * Pure.
 */
import { problemsOf, SELF_TEST_KINDS, type HealthRow } from './health-rows.ts';

export interface Equipment {
  household: string;
  team: string;
  item: string;
  /** '' when the item has none. */
  serial: string;
  /** YYYY-MM-DD, or null for an item that does not expire. */
  expires: string | null;
  daysLeft: number | null;
}

/**
 * `expired` (past its date), `expiring` (today up to `horizonDays` ahead: the monthly reminder tells
 * the household), `ok` (later), `none` (does not expire).
 */
export type ExpiryState = 'none' | 'ok' | 'expiring' | 'expired';
export function expiryState(daysLeft: number | null, horizonDays: number): ExpiryState {
  if (daysLeft === null) return 'none';
  if (daysLeft < 0) return 'expired';
  return daysLeft <= horizonDays ? 'expiring' : 'ok';
}

/** Expired first, then the soonest to expire; items that do not expire last; then by name. */
export function sortEquipment<T extends Pick<Equipment, 'item' | 'serial' | 'daysLeft'>>(items: readonly T[]): T[] {
  return [...items].sort(
    (a, b) =>
      (a.daysLeft ?? Number.POSITIVE_INFINITY) - (b.daysLeft ?? Number.POSITIVE_INFINITY) || a.item.localeCompare(b.item) || a.serial.localeCompare(b.serial),
  );
}

export interface HouseholdReadiness {
  household: string;
  name: string;
  team: string;
  /** Smoke, heat and CO detectors, and those of them with no problem (online, no fault, battery, self-test). */
  detectors: number;
  detectorsOk: number;
  /** Any device of the household (panic buttons and bridges too) with a problem. */
  devicesWithProblems: number;
  equipment: number;
  expiring: number;
  expired: number;
  /** The soonest expiry among its items (null: nothing expires). */
  nextExpiry: string | null;
  nextDaysLeft: number | null;
}

/** Whether a household needs someone to act: a device with a problem, no working detector, an item expired or expiring. */
export function needsAction(r: HouseholdReadiness): boolean {
  return r.devicesWithProblems > 0 || r.detectorsOk < r.detectors || r.detectors === 0 || r.expired > 0 || r.expiring > 0;
}

/**
 * One row per household: every household of the list, and any other that has devices or equipment
 * (enrolled since the list was loaded: its id only). Sorted by team, then household id.
 */
export function readinessOf(
  households: readonly { id: string; name: string; team: string }[] | null,
  rows: readonly HealthRow[],
  equipment: readonly Equipment[],
  horizonDays: number,
  now: number,
): HouseholdReadiness[] {
  const by = new Map<string, HouseholdReadiness>();
  const get = (id: string, team: string, name = ''): HouseholdReadiness => {
    let r = by.get(id);
    if (!r) {
      r = {
        household: id,
        name,
        team,
        detectors: 0,
        detectorsOk: 0,
        devicesWithProblems: 0,
        equipment: 0,
        expiring: 0,
        expired: 0,
        nextExpiry: null,
        nextDaysLeft: null,
      };
      by.set(id, r);
    }
    return r;
  };
  for (const h of households ?? []) get(h.id, h.team, h.name);
  for (const row of rows) {
    const r = get(row.household, row.team, row.name);
    const bad = problemsOf(row, now).size > 0;
    if (bad) r.devicesWithProblems++;
    if (SELF_TEST_KINDS.includes(row.device.kind)) {
      r.detectors++;
      if (!bad) r.detectorsOk++;
    }
  }
  for (const e of equipment) {
    const r = get(e.household, e.team);
    r.equipment++;
    const state = expiryState(e.daysLeft, horizonDays);
    if (state === 'expired') r.expired++;
    if (state === 'expiring') r.expiring++;
    if (e.expires !== null && e.daysLeft !== null && (r.nextDaysLeft === null || e.daysLeft < r.nextDaysLeft)) {
      r.nextDaysLeft = e.daysLeft;
      r.nextExpiry = e.expires;
    }
  }
  const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  return [...by.values()].sort((a, b) => coll.compare(a.team, b.team) || coll.compare(a.household, b.household));
}

export interface TeamReadiness {
  team: string;
  households: number;
  /** Households with at least one detector, all of them working. */
  detectorsReady: number;
  /** Households with equipment on record, and those of them with nothing expired (as the daily report counts). */
  equipped: number;
  inDate: number;
  /** Items expiring within the horizon, and items expired. */
  expiring: number;
  expired: number;
}

export function teamsOf(rows: readonly HouseholdReadiness[]): TeamReadiness[] {
  const by = new Map<string, TeamReadiness>();
  for (const r of rows) {
    let t = by.get(r.team);
    if (!t) {
      t = { team: r.team, households: 0, detectorsReady: 0, equipped: 0, inDate: 0, expiring: 0, expired: 0 };
      by.set(r.team, t);
    }
    t.households++;
    if (r.detectors > 0 && r.detectorsOk === r.detectors) t.detectorsReady++;
    if (r.equipment > 0) {
      t.equipped++;
      if (r.expired === 0) t.inDate++;
    }
    t.expiring += r.expiring;
    t.expired += r.expired;
  }
  return [...by.values()];
}
