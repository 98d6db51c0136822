/**
 * The alarm journal's read interface (the tables store/alarm-journal.ts migrates): for the HTTP
 * routes (through AlarmJournal), the daily report and the CLI, which must not query those tables
 * themselves. Read-only: it migrates nothing, so it also works on a database opened read-only, or
 * one where the hub never journalled an alarm (no tables yet: nothing to read).
 */
import type { Db } from './database.ts';
import type { AlarmView } from '../protocol/schema.ts';

export interface AlarmRow {
  view: AlarmView;
  closedAt: number | null;
  falseAlarm: boolean;
}

export interface AlarmQuery {
  states?: string[];
  team?: string;
  teams?: string[];
  household?: string;
  kind?: string;
  from?: number;
  to?: number;
  limit?: number;
}

/** The columns a summary needs (the daily report, the CLI): no JSON parsed. */
export interface AlarmSummary {
  id: string;
  team: string;
  household: string;
  kind: string;
  state: string;
  raisedAt: number;
  falseAlarm: boolean;
}

export class AlarmJournalReader {
  constructor(private readonly db: Db) {}

  /** False before the hub ever journalled an alarm (its tables are created on first start). */
  hasJournal(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarms'").get() !== undefined;
  }

  list(q: AlarmQuery = {}): AlarmRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.states && q.states.length > 0) {
      where.push(`state IN (${q.states.map(() => '?').join(',')})`);
      args.push(...q.states);
    }
    if (q.team !== undefined) {
      where.push('team = ?');
      args.push(q.team);
    }
    if (q.teams) {
      if (q.teams.length === 0) return [];
      where.push(`team IN (${q.teams.map(() => '?').join(',')})`);
      args.push(...q.teams);
    }
    if (q.household !== undefined) {
      where.push('household = ?');
      args.push(q.household);
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    if (q.from !== undefined) {
      where.push('raised_at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('raised_at < ?');
      args.push(q.to);
    }
    const sql = `SELECT view_json, closed_at, false_alarm FROM alarms ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
                 ORDER BY raised_at DESC LIMIT ?`;
    args.push(Math.min(Math.max(q.limit ?? 500, 1), 5000));
    const rows = this.db.prepare(sql).all(...args) as Array<{ view_json: string; closed_at: number | null; false_alarm: number }>;
    return rows.map((r) => ({ view: JSON.parse(r.view_json), closedAt: r.closed_at, falseAlarm: r.false_alarm === 1 }));
  }

  /** Every alarm raised in [from, to), oldest first (no limit: a report counts them all). */
  summariesRaised(from: number, to: number): AlarmSummary[] {
    if (!this.hasJournal()) return [];
    return this.summaries('WHERE raised_at >= ? AND raised_at < ? ORDER BY raised_at, id', [from, to]);
  }

  /** The newest alarms first, at most `limit`, only those in `states` when given. */
  recentSummaries(limit: number, states?: readonly string[]): AlarmSummary[] {
    if (!this.hasJournal()) return [];
    const where = states && states.length > 0 ? `WHERE state IN (${states.map(() => '?').join(', ')})` : '';
    return this.summaries(`${where} ORDER BY raised_at DESC, id DESC LIMIT ?`, [...(states ?? []), limit]);
  }

  private summaries(tail: string, args: unknown[]): AlarmSummary[] {
    const rows = this.db.prepare(`SELECT id, team, household, kind, state, raised_at, false_alarm FROM alarms ${tail}`).all(...args) as Array<{
      id: string;
      team: string;
      household: string;
      kind: string;
      state: string;
      raised_at: number;
      false_alarm: number;
    }>;
    return rows.map((r) => ({
      id: r.id,
      team: r.team,
      household: r.household,
      kind: r.kind,
      state: r.state,
      raisedAt: r.raised_at,
      falseAlarm: r.false_alarm === 1,
    }));
  }
}
