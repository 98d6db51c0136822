/**
 * The journal part of `smokehub migrate --from DATA --postgres URL`: every alarm of a single box,
 * open and closed, with its record and view, its `open` flag and next deadline (what
 * deadline-sweeper.ts fires), its whole timeline, and the seen event ids (de-duplication), copied
 * from the box's SQLite journal (store/alarm-journal.ts) into PostgreSQL's (pg-journal.ts).
 *
 * Three steps, so that migrate-box.ts runs them inside the one transaction of the registry's copy:
 * - `readJournalSource(db)`: the box's rows, as PostgreSQL will hold them;
 * - `loadJournalTarget(client)`: the target's rows;
 * - `planJournalCopy(source, target)` (pure): what to write, what is there already, what clashes;
 * - `writeJournalCopy(client, plan)`.
 *
 * Rows match by key: an alarm by id, a timeline by its alarm (the whole list of entries, in order:
 * PostgreSQL numbers entries with its own sequence, shared by every alarm), a seen event by device
 * and event id. An alarm whose row or timeline differs, and rows of alarms or events the box does
 * not have, are clashes: refused unless forced. Forced, the box's alarm row and its whole timeline
 * replace the target's; the target's other rows are kept.
 */
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { recordNextDeadline, type AlarmRecord } from '../core/alarm-record.ts';
import { isOpenState, type Actor, type AlarmView, type Via } from '../protocol/schema.ts';
import { UNKNOWN_ACTOR, type TimelineEntry } from '../store/alarm-journal.ts';
import type { Db } from '../store/database.ts';

/** One alarm row as PostgreSQL holds it (pg-journal.ts saveAlarm). */
export interface AlarmCopy {
  id: string;
  team: string;
  household: string;
  kind: string;
  state: string;
  open: boolean;
  raisedAt: number;
  updatedAt: number;
  closedAt: number | null;
  falseAlarm: boolean;
  view: AlarmView;
  record: AlarmRecord;
  nextDeadline: number | null;
}

/** One timeline entry (its order within its alarm is its place in the list). */
export type TimelineCopy = Omit<TimelineEntry, 'seq'> & { alarmId: string };

export interface SeenCopy {
  device: string;
  eventId: string;
  at: number;
}

/** A journal's rows: the box's, or the target's. Timeline entries in order within each alarm. */
export interface JournalRows {
  alarms: AlarmCopy[];
  timeline: TimelineCopy[];
  seen: SeenCopy[];
}

export type JournalTable = 'alarms' | 'timeline' | 'seen_events';

export interface JournalPlan {
  /** Per table: rows to write (new, or forced over different ones) and rows already there as they are. */
  tables: Record<JournalTable, { copied: number; unchanged: number }>;
  /** The box's open alarms, and those of them with a pending deadline. */
  open: number;
  deadlines: number;
  /** Rows the target holds that are not the box's (kept when forced). */
  foreign: number;
  /** Why the target is not this box's journal (empty: it is, or it is empty). */
  clashes: string[];
  alarms: AlarmCopy[];
  /** Alarms whose timeline in the target is deleted before theirs is written (forced over a different one). */
  replaceTimelines: string[];
  timeline: TimelineCopy[];
  seen: SeenCopy[];
}

/** The PostgreSQL row of an alarm, from its record and view (as PgAlarmJournal.saveAlarm derives it). */
export function alarmCopy(record: AlarmRecord, view: AlarmView): AlarmCopy {
  const open = isOpenState(record.state);
  return {
    id: record.id,
    team: record.team,
    household: record.originHousehold,
    kind: record.kind,
    state: record.state,
    open,
    raisedAt: record.raisedAt,
    updatedAt: record.updatedAt,
    closedAt: record.closedAt,
    falseAlarm: record.falseAlarm,
    view,
    record,
    nextDeadline: open ? recordNextDeadline(record) : null,
  };
}

