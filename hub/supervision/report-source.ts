/**
 * Gathers the rows of one local day for the daily report: alarms (through the journal's read
 * interface, store/alarm-journal-reader.ts), offline/flapping notices, failed self-tests, equipment, and — for today — the devices
 * offline now. The report itself is computed by the pure daily-report.ts.
 */
import type { Db } from '../store/database.ts';
import { AlarmJournalReader } from '../store/alarm-journal-reader.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import { buildDailyReport, type DailyReport, type ReportAlarmRow, type ReportOfflineRow } from './daily-report.ts';
import { addDays, localDate, localDayBounds } from '../protocol/local-time.ts';
import { EQUIPMENT_HORIZON_DAYS } from './reminders.ts';
import type { NoticeStore } from './notice-store.ts';
import type { DeviceHealthStore } from './device-health-store.ts';
import type { EquipmentStore } from './equipment-store.ts';

/** Where the report reads the alarms raised in [from, to): the node's SQLite journal, or a cluster's (PostgreSQL). */
export type AlarmSummaries = (from: number, to: number) => ReportAlarmRow[] | Promise<ReportAlarmRow[]>;

export interface ReportSourceDeps {
  db: Db;
  /** A cluster's journal (default: the SQLite journal in `db`). */
  alarms?: AlarmSummaries;
  registry: RegistryStore;
  notices: NoticeStore;
  health: DeviceHealthStore;
  equipment: EquipmentStore;
  timezone: string;
  /** Devices offline now (supervision). */
  offlineNow(): ReportOfflineRow[];
}

/** The alarms raised in [from, to), through the journal's read interface (supervision does not query its tables). */
export function readAlarms(db: Db, from: number, to: number): ReportAlarmRow[] {
  return new AlarmJournalReader(db).summariesRaised(from, to);
}

/** The daily report for a local date (`YYYY-MM-DD`) as seen at `now`. */
export async function collectDailyReport(d: ReportSourceDeps, date: string, now: number): Promise<DailyReport> {
  const { start, end } = localDayBounds(date, d.timezone);
  const isToday = localDate(now, d.timezone) === date;
  return buildDailyReport({
    date,
    timezone: d.timezone,
    from: start,
    to: end,
    generatedAt: now,
    teams: d.registry.listTeams().map((t) => t.id),
    alarms: d.alarms ? await d.alarms(start, end) : readAlarms(d.db, start, end),
    troubles: d.notices.troubles(start, end),
    offlineNow: isToday ? d.offlineNow() : [],
    failedSelfTests: d.health.failedSelfTests(start, end),
    equipment: d.equipment.list(),
    horizonDays: EQUIPMENT_HORIZON_DAYS,
  });
}

/** Yesterday's local date, for the report job that runs after midnight. */
export function previousLocalDate(now: number, timezone: string): string {
  return addDays(localDate(now, timezone), -1);
}
