/**
 * Maintenance reminders as pure functions over rows: low batteries and detectors near the end of
 * their life (daily), equipment expiring soon (monthly). Each returns the household notices and one
 * digest per team with something to report (for the team leader and the station).
 */
import type { DeviceKind, NoticeParams, NoticeSeverity } from '../protocol/schema.ts';
import { SELF_TEST_KINDS } from './self-test-round.ts';
import { daysBetween } from '../protocol/local-time.ts';

/** What a notice says before it is stamped and published (see notice-publisher.ts). */
export interface NoticeDraft {
  notice: string;
  severity: NoticeSeverity;
  team: string | null;
  household: string | null;
  device: string | null;
  /** English (the fallback for old clients). */
  text: string;
  /** For clients that say it in their own language (see NoticeParams). */
  params?: NoticeParams;
}

export interface ReminderDevice {
  device: string;
  household: string;
  team: string;
  kind: DeviceKind;
  enrolledAt: number;
  /** When the detector was made, if known (ms); its life counts from this rather than enrolment. */
  manufacturedAt?: number | null;
}

export interface BatteryReading {
  percent: number;
  at: number;
}

export interface EquipmentItem {
  household: string;
  team: string;
  item: string;
  serial: string;
  /** `YYYY-MM-DD`, or null for an item that does not expire. */
  expires: string | null;
}

export interface TeamDigest {
  team: string;
  notice: NoticeDraft;
  lowBattery: Array<{ household: string; device: string; percent: number }>;
  endOfLife: Array<{ household: string; device: string; replaceBy: number; past: boolean }>;
  expiring: Array<{ household: string; item: string; serial: string; expires: string; daysLeft: number }>;
}

export interface Reminders {
  notices: NoticeDraft[];
  digests: TeamDigest[];
}

/** A detector's rated life (NFPA 72: replace smoke alarms 10 years after manufacture). */
export const DETECTOR_LIFE_MONTHS = 120;
/** Remind this many months before the end of life (9.5 years). */
export const END_OF_LIFE_WARNING_MONTHS = 114;
export const EQUIPMENT_HORIZON_DAYS = 30;

/** `ms` plus whole calendar months (UTC), clamped to the end of shorter months. */
export function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  const day = d.getUTCDate();
  const t = new Date(ms);
  t.setUTCDate(1);
  t.setUTCMonth(t.getUTCMonth() + months);
  const last = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 0)).getUTCDate();
  t.setUTCDate(Math.min(day, last));
  return t.getTime();
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function digestFor(digests: Map<string, TeamDigest>, team: string): TeamDigest {
  let d = digests.get(team);
  if (!d) {
    d = { team, notice: { notice: '', severity: 'info', team, household: null, device: null, text: '' }, lowBattery: [], endOfLife: [], expiring: [] };
    digests.set(team, d);
  }
  return d;
}