/** The box's journal, every row (from its snapshot, box-snapshot.ts). */
export function readJournalSource(db: Db): JournalRows {
  const alarms = (
    db.prepare('SELECT view_json, record_json FROM alarms ORDER BY raised_at, id').all() as Array<{ view_json: string; record_json: string }>
  ).map((r) => alarmCopy(JSON.parse(r.record_json) as AlarmRecord, JSON.parse(r.view_json) as AlarmView));
  const timeline = (
    db.prepare('SELECT alarm_id, at, transition, state, detail_json, by_json, via FROM alarm_timeline ORDER BY alarm_id, seq').all() as Array<{
      alarm_id: string;
      at: number;
      transition: string;
      state: string;
      detail_json: string;
      by_json: string | null;
      via: string | null;
    }>
  ).map((r) => ({
    alarmId: r.alarm_id,
    at: r.at,
    transition: r.transition,
    state: r.state,
    detail: JSON.parse(r.detail_json) as Record<string, unknown>,
    // As AlarmJournal.timeline reads entries written before actors were recorded.
    by: r.by_json ? (JSON.parse(r.by_json) as Actor) : UNKNOWN_ACTOR,
    via: (r.via ?? 'timer') as Via,
  }));
  const seen = (
    db.prepare('SELECT device, event_id, at FROM seen_events ORDER BY device, event_id').all() as Array<{ device: string; event_id: string; at: number }>
  ).map((r) => ({ device: r.device, eventId: r.event_id, at: r.at }));
  return { alarms, timeline, seen };
}

/** The target's journal (call inside the migration's transaction; the pool reads BIGINT as numbers). */
export async function loadJournalTarget(c: pg.ClientBase): Promise<JournalRows> {
  const alarms = (
    await c.query<{
      id: string;
      team: string;
      household: string;
      kind: string;
      state: string;
      open: boolean;
      raised_at: number;
      updated_at: number;
      closed_at: number | null;
      false_alarm: boolean;
      view: AlarmView;
      record: AlarmRecord;
      next_deadline: number | null;
    }>('SELECT id, team, household, kind, state, open, raised_at, updated_at, closed_at, false_alarm, view, record, next_deadline FROM alarms')
  ).rows.map((r) => ({
    id: r.id,
    team: r.team,
    household: r.household,
    kind: r.kind,
    state: r.state,
    open: r.open,
    raisedAt: r.raised_at,
    updatedAt: r.updated_at,
    closedAt: r.closed_at,
    falseAlarm: r.false_alarm,
    view: r.view,
    record: r.record,
    nextDeadline: r.next_deadline,
  }));
  const timeline = (
    await c.query<{ alarm_id: string; at: number; transition: string; state: string; detail: Record<string, unknown>; by: Actor; via: Via }>(
      'SELECT alarm_id, at, transition, state, detail, "by", via FROM alarm_timeline ORDER BY alarm_id, seq',
    )
  ).rows.map((r) => ({ alarmId: r.alarm_id, at: r.at, transition: r.transition, state: r.state, detail: r.detail, by: r.by, via: r.via }));
  const seen = (await c.query<{ device: string; event_id: string; at: number }>('SELECT device, event_id, at FROM seen_events')).rows.map((r) => ({
    device: r.device,
    eventId: r.event_id,
    at: r.at,
  }));
  return { alarms, timeline, seen };
}

function byAlarm(entries: readonly TimelineCopy[]): Map<string, TimelineCopy[]> {
  const m = new Map<string, TimelineCopy[]>();
  for (const e of entries) {
    const list = m.get(e.alarmId);
    if (list) list.push(e);
    else m.set(e.alarmId, [e]);
  }
  return m;
}

const seenKey = (s: SeenCopy) => `${s.device}\u0000${s.eventId}`;
const count = (copied: number, unchanged: number) => ({ copied, unchanged });

