/**
 * The alarm journal in PostgreSQL (the cluster's counterpart of store/alarm-journal.ts and
 * alarm-journal-reader.ts, with the same entries and reads, all async). Writes take the
 * transaction they belong to (team-stepper.ts runs each input of a team in one); reads go to the
 * pool. Beyond the SQLite journal: `alarms.open` and `alarms.next_deadline` (the earliest pending
 * deadline of an open alarm: deadline-sweeper.ts takes due ones), and `seen_events` is the
 * cluster-wide de-duplication of device events (a redelivery on another node is a conflict).
 */
import { recordNextDeadline, type AlarmRecord } from '../core/alarm-record.ts';
import { isOpenState, type Actor, type AlarmView, type Via } from '../protocol/schema.ts';
import type { JournalEntry, TimelineEntry } from '../store/alarm-journal.ts';
import type { AlarmQuery, AlarmRow, AlarmSummary } from '../store/alarm-journal-reader.ts';
import { pgMigrate } from './pg-migrate.ts';
import type { PgPool, PgTx } from './pg-pool.ts';

export type { JournalEntry, TimelineEntry, AlarmQuery, AlarmRow, AlarmSummary };

/** How long event ids are remembered for de-duplication (as the SQLite journal). */
export const SEEN_EVENT_TTL_MS = 7 * 24 * 3600 * 1000;

export const PG_JOURNAL_STEPS = [
  `CREATE TABLE alarms (
     id TEXT PRIMARY KEY, team TEXT NOT NULL, household TEXT NOT NULL, kind TEXT NOT NULL,
     state TEXT NOT NULL, open BOOLEAN NOT NULL, raised_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
     closed_at BIGINT, false_alarm BOOLEAN NOT NULL DEFAULT false,
     view JSONB NOT NULL, record JSONB NOT NULL, next_deadline BIGINT);
   CREATE INDEX alarms_open_team ON alarms (team) WHERE open;
   CREATE INDEX alarms_due ON alarms (next_deadline) WHERE open AND next_deadline IS NOT NULL;
   CREATE INDEX alarms_state ON alarms (state);
   CREATE INDEX alarms_team_raised ON alarms (team, raised_at);
   CREATE INDEX alarms_raised ON alarms (raised_at);
   CREATE TABLE alarm_timeline (
     seq BIGSERIAL PRIMARY KEY, alarm_id TEXT NOT NULL, at BIGINT NOT NULL, transition TEXT NOT NULL,
     state TEXT NOT NULL, detail JSONB NOT NULL, "by" JSONB NOT NULL, via TEXT NOT NULL);
   CREATE INDEX alarm_timeline_alarm ON alarm_timeline (alarm_id, seq);
   CREATE TABLE seen_events (device TEXT NOT NULL, event_id TEXT NOT NULL, at BIGINT NOT NULL,
     PRIMARY KEY (device, event_id));
   CREATE INDEX seen_events_at ON seen_events (at);`,
];

interface AlarmRowDb {
  view: AlarmView;
  closed_at: number | null;
  false_alarm: boolean;
}
const toRow = (r: AlarmRowDb): AlarmRow => ({ view: r.view, closedAt: r.closed_at, falseAlarm: r.false_alarm });

/** A due alarm, locked by the sweeper's transaction. */
export interface DueAlarm {
  id: string;
  team: string;
  nextDeadline: number;
}

export class PgAlarmJournal {
  constructor(private readonly pool: PgPool) {}

  /** Creates or brings up to date the journal's tables (idempotent; safe for nodes starting together). */
  async migrate(now: () => number = Date.now): Promise<void> {
    await pgMigrate(this.pool, 'alarm-journal', PG_JOURNAL_STEPS, now);
  }

  // ---- writes (inside the caller's transaction) ---------------------------------------------

