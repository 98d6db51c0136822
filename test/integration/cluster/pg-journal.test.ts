/**
 * One contract of journal behaviours, run against the single box's SQLite AlarmJournal and the
 * cluster's PgAlarmJournal on a real PostgreSQL (a fresh database for this file).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../../hub/store/database.ts';
import { AlarmJournal, type JournalEntry, type TimelineEntry } from '../../../hub/store/alarm-journal.ts';
import { AlarmJournalReader, type AlarmQuery, type AlarmRow, type AlarmSummary } from '../../../hub/store/alarm-journal-reader.ts';
import { alarmView, newAlarmRecord, type AlarmRecord, type Directory } from '../../../hub/core/alarm-record.ts';
import type { Actor, Via } from '../../../hub/protocol/schema.ts';
import { PgPool } from '../../../hub/cluster/pg-pool.ts';
import { PgAlarmJournal } from '../../../hub/cluster/pg-journal.ts';
import { startPostgres, postgresAvailable, type PostgresServer } from '../../helpers/postgres-server.ts';
import { freshDatabase } from '../../helpers/pg-database.ts';

/** What the contract needs of a journal (each adapter maps it onto its journal). */
interface Subject {
  /** The entries of one input, in one transaction. */
  writeAll(entries: JournalEntry[]): Promise<void>;
  note(alarmId: string, at: number, transition: string, detail: Record<string, unknown>, by: Actor, via: Via): Promise<boolean>;
  markEventSeen(device: string, eventId: string, at: number): Promise<boolean>;
  isEventSeen(device: string, eventId: string): Promise<boolean>;
  pruneSeenEvents(now: number): Promise<number>;
  get(id: string): Promise<AlarmRow | undefined>;
  record(id: string): Promise<AlarmRecord | undefined>;
  timeline(id: string): Promise<TimelineEntry[]>;
  list(q?: AlarmQuery): Promise<AlarmRow[]>;
  openRecords(): Promise<AlarmRecord[]>;
  summariesRaised(from: number, to: number): Promise<AlarmSummary[]>;
  recentSummaries(limit: number, states?: string[]): Promise<AlarmSummary[]>;
  close(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const directory: Directory = {
  household: (id) => ({ id, team: id.startsWith('t2') ? 't2' : 't1', name: `Nhà ${id}`, address: 'Lê Lợi', lat: null, lon: null }),
  householdsOfTeam: () => [],
};
const hub = (reason: string): Actor => ({ kind: 'hub', reason });
const device = (id: string): Actor => ({ kind: 'device', id });
function rec(id: string, household: string, at: number, patch: Partial<AlarmRecord> = {}): AlarmRecord {
  const team = household.startsWith('t2') ? 't2' : 't1';
  return { ...newAlarmRecord(id, { team, household, device: `${household}-smoke` }, 'smoke', at, at + 20_000), ...patch };
}
function entry(r: AlarmRecord, transition: string, withView = true, by: Actor = hub('timer'), via: Via = 'timer'): JournalEntry {
  return { record: structuredClone(r), view: withView ? alarmView(r, directory) : null, transition, detail: { n: transition }, by, via };
}

function sqliteSubject(): Subject {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-journal-'));
  const db = openDatabase(dir);
  const j = new AlarmJournal(db);
  const reader = new AlarmJournalReader(db);
  return {
    writeAll: async (entries) =>
      j.atomically(() => {
        for (const e of entries) j.write(e);
      }),
    note: async (...a) => j.note(...a),
    markEventSeen: async (...a) => j.markEventSeen(...a),
    isEventSeen: async (...a) => j.isEventSeen(...a),
    pruneSeenEvents: async (now) => j.pruneSeenEvents(now),
    get: async (id) => j.get(id),
    record: async (id) => j.record(id),
    timeline: async (id) => j.timeline(id),
    list: async (q) => j.list(q),
    openRecords: async () => j.openRecords(),
    summariesRaised: async (f, t) => reader.summariesRaised(f, t),
    recentSummaries: async (l, s) => reader.recentSummaries(l, s),
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pgSubject(url: string): Promise<Subject> {
  const pool = new PgPool({ connectionString: url });
  const j = new PgAlarmJournal(pool);
  await j.migrate();
  await j.migrate(); // idempotent
  return {
    writeAll: (entries) =>
      pool.withTransaction(async (tx) => {
        for (const e of entries) await j.write(tx, e);
      }),
    note: (...a) => pool.withTransaction((tx) => j.note(tx, ...a)),
    markEventSeen: (...a) => pool.withTransaction((tx) => j.markEventSeen(tx, ...a)),
    isEventSeen: (...a) => j.isEventSeen(...a),
    pruneSeenEvents: (now) => j.pruneSeenEvents(now),
    get: (id) => j.get(id),
    record: (id) => j.record(id),
    timeline: (id) => j.timeline(id),
    list: (q) => j.list(q),
    openRecords: () => j.openRecords(),
    summariesRaised: (f, t) => j.summariesRaised(f, t),
    recentSummaries: (l, s) => j.recentSummaries(l, s),
    close: () => pool.end(),
  };
}

function contract(name: string, make: () => Promise<Subject>): void {
  describe(`alarm journal contract: ${name}`, () => {
    let s: Subject;
    before(async () => {
      s = await make();
    });
    after(async () => s.close());

    test('one input’s entries: every transition on the timeline, the row with the last state', async () => {
      const r = rec('A1', 't1-a', T0);
      const raised = entry(r, 'raised', false, device('t1-a-smoke'), 'mqtt');
      const active = { ...r, state: 'active' as const, verifyDeadline: null, escalateDeadline: T0 + 120_000, neighboursAlerted: true };
      await s.writeAll([raised, entry(active, 'activated')]);
      const row = await s.get('A1');
      assert.equal(row?.view.state, 'active');
      assert.equal(row?.closedAt, null);
      assert.equal(row?.falseAlarm, false);
      assert.deepEqual(await s.record('A1'), active);
      const tl = await s.timeline('A1');
      assert.deepEqual(
        tl.map((t) => [t.transition, t.state, t.by, t.via, t.detail]),
        [
          ['raised', 'pre-alarm', device('t1-a-smoke'), 'mqtt', { n: 'raised' }],
          ['activated', 'active', hub('timer'), 'timer', { n: 'activated' }],
        ],
      );
      assert.ok(tl[0]!.seq < tl[1]!.seq);
      assert.equal(tl[0]!.at, T0);
    });

    test('unknown alarms: nothing to read', async () => {
      assert.equal(await s.get('nope'), undefined);
      assert.equal(await s.record('nope'), undefined);
      assert.deepEqual(await s.timeline('nope'), []);
    });

    test('note: a timeline entry under the current state; false for an unknown alarm', async () => {
      assert.equal(await s.note('A1', T0 + 5, 'sms-sent', { to: '+84' }, hub('sms'), 'sms'), true);
      assert.equal(await s.note('nope', T0 + 5, 'sms-sent', {}, hub('sms'), 'sms'), false);
      const last = (await s.timeline('A1')).at(-1)!;
      assert.deepEqual([last.transition, last.state, last.detail, last.at, last.via], ['sms-sent', 'active', { to: '+84' }, T0 + 5, 'sms']);
    });

    test('openRecords: open alarms only, oldest first; closing takes one out', async () => {
      const b = rec('B1', 't1-b', T0 + 1000);
      const c = rec('C1', 't2-c', T0 - 1000, { kind: 'heat' });
      await s.writeAll([entry(b, 'raised')]);
      await s.writeAll([entry(c, 'raised')]);
      assert.deepEqual(
        (await s.openRecords()).map((r) => r.id),
        ['C1', 'A1', 'B1'],
      );
      const closed = { ...b, state: 'cancelled' as const, closedAt: T0 + 9000, updatedAt: T0 + 9000, falseAlarm: true, verifyDeadline: null };
      await s.writeAll([entry(closed, 'confirmed-false')]);
      assert.deepEqual(
        (await s.openRecords()).map((r) => r.id),
        ['C1', 'A1'],
      );
      const row = await s.get('B1');
      assert.deepEqual([row?.view.state, row?.closedAt, row?.falseAlarm], ['cancelled', T0 + 9000, true]);
    });

    test('list: newest first, filtered by states, team(s), household, kind, time, limit', async () => {
      const ids = async (q?: AlarmQuery) => (await s.list(q)).map((r) => r.view.alarm);
      assert.deepEqual(await ids(), ['B1', 'A1', 'C1']);
      assert.deepEqual(await ids({ states: ['active', 'cancelled'] }), ['B1', 'A1']);
      assert.deepEqual(await ids({ team: 't2' }), ['C1']);
      assert.deepEqual(await ids({ teams: [] }), []);
      assert.deepEqual(await ids({ teams: ['t1', 't2'] }), ['B1', 'A1', 'C1']);
      assert.deepEqual(await ids({ household: 't1-a' }), ['A1']);
      assert.deepEqual(await ids({ kind: 'heat' }), ['C1']);
      assert.deepEqual(await ids({ from: T0, to: T0 + 1000 }), ['A1']);
      assert.deepEqual(await ids({ limit: 1 }), ['B1']);
      const b = (await s.list({ household: 't1-b' }))[0]!;
      assert.deepEqual([b.closedAt, b.falseAlarm], [T0 + 9000, true]);
    });

    test('summaries: raised in a window oldest first; recent newest first, by state', async () => {
      const raised = await s.summariesRaised(T0 - 1000, T0 + 1001);
      assert.deepEqual(
        raised.map((x) => [x.id, x.team, x.household, x.kind, x.state, x.raisedAt, x.falseAlarm]),
        [
          ['C1', 't2', 't2-c', 'heat', 'pre-alarm', T0 - 1000, false],
          ['A1', 't1', 't1-a', 'smoke', 'active', T0, false],
          ['B1', 't1', 't1-b', 'smoke', 'cancelled', T0 + 1000, true],
        ],
      );
      assert.deepEqual(
        (await s.recentSummaries(2)).map((x) => x.id),
        ['B1', 'A1'],
      );
      assert.deepEqual(
        (await s.recentSummaries(5, ['pre-alarm'])).map((x) => x.id),
        ['C1'],
      );
    });

    test('seen events: the first mark is fresh, a redelivery is not; pruned after a week', async () => {
      assert.equal(await s.markEventSeen('d1', 'e1', T0), true);
      assert.equal(await s.markEventSeen('d1', 'e1', T0 + 1), false);
      assert.equal(await s.markEventSeen('d2', 'e1', T0), true, 'event ids are per device');
      assert.equal(await s.isEventSeen('d1', 'e1'), true);
      assert.equal(await s.isEventSeen('d1', 'e2'), false);
      assert.equal(await s.pruneSeenEvents(T0 + 7 * 24 * 3600 * 1000), 0);
      assert.equal(await s.pruneSeenEvents(T0 + 7 * 24 * 3600 * 1000 + 1), 2);
      assert.equal(await s.isEventSeen('d1', 'e1'), false);
    });
  });
}

contract('SQLite', async () => sqliteSubject());

describe('PostgreSQL', { skip: !postgresAvailable() && 'PostgreSQL is not installed' }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => server?.stop());
  contract('PostgreSQL', async () => pgSubject(freshDatabase(server)));

  test('next_deadline and open are columns the sweeper can use', async () => {
    const url = freshDatabase(server);
    const pool = new PgPool({ connectionString: url });
    const j = new PgAlarmJournal(pool);
    await j.migrate();
    const r = rec('D1', 't1-a', T0, { escalateDeadline: T0 + 5_000 });
    await pool.withTransaction((tx) => j.write(tx, entry(r, 'raised')));
    const due = await pool.withTransaction((tx) => j.lockDue(tx, T0 + 5_000, 10));
    assert.deepEqual(due, [{ id: 'D1', team: 't1', nextDeadline: T0 + 5_000 }]);
    assert.deepEqual(await pool.withTransaction((tx) => j.lockDue(tx, T0 + 4_999, 10)), []);
    const closed = { ...r, state: 'resolved' as const, closedAt: T0 + 1, verifyDeadline: null, escalateDeadline: null };
    await pool.withTransaction((tx) => j.write(tx, entry(closed, 'resolved')));
    assert.equal(
      server.sql(`SELECT open::text || ':' || coalesce(next_deadline::text, 'null') FROM alarms WHERE id = 'D1'`, url.split('/').pop()),
      'false:null',
    );
    assert.deepEqual(await pool.withTransaction((tx) => j.lockDue(tx, T0 + 99_999, 10)), []);
    await pool.end();
  });
});