/** What to write, what is already there, and what clashes (pure; JSON compared by value, not by text). */
export function planJournalCopy(source: JournalRows, target: JournalRows, from: string): JournalPlan {
  const clashes: string[] = [];
  let foreign = 0;
  const note = (table: string, differing: number, others: number) => {
    if (differing + others > 0) clashes.push(`${table}: ${differing} different, ${others} not from ${from}`);
    foreign += others;
  };

  // Alarms.
  const theirAlarms = new Map(target.alarms.map((a) => [a.id, a]));
  const myAlarmIds = new Set(source.alarms.map((a) => a.id));
  const alarms = source.alarms.filter((a) => {
    const theirs = theirAlarms.get(a.id);
    return !theirs || !isDeepStrictEqual(a, theirs);
  });
  note('alarms', alarms.filter((a) => theirAlarms.has(a.id)).length, target.alarms.filter((a) => !myAlarmIds.has(a.id)).length);

  // Timelines, a whole alarm's at a time.
  const mine = byAlarm(source.timeline);
  const theirs = byAlarm(target.timeline);
  const timeline: TimelineCopy[] = [];
  const replaceTimelines: string[] = [];
  let timelineUnchanged = 0;
  let timelineDiffering = 0;
  for (const [id, entries] of mine) {
    const there = theirs.get(id);
    if (there && isDeepStrictEqual(entries, there)) {
      timelineUnchanged += entries.length;
      continue;
    }
    if (there) {
      timelineDiffering++;
      replaceTimelines.push(id);
    }
    timeline.push(...entries);
  }
  let timelineForeign = 0;
  for (const [id, entries] of theirs) if (!mine.has(id)) timelineForeign += entries.length;
  if (timelineDiffering + timelineForeign > 0)
    clashes.push(`timeline: ${timelineDiffering} alarm${timelineDiffering === 1 ? '' : 's'} different, ${timelineForeign} entries not from ${from}`);
  foreign += timelineForeign;

  // Seen event ids.
  const theirSeen = new Map(target.seen.map((s) => [seenKey(s), s]));
  const mySeen = new Set(source.seen.map(seenKey));
  const seen = source.seen.filter((s) => theirSeen.get(seenKey(s))?.at !== s.at);
  note('seen_events', seen.filter((s) => theirSeen.has(seenKey(s))).length, target.seen.filter((s) => !mySeen.has(seenKey(s))).length);

  const open = source.alarms.filter((a) => a.open);
  return {
    tables: {
      alarms: count(alarms.length, source.alarms.length - alarms.length),
      timeline: count(timeline.length, timelineUnchanged),
      seen_events: count(seen.length, source.seen.length - seen.length),
    },
    open: open.length,
    deadlines: open.filter((a) => a.nextDeadline !== null).length,
    foreign,
    clashes,
    alarms,
    replaceTimelines,
    timeline,
    seen,
  };
}

/** Rows per statement (each column is one array parameter). */
const CHUNK = 2000;

function* chunks<T>(rows: readonly T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += CHUNK) yield rows.slice(i, i + CHUNK);
}

/** Writes the plan (inside the migration's transaction). */
export async function writeJournalCopy(c: pg.ClientBase, plan: JournalPlan): Promise<void> {
  for (const rows of chunks(plan.alarms)) {
    await c.query(
      `INSERT INTO alarms (id, team, household, kind, state, open, raised_at, updated_at, closed_at, false_alarm, view, record, next_deadline)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::int8[], $8::int8[], $9::int8[],
                            $10::bool[], $11::jsonb[], $12::jsonb[], $13::int8[])
       ON CONFLICT (id) DO UPDATE SET team = excluded.team, household = excluded.household, kind = excluded.kind, state = excluded.state,
         open = excluded.open, raised_at = excluded.raised_at, updated_at = excluded.updated_at, closed_at = excluded.closed_at,
         false_alarm = excluded.false_alarm, view = excluded.view, record = excluded.record, next_deadline = excluded.next_deadline`,
      [
        rows.map((a) => a.id),
        rows.map((a) => a.team),
        rows.map((a) => a.household),
        rows.map((a) => a.kind),
        rows.map((a) => a.state),
        rows.map((a) => a.open),
        rows.map((a) => a.raisedAt),
        rows.map((a) => a.updatedAt),
        rows.map((a) => a.closedAt),
        rows.map((a) => a.falseAlarm),
        rows.map((a) => JSON.stringify(a.view)),
        rows.map((a) => JSON.stringify(a.record)),
        rows.map((a) => a.nextDeadline),
      ],
    );
  }
  if (plan.replaceTimelines.length > 0) await c.query('DELETE FROM alarm_timeline WHERE alarm_id = ANY($1::text[])', [plan.replaceTimelines]);
  // Entries get the sequence's numbers in the order they are given: each alarm's stay in order.
  for (const rows of chunks(plan.timeline)) {
    await c.query(
      `INSERT INTO alarm_timeline (alarm_id, at, transition, state, detail, "by", via)
       SELECT alarm_id, at, transition, state, detail, b, via
       FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[])
         WITH ORDINALITY AS e(alarm_id, at, transition, state, detail, b, via, n)
       ORDER BY n`,
      [
        rows.map((e) => e.alarmId),
        rows.map((e) => e.at),
        rows.map((e) => e.transition),
        rows.map((e) => e.state),
        rows.map((e) => JSON.stringify(e.detail)),
        rows.map((e) => JSON.stringify(e.by)),
        rows.map((e) => e.via),
      ],
    );
  }
  for (const rows of chunks(plan.seen)) {
    await c.query(
      `INSERT INTO seen_events (device, event_id, at) SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])
       ON CONFLICT (device, event_id) DO UPDATE SET at = excluded.at`,
      [rows.map((s) => s.device), rows.map((s) => s.eventId), rows.map((s) => s.at)],
    );
  }
}