  /** One transition: its timeline entry, and the alarm's row when `view` is given. */
  async write(tx: PgTx, entry: JournalEntry): Promise<void> {
    const { record, view, transition, detail, by, via } = entry;
    if (view) await this.saveAlarm(tx, record, view);
    await tx.query('INSERT INTO alarm_timeline (alarm_id, at, transition, state, detail, "by", via) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      record.id,
      record.updatedAt,
      transition,
      record.state,
      JSON.stringify(detail),
      JSON.stringify(by),
      via,
    ]);
  }

  /** The alarm's row as `record` is now (its next deadline included), without a timeline entry. */
  async saveAlarm(tx: PgTx, record: AlarmRecord, view: AlarmView): Promise<void> {
    const open = isOpenState(record.state);
    await tx.query(
      `INSERT INTO alarms (id, team, household, kind, state, open, raised_at, updated_at, closed_at, false_alarm, view, record, next_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, open = excluded.open, updated_at = excluded.updated_at,
         closed_at = excluded.closed_at, false_alarm = excluded.false_alarm, view = excluded.view,
         record = excluded.record, next_deadline = excluded.next_deadline`,
      [
        record.id,
        record.team,
        record.originHousehold,
        record.kind,
        record.state,
        open,
        record.raisedAt,
        record.updatedAt,
        record.closedAt,
        record.falseAlarm,
        JSON.stringify(view),
        JSON.stringify(record),
        open ? recordNextDeadline(record) : null,
      ],
    );
  }

  /** A timeline entry under the alarm's current state; false when the alarm is unknown. */
  async note(tx: PgTx, alarmId: string, at: number, transition: string, detail: Record<string, unknown>, by: Actor, via: Via): Promise<boolean> {
    const r = await tx.query(
      `INSERT INTO alarm_timeline (alarm_id, at, transition, state, detail, "by", via)
       SELECT id, $2, $3, state, $4, $5, $6 FROM alarms WHERE id = $1`,
      [alarmId, at, transition, JSON.stringify(detail), JSON.stringify(by), via],
    );
    return r.rowCount === 1;
  }

  /** Records an event id; false when this device already sent it (here or on another node). */
  async markEventSeen(tx: PgTx, device: string, eventId: string, at: number): Promise<boolean> {
    const r = await tx.query('INSERT INTO seen_events (device, event_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [device, eventId, at]);
    return r.rowCount === 1;
  }

  /** The team's open alarms' records, oldest first (call under the team's lock). */
  async openRecordsOfTeam(tx: PgTx, team: string): Promise<AlarmRecord[]> {
    const { rows } = await tx.query<{ record: AlarmRecord }>('SELECT record FROM alarms WHERE open AND team = $1 ORDER BY raised_at, id', [team]);
    return rows.map((r) => r.record);
  }

  /**
   * Open alarms with a deadline due at `now`, locked for the caller's transaction; rows another
   * transaction holds are skipped (that node is firing them).
   */
  async lockDue(tx: PgTx, now: number, limit: number): Promise<DueAlarm[]> {
    const { rows } = await tx.query<{ id: string; team: string; next_deadline: number }>(
      `SELECT id, team, next_deadline FROM alarms WHERE open AND next_deadline <= $1
       ORDER BY next_deadline FOR UPDATE SKIP LOCKED LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => ({ id: r.id, team: r.team, nextDeadline: r.next_deadline }));
  }

  async pruneSeenEvents(now: number): Promise<number> {
    const r = await this.pool.pool.query('DELETE FROM seen_events WHERE at < $1', [now - SEEN_EVENT_TTL_MS]);
    return r.rowCount ?? 0;
  }

  // ---- reads ----------------------------------------------------------------------------------

  async isEventSeen(device: string, eventId: string): Promise<boolean> {
    const r = await this.pool.pool.query('SELECT 1 FROM seen_events WHERE device = $1 AND event_id = $2', [device, eventId]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Every open alarm's record, oldest first. */
  async openRecords(): Promise<AlarmRecord[]> {
    const { rows } = await this.pool.pool.query<{ record: AlarmRecord }>('SELECT record FROM alarms WHERE open ORDER BY raised_at, id');
    return rows.map((r) => r.record);
  }

  /** Open alarms' views (with their team), oldest first: the node's replica loads them. */
  async openViewsOfTeam(team?: string): Promise<Array<{ record: AlarmRecord; view: AlarmView }>> {
    const { rows } = await this.pool.pool.query<{ record: AlarmRecord; view: AlarmView }>(
      `SELECT record, view FROM alarms WHERE open ${team === undefined ? '' : 'AND team = $1'} ORDER BY raised_at, id`,
      team === undefined ? [] : [team],
    );
    return rows;
  }

  async get(id: string): Promise<AlarmRow | undefined> {
    const { rows } = await this.pool.pool.query<AlarmRowDb>('SELECT view, closed_at, false_alarm FROM alarms WHERE id = $1', [id]);
    return rows[0] && toRow(rows[0]);
  }

  async record(id: string): Promise<AlarmRecord | undefined> {
    const { rows } = await this.pool.pool.query<{ record: AlarmRecord }>('SELECT record FROM alarms WHERE id = $1', [id]);
    return rows[0]?.record;
  }

  async timeline(id: string): Promise<TimelineEntry[]> {
    const { rows } = await this.pool.pool.query<{
      seq: number;
      at: number;
      transition: string;
      state: string;
      detail: Record<string, unknown>;
      by: Actor;
      via: Via;
    }>('SELECT seq, at, transition, state, detail, "by", via FROM alarm_timeline WHERE alarm_id = $1 ORDER BY seq', [id]);
    return rows.map((r) => ({ seq: r.seq, at: r.at, transition: r.transition, state: r.state, detail: r.detail, by: r.by, via: r.via }));
  }

  /** Alarms as stored, newest first, filtered as AlarmJournalReader.list. */
  async list(q: AlarmQuery = {}): Promise<AlarmRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (q.states && q.states.length > 0) where.push(`state = ANY(${arg(q.states)})`);
    if (q.team !== undefined) where.push(`team = ${arg(q.team)}`);
    if (q.teams) {
      if (q.teams.length === 0) return [];
      where.push(`team = ANY(${arg(q.teams)})`);
    }
    if (q.household !== undefined) where.push(`household = ${arg(q.household)}`);
    if (q.kind !== undefined) where.push(`kind = ${arg(q.kind)}`);
    if (q.from !== undefined) where.push(`raised_at >= ${arg(q.from)}`);
    if (q.to !== undefined) where.push(`raised_at < ${arg(q.to)}`);
    const limit = arg(Math.min(Math.max(q.limit ?? 500, 1), 5000));
    const sql = `SELECT view, closed_at, false_alarm FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY raised_at DESC LIMIT ${limit}`;
    const { rows } = await this.pool.pool.query<AlarmRowDb>(sql, args);
    return rows.map(toRow);
  }

  /** Every alarm raised in [from, to), oldest first. */
  summariesRaised(from: number, to: number): Promise<AlarmSummary[]> {
    return this.summaries('WHERE raised_at >= $1 AND raised_at < $2 ORDER BY raised_at, id', [from, to]);
  }

  /** The newest alarms first, at most `limit`, only those in `states` when given. */
  recentSummaries(limit: number, states?: readonly string[]): Promise<AlarmSummary[]> {
    if (states && states.length > 0) return this.summaries('WHERE state = ANY($1) ORDER BY raised_at DESC, id DESC LIMIT $2', [[...states], limit]);
    return this.summaries('ORDER BY raised_at DESC, id DESC LIMIT $1', [limit]);
  }

  private async summaries(tail: string, args: unknown[]): Promise<AlarmSummary[]> {
    const { rows } = await this.pool.pool.query<{
      id: string;
      team: string;
      household: string;
      kind: string;
      state: string;
      raised_at: number;
      false_alarm: boolean;
    }>(`SELECT id, team, household, kind, state, raised_at, false_alarm FROM alarms ${tail}`, args);
    return rows.map((r) => ({
      id: r.id,
      team: r.team,
      household: r.household,
      kind: r.kind,
      state: r.state,
      raisedAt: r.raised_at,
      falseAlarm: r.false_alarm,
    }));
  }
}