/** Daily check: batteries below `batteryLowPercent` and detectors past 9.5 years of life. */
export function dailyReminders(input: {
  devices: Iterable<ReminderDevice>;
  batteries: ReadonlyMap<string, BatteryReading>;
  now: number;
  batteryLowPercent: number;
}): Reminders {
  const notices: NoticeDraft[] = [];
  const digests = new Map<string, TeamDigest>();
  for (const d of input.devices) {
    const battery = input.batteries.get(d.device);
    if (battery && battery.percent < input.batteryLowPercent) {
      notices.push({
        notice: 'battery-low',
        severity: 'warning',
        team: d.team,
        household: d.household,
        device: d.device,
        text: `Battery of ${d.kind} device ${d.device} is at ${Math.round(battery.percent)} %: replace it soon.`,
        params: { kind: d.kind, percent: Math.round(battery.percent) },
      });
      digestFor(digests, d.team).lowBattery.push({ household: d.household, device: d.device, percent: battery.percent });
    }
    if (SELF_TEST_KINDS.includes(d.kind)) {
      const born = d.manufacturedAt ?? d.enrolledAt;
      const replaceBy = addMonths(born, DETECTOR_LIFE_MONTHS);
      if (input.now >= addMonths(born, END_OF_LIFE_WARNING_MONTHS)) {
        const past = input.now >= replaceBy;
        notices.push({
          notice: 'end-of-life',
          severity: 'warning',
          team: d.team,
          household: d.household,
          device: d.device,
          text: past
            ? `${d.kind} detector ${d.device} is past its 10-year life (since ${isoDay(replaceBy)}): replace it now.`
            : `${d.kind} detector ${d.device} reaches the end of its 10-year life on ${isoDay(replaceBy)}: plan its replacement.`,
          params: { kind: d.kind, replaceBy: isoDay(replaceBy), when: past ? 'past' : 'soon' },
        });
        digestFor(digests, d.team).endOfLife.push({ household: d.household, device: d.device, replaceBy, past });
      }
    }
  }
  for (const d of digests.values()) {
    const parts: string[] = [];
    if (d.lowBattery.length > 0)
      parts.push(
        `${d.lowBattery.length} low batter${d.lowBattery.length === 1 ? 'y' : 'ies'} (${d.lowBattery.map((b) => `${b.household}/${b.device} ${Math.round(b.percent)} %`).join(', ')})`,
      );
    if (d.endOfLife.length > 0)
      parts.push(
        `${d.endOfLife.length} detector${d.endOfLife.length === 1 ? '' : 's'} at end of life (${d.endOfLife.map((e) => `${e.household}/${e.device}`).join(', ')})`,
      );
    d.notice = {
      notice: 'team-digest',
      severity: 'info',
      team: d.team,
      household: null,
      device: null,
      text: `Team ${d.team} daily check: ${parts.join('; ')}.`,
      params: {
        team: d.team,
        lowBattery: d.lowBattery.length,
        lowBatteryList: d.lowBattery.map((b) => `${b.household}/${b.device} ${Math.round(b.percent)} %`).join(', '),
        endOfLife: d.endOfLife.length,
        endOfLifeList: d.endOfLife.map((e) => `${e.household}/${e.device}`).join(', '),
      },
    };
  }
  return { notices, digests: [...digests.values()].sort((a, b) => a.team.localeCompare(b.team)) };
}

/** Monthly check: equipment expired or expiring within `horizonDays` of `today` (local date). */
export function equipmentReminders(input: { items: Iterable<EquipmentItem>; today: string; horizonDays?: number }): Reminders {
  const horizon = input.horizonDays ?? EQUIPMENT_HORIZON_DAYS;
  const notices: NoticeDraft[] = [];
  const digests = new Map<string, TeamDigest>();
  for (const it of input.items) {
    if (it.expires === null) continue;
    const daysLeft = daysBetween(input.today, it.expires);
    if (daysLeft > horizon) continue;
    const what = it.serial ? `${it.item} (${it.serial})` : it.item;
    notices.push({
      notice: 'equipment-expiring',
      severity: 'warning',
      team: it.team,
      household: it.household,
      device: null,
      text:
        daysLeft < 0
          ? `${what} expired on ${it.expires}: replace or service it.`
          : daysLeft === 0
            ? `${what} expires today (${it.expires}): replace or service it.`
            : `${what} expires on ${it.expires}, in ${daysLeft} day${daysLeft === 1 ? '' : 's'}: replace or service it.`,
      params: { item: it.item, serial: it.serial, expires: it.expires, daysLeft },
    });
    digestFor(digests, it.team).expiring.push({ household: it.household, item: it.item, serial: it.serial, expires: it.expires, daysLeft });
  }
  for (const d of digests.values()) {
    const expired = d.expiring.filter((e) => e.daysLeft < 0).length;
    d.notice = {
      notice: 'equipment-digest',
      severity: 'info',
      team: d.team,
      household: null,
      device: null,
      text: `Team ${d.team} equipment: ${d.expiring.length} item${d.expiring.length === 1 ? '' : 's'} expired or expiring within ${horizon} days${expired ? ` (${expired} already expired)` : ''}: ${d.expiring.map((e) => `${e.household} ${e.item} ${e.expires}`).join(', ')}.`,
      params: { team: d.team, count: d.expiring.length, expired, horizon, list: d.expiring.map((e) => `${e.household} ${e.item} ${e.expires}`).join(', ') },
    };
  }
  return { notices, digests: [...digests.values()].sort((a, b) => a.team.localeCompare(b.team)) };
}
