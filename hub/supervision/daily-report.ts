/**
 * The daily station report as a pure function over rows: alarms and false alarms per team,
 * devices that went offline, failed self-tests and equipment expiring soon, for one local day.
 */
import type { EquipmentItem } from './reminders.ts';
import { EQUIPMENT_HORIZON_DAYS } from './reminders.ts';
import { daysBetween } from '../protocol/local-time.ts';
import type { AlarmSummary } from '../store/alarm-journal-reader.ts';

/** One alarm of the day, as the journal's read interface summarises it. */
export type ReportAlarmRow = AlarmSummary;
export interface ReportTroubleRow {
  team: string;
  household: string;
  device: string;
  notice: string;
  at: number;
}
export interface ReportOfflineRow {
  team: string;
  household: string;
  device: string;
  since: number;
  flapping: boolean;
}
export interface ReportSelfTestRow {
  team: string;
  household: string;
  device: string;
  at: number;
  reason: string | null;
}

export interface TeamReport {
  team: string;
  /** Real alarms (drills are counted apart). */
  alarms: number;
  falseAlarms: number;
  /** Drills of the team that day. */
  drills: number;
  alarmsByKind: Record<string, number>;
  alarmIds: string[];
  /** Devices that went offline or flapped during the day (distinct), with how often. */
  offlineDevices: Array<{ household: string; device: string; times: number; flapping: boolean }>;
  /** Devices offline when the report was made (only for today's report). */
  offlineNow: Array<{ household: string; device: string; since: number; flapping: boolean }>;
  failedSelfTests: Array<{ household: string; device: string; at: number; reason: string | null }>;
  expiringEquipment: Array<{ household: string; item: string; serial: string; expires: string; daysLeft: number }>;
  /** Households with equipment on record, and with every item in date (the team's readiness). */
  equippedHouseholds: number;
  householdsInDate: number;
}

export interface DailyReport {
  date: string;
  timezone: string;
  from: number;
  to: number;
  generatedAt: number;
  totals: {
    alarms: number;
    falseAlarms: number;
    drills: number;
    offlineDevices: number;
    offlineNow: number;
    failedSelfTests: number;
    expiringEquipment: number;
  };
  teams: TeamReport[];
}

export interface DailyReportInput {
  date: string;
  timezone: string;
  from: number;
  to: number;
  generatedAt: number;
  teams: Iterable<string>;
  alarms: Iterable<ReportAlarmRow>;
  troubles: Iterable<ReportTroubleRow>;
  offlineNow: Iterable<ReportOfflineRow>;
  failedSelfTests: Iterable<ReportSelfTestRow>;
  equipment: Iterable<EquipmentItem>;
  horizonDays?: number;
}

function emptyTeam(team: string): TeamReport {
  return {
    team,
    alarms: 0,
    falseAlarms: 0,
    drills: 0,
    alarmsByKind: {},
    alarmIds: [],
    offlineDevices: [],
    offlineNow: [],
    failedSelfTests: [],
    expiringEquipment: [],
    equippedHouseholds: 0,
    householdsInDate: 0,
  };
}

