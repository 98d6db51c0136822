/**
 * The durable alarm journal (SQLite): every transition is written, in one synchronous transaction,
 * before it is announced. After a crash the open alarms — with their responders and deadlines —
 * are restored from `alarms.record_json`. `seen_events` de-duplicates device events across restarts.
 */
import type { Db } from './database.ts';
import { migrate } from './database.ts';
import type { AlarmRecord } from '../core/alarm-record.ts';
import { OPEN_ALARM_STATES, type Actor, type AlarmView, type Via } from '../protocol/schema.ts';
import { AlarmJournalReader, type AlarmQuery, type AlarmRow } from './alarm-journal-reader.ts';

export interface TimelineEntry {
  seq: number;
  at: number;
  transition: string;
  state: string;
  detail: Record<string, unknown>;
  /** Who did it (`{"kind":"hub","reason":"…"}` for entries written before this was recorded). */
  by: Actor;
  via: Via;
}

/** One journal entry: a transition with who caused it and how. */
export interface JournalEntry {
  record: AlarmRecord;
  /** The alarm's view to store as its current state; null: only the timeline entry. */
  view: AlarmView | null;
  transition: string;
  detail: Record<string, unknown>;
  by: Actor;
  via: Via;
}

/** Who a timeline entry written before actors were recorded is read as. */
export const UNKNOWN_ACTOR: Actor = { kind: 'hub', reason: 'unrecorded' };

export type { AlarmQuery, AlarmRow } from './alarm-journal-reader.ts';

/** How long event ids are remembered for de-duplication. */
const SEEN_EVENT_TTL_MS = 7 * 24 * 3600 * 1000;

export class AlarmJournal {
  private readonly upsertAlarm;
  private readonly insertTimeline;
  private readonly insertSeen;
  private readonly selectSeen;
  private readonly selectState;
  private readonly writeTx;
  private readonly runInTx: (fn: () => unknown) => unknown;

  private readonly reader: AlarmJournalReader;