export function buildDailyReport(input: DailyReportInput): DailyReport {
  const horizon = input.horizonDays ?? EQUIPMENT_HORIZON_DAYS;
  const teams = new Map<string, TeamReport>();
  const team = (id: string) => {
    let t = teams.get(id);
    if (!t) teams.set(id, (t = emptyTeam(id)));
    return t;
  };
  for (const id of input.teams) team(id);

  for (const a of input.alarms) {
    if (a.raisedAt < input.from || a.raisedAt >= input.to) continue;
    const t = team(a.team);
    if (a.kind === 'drill') {
      t.drills++;
      continue;
    }
    t.alarms++;
    if (a.falseAlarm) t.falseAlarms++;
    t.alarmsByKind[a.kind] = (t.alarmsByKind[a.kind] ?? 0) + 1;
    t.alarmIds.push(a.id);
  }

  const offline = new Map<string, { team: string; household: string; device: string; times: number; flapping: boolean }>();
  for (const r of input.troubles) {
    if (r.at < input.from || r.at >= input.to) continue;
    if (r.notice !== 'offline' && r.notice !== 'flapping') continue;
    const o = offline.get(r.device) ?? { team: r.team, household: r.household, device: r.device, times: 0, flapping: false };
    o.times++;
    if (r.notice === 'flapping') o.flapping = true;
    offline.set(r.device, o);
  }
  for (const o of offline.values()) team(o.team).offlineDevices.push({ household: o.household, device: o.device, times: o.times, flapping: o.flapping });
  for (const o of input.offlineNow) team(o.team).offlineNow.push({ household: o.household, device: o.device, since: o.since, flapping: o.flapping });

  for (const s of input.failedSelfTests) {
    if (s.at < input.from || s.at >= input.to) continue;
    team(s.team).failedSelfTests.push({ household: s.household, device: s.device, at: s.at, reason: s.reason });
  }

  const readiness = new Map<string, { team: string; inDate: boolean }>();
  for (const it of input.equipment) {
    const key = `${it.team}\u0000${it.household}`;
    const r = readiness.get(key) ?? { team: it.team, inDate: true };
    if (it.expires !== null) {
      const daysLeft = daysBetween(input.date, it.expires);
      if (daysLeft < 0) r.inDate = false;
      if (daysLeft <= horizon) {
        team(it.team).expiringEquipment.push({ household: it.household, item: it.item, serial: it.serial, expires: it.expires, daysLeft });
      }
    }
    readiness.set(key, r);
  }
  for (const r of readiness.values()) {
    const t = team(r.team);
    t.equippedHouseholds++;
    if (r.inDate) t.householdsInDate++;
  }

  const list = [...teams.values()].sort((a, b) => a.team.localeCompare(b.team));
  for (const t of list) {
    t.offlineDevices.sort((a, b) => a.device.localeCompare(b.device));
    t.offlineNow.sort((a, b) => a.device.localeCompare(b.device));
    t.failedSelfTests.sort((a, b) => a.device.localeCompare(b.device));
    t.expiringEquipment.sort((a, b) => a.expires.localeCompare(b.expires) || a.household.localeCompare(b.household));
  }
  return {
    date: input.date,
    timezone: input.timezone,
    from: input.from,
    to: input.to,
    generatedAt: input.generatedAt,
    totals: totalsOf(list),
    teams: list,
  };
}

function totalsOf(teams: TeamReport[]): DailyReport['totals'] {
  const sum = (f: (t: TeamReport) => number) => teams.reduce((n, t) => n + f(t), 0);
  return {
    alarms: sum((t) => t.alarms),
    falseAlarms: sum((t) => t.falseAlarms),
    drills: sum((t) => t.drills),
    offlineDevices: sum((t) => t.offlineDevices.length),
    offlineNow: sum((t) => t.offlineNow.length),
    failedSelfTests: sum((t) => t.failedSelfTests.length),
    expiringEquipment: sum((t) => t.expiringEquipment.length),
  };
}

/** The report restricted to some teams (a team leader sees their own), totals recomputed. */
export function reportForTeams(report: DailyReport, allowed: (team: string) => boolean): DailyReport {
  const teams = report.teams.filter((t) => allowed(t.team));
  return { ...report, teams, totals: totalsOf(teams) };
}

/** The numbers of that line, for clients that say it in their own language (notice `daily-report`). */
export function reportSummaryParams(r: DailyReport): Record<string, string | number> {
  const t = r.totals;
  return {
    date: r.date,
    alarms: t.alarms,
    falseAlarms: t.falseAlarms,
    drills: t.drills,
    offlineDevices: t.offlineDevices,
    failedSelfTests: t.failedSelfTests,
    expiringEquipment: t.expiringEquipment,
  };
}

/** One line for the station notice that announces the report. */
export function reportSummaryText(r: DailyReport): string {
  const t = r.totals;
  return `Daily report ${r.date}: ${t.alarms} alarm${t.alarms === 1 ? '' : 's'} (${t.falseAlarms} false), ${t.drills} drill${t.drills === 1 ? '' : 's'}, ${t.offlineDevices} device${t.offlineDevices === 1 ? '' : 's'} went offline, ${t.failedSelfTests} failed self-test${t.failedSelfTests === 1 ? '' : 's'}, ${t.expiringEquipment} equipment item${t.expiringEquipment === 1 ? '' : 's'} expiring.`;
}