  constructor(private readonly db: Db) {
    migrate(db, 'alarm-journal', [
      `CREATE TABLE alarms (
         id TEXT PRIMARY KEY, team TEXT NOT NULL, household TEXT NOT NULL, kind TEXT NOT NULL,
         state TEXT NOT NULL, raised_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
         closed_at INTEGER, false_alarm INTEGER NOT NULL DEFAULT 0,
         view_json TEXT NOT NULL, record_json TEXT NOT NULL);
       CREATE INDEX alarms_state ON alarms(state);
       CREATE INDEX alarms_team_raised ON alarms(team, raised_at);
       CREATE INDEX alarms_raised ON alarms(raised_at);
       CREATE TABLE alarm_timeline (
         seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id TEXT NOT NULL, at INTEGER NOT NULL,
         transition TEXT NOT NULL, state TEXT NOT NULL, detail_json TEXT NOT NULL);
       CREATE INDEX alarm_timeline_alarm ON alarm_timeline(alarm_id, seq);
       CREATE TABLE seen_events (device TEXT NOT NULL, event_id TEXT NOT NULL, at INTEGER NOT NULL,
         PRIMARY KEY (device, event_id)) WITHOUT ROWID;
       CREATE INDEX seen_events_at ON seen_events(at);`,
      `ALTER TABLE alarm_timeline ADD COLUMN by_json TEXT;
       ALTER TABLE alarm_timeline ADD COLUMN via TEXT;`,
    ]);
    this.upsertAlarm = db.prepare(
      `INSERT INTO alarms (id, team, household, kind, state, raised_at, updated_at, closed_at, false_alarm, view_json, record_json)
       VALUES (@id, @team, @household, @kind, @state, @raisedAt, @updatedAt, @closedAt, @falseAlarm, @view, @record)
       ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,
         closed_at = excluded.closed_at, false_alarm = excluded.false_alarm,
         view_json = excluded.view_json, record_json = excluded.record_json`,
    );
    this.reader = new AlarmJournalReader(db);
    this.insertTimeline = db.prepare('INSERT INTO alarm_timeline (alarm_id, at, transition, state, detail_json, by_json, via) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.runInTx = db.transaction((fn: () => unknown) => fn());
    this.insertSeen = db.prepare('INSERT OR IGNORE INTO seen_events (device, event_id, at) VALUES (?, ?, ?)');
    this.selectSeen = db.prepare('SELECT 1 FROM seen_events WHERE device = ? AND event_id = ?');
    this.selectState = db.prepare('SELECT state FROM alarms WHERE id = ?');
    this.writeTx = db.transaction(({ record, view, transition, detail, by, via }: JournalEntry) => {
      if (view)
        this.upsertAlarm.run({
          id: record.id,
          team: record.team,
          household: record.originHousehold,
          kind: record.kind,
          state: record.state,
          raisedAt: record.raisedAt,
          updatedAt: record.updatedAt,
          closedAt: record.closedAt,
          falseAlarm: record.falseAlarm ? 1 : 0,
          view: JSON.stringify(view),
          record: JSON.stringify(record),
        });
      this.insertTimeline.run(record.id, record.updatedAt, transition, record.state, JSON.stringify(detail), JSON.stringify(by), via);
    });
  }

  /** Runs `fn` in one transaction (one fsync for everything one input caused). Nested calls join it. */
  atomically<T>(fn: () => T): T {
    return this.runInTx(fn) as T;
  }

  /**
   * Durably records one transition (returns after the commit, or with the enclosing transaction).
   * `view` null: only the timeline entry (a later transition of the same input saves the state).
   */
  write(entry: JournalEntry): void {
    this.writeTx(entry);
  }

  /**
   * A timeline entry that does not change the alarm (an SMS sent, delivered or failed; a call made),
   * under the alarm's current state. False when the alarm is unknown.
   */
  note(alarmId: string, at: number, transition: string, detail: Record<string, unknown>, by: Actor, via: Via): boolean {
    const row = this.selectState.get(alarmId) as { state: string } | undefined;
    if (!row) return false;
    this.insertTimeline.run(alarmId, at, transition, row.state, JSON.stringify(detail), JSON.stringify(by), via);
    return true;
  }

  /** Records an event id; false when this device already sent it (a duplicate or redelivery). */
  markEventSeen(device: string, eventId: string, at: number): boolean {
    return this.insertSeen.run(device, eventId, at).changes === 1;
  }

  /** Read-only: was this event id recorded (works on a full disk, where `markEventSeen` cannot)? */
  isEventSeen(device: string, eventId: string): boolean {
    return this.selectSeen.get(device, eventId) !== undefined;
  }

  pruneSeenEvents(now: number): number {
    return this.db.prepare('DELETE FROM seen_events WHERE at < ?').run(now - SEEN_EVENT_TTL_MS).changes;
  }

  /** Open alarms' full records, to restore the engine after a restart. */
  openRecords(): AlarmRecord[] {
    const rows = this.db
      .prepare(`SELECT record_json FROM alarms WHERE state IN (${OPEN_ALARM_STATES.map(() => '?').join(', ')}) ORDER BY raised_at`)
      .all(...OPEN_ALARM_STATES) as Array<{ record_json: string }>;
    return rows.map((r) => JSON.parse(r.record_json) as AlarmRecord);
  }

  get(id: string): AlarmRow | undefined {
    const row = this.db.prepare('SELECT view_json, closed_at, false_alarm FROM alarms WHERE id = ?').get(id) as
      | { view_json: string; closed_at: number | null; false_alarm: number }
      | undefined;
    return row && { view: JSON.parse(row.view_json), closedAt: row.closed_at, falseAlarm: row.false_alarm === 1 };
  }

  /** The full record of an alarm, open or closed (what the engine had at its last transition). */
  record(id: string): AlarmRecord | undefined {
    const row = this.db.prepare('SELECT record_json FROM alarms WHERE id = ?').get(id) as { record_json: string } | undefined;
    return row ? (JSON.parse(row.record_json) as AlarmRecord) : undefined;
  }

  timeline(id: string): TimelineEntry[] {
    const rows = this.db
      .prepare('SELECT seq, at, transition, state, detail_json, by_json, via FROM alarm_timeline WHERE alarm_id = ? ORDER BY seq')
      .all(id) as Array<{ seq: number; at: number; transition: string; state: string; detail_json: string; by_json: string | null; via: string | null }>;
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      transition: r.transition,
      state: r.state,
      detail: JSON.parse(r.detail_json),
      by: r.by_json ? (JSON.parse(r.by_json) as Actor) : UNKNOWN_ACTOR,
      via: (r.via ?? 'timer') as Via,
    }));
  }

  /** Alarms as stored (newest first), filtered: alarm-journal-reader.ts. */
  list(q: AlarmQuery = {}): AlarmRow[] {
    return this.reader.list(q);
  }
}
