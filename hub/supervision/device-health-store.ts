/**
 * SQLite tables for what supervision remembers per device across restarts: its reported
 * supervision state (`supervision_state`), its last battery level (`device_battery`), its
 * self-test rounds and results (`self_test_rounds`, `self_test_results`, and the latest result of
 * each device in `self_test_last`, read once and then kept in memory, so a bulk listing never
 * groups years of weekly rounds) and its open fault (`device_fault`).
 */
import type { Db } from '../store/database.ts';
import { migrate } from '../store/database.ts';
import type { DeviceKind } from '../protocol/schema.ts';
import type { DownReason, PersistedSupervision } from './supervision-tracker.ts';
import type { BatteryReading } from './reminders.ts';
import type { SelfTestResult } from './self-test-round.ts';

const MIGRATIONS = [
  `CREATE TABLE supervision_state (
     device TEXT PRIMARY KEY,
     down INTEGER NOT NULL,
     since INTEGER NOT NULL,
     reason TEXT,
     flapping INTEGER NOT NULL,
     flap_history TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE device_battery (
     device TEXT PRIMARY KEY,
     percent REAL NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE TABLE self_test_rounds (
     id TEXT PRIMARY KEY,
     started_at INTEGER NOT NULL,
     deadline INTEGER NOT NULL,
     finished_at INTEGER,
     expected INTEGER NOT NULL,
     passed INTEGER,
     failed INTEGER
   );
   CREATE TABLE self_test_results (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     round_id TEXT,
     device TEXT NOT NULL,
     household TEXT NOT NULL,
     team TEXT NOT NULL,
     kind TEXT NOT NULL,
     at INTEGER NOT NULL,
     outcome TEXT NOT NULL,
     reason TEXT,
     answered_at INTEGER
   );
   CREATE INDEX self_test_results_device ON self_test_results (device, id);
   CREATE INDEX self_test_results_household ON self_test_results (household, id);
   CREATE INDEX self_test_results_at ON self_test_results (at);`,
  // Step 1: the latest self-test of each device (kept by saveResults), back-filled from the results;
  // and the fault or tamper a device reported that no passing test has cleared since.
  `CREATE TABLE self_test_last (
     device TEXT PRIMARY KEY,
     result_id INTEGER NOT NULL,
     round_id TEXT,
     household TEXT NOT NULL,
     team TEXT NOT NULL,
     kind TEXT NOT NULL,
     at INTEGER NOT NULL,
     outcome TEXT NOT NULL,
     reason TEXT,
     answered_at INTEGER
   );
   INSERT INTO self_test_last (device, result_id, round_id, household, team, kind, at, outcome, reason, answered_at)
     SELECT r.device, r.id, r.round_id, r.household, r.team, r.kind, r.at, r.outcome, r.reason, r.answered_at
     FROM self_test_results r JOIN (SELECT device, MAX(id) AS id FROM self_test_results GROUP BY device) m ON m.id = r.id;
   CREATE TABLE device_fault (
     device TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     at INTEGER NOT NULL
   );`,
];

/** A fault (or tamper) a device reported, open until a passing test clears it. */
export interface DeviceFault {
  type: 'fault' | 'tamper';
  at: number;
}

export interface LastSelfTest {
  device: string;
  household: string;
  team: string;
  kind: DeviceKind;
  round: string | null;
  /** When the test was asked for (round start) or pressed (manual). */
  at: number;
  outcome: 'passed' | 'failed';
  reason: string | null;
  answeredAt: number | null;
}

interface ResultRow {
  round_id: string | null;
  device: string;
  household: string;
  team: string;
  kind: DeviceKind;
  at: number;
  outcome: 'passed' | 'failed';
  reason: string | null;
  answered_at: number | null;
}
const toLast = (r: ResultRow): LastSelfTest => ({
  device: r.device,
  household: r.household,
  team: r.team,
  kind: r.kind,
  round: r.round_id,
  at: r.at,
  outcome: r.outcome,
  reason: r.reason,
  answeredAt: r.answered_at,
});

export class DeviceHealthStore {
  private latest: Map<string, LastSelfTest> | null = null;

  constructor(private readonly db: Db) {
    migrate(db, 'supervision', MIGRATIONS);
  }

  loadSupervision(): Map<string, PersistedSupervision> {
    const rows = this.db.prepare('SELECT * FROM supervision_state').all() as Array<{
      device: string;
      down: number;
      since: number;
      reason: DownReason | null;
      flapping: number;
      flap_history: string;
    }>;
    const out = new Map<string, PersistedSupervision>();
    for (const r of rows) {
      let history: number[] = [];
      try {
        const h = JSON.parse(r.flap_history);
        if (Array.isArray(h)) history = h.filter((x) => typeof x === 'number');
      } catch {
        history = [];
      }
      out.set(r.device, { down: r.down === 1, since: r.since, reason: r.reason, flapping: r.flapping === 1, flapHistory: history });
    }
    return out;
  }

  saveSupervision(items: ReadonlyArray<{ device: string; state: PersistedSupervision }>, now: number): void {
    if (items.length === 0) return;
    const stmt = this.db.prepare(
      `INSERT INTO supervision_state (device, down, since, reason, flapping, flap_history, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(device) DO UPDATE SET down = excluded.down, since = excluded.since, reason = excluded.reason,
         flapping = excluded.flapping, flap_history = excluded.flap_history, updated_at = excluded.updated_at`,
    );
    this.db.transaction(() => {
      for (const { device, state } of items) {
        stmt.run(device, state.down ? 1 : 0, state.since, state.reason, state.flapping ? 1 : 0, JSON.stringify(state.flapHistory), now);
      }
    })();
  }

  loadBatteries(): Map<string, BatteryReading> {
    const rows = this.db.prepare('SELECT device, percent, at FROM device_battery').all() as Array<{ device: string; percent: number; at: number }>;
    return new Map(rows.map((r) => [r.device, { percent: r.percent, at: r.at }]));
  }

  saveBatteries(items: ReadonlyArray<[string, BatteryReading]>): void {
    if (items.length === 0) return;
    const stmt = this.db.prepare(
      'INSERT INTO device_battery (device, percent, at) VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET percent = excluded.percent, at = excluded.at WHERE excluded.at >= device_battery.at',
    );
    this.db.transaction(() => {
      for (const [device, b] of items) stmt.run(device, b.percent, b.at);
    })();
  }

  beginRound(id: string, startedAt: number, deadline: number, expected: number): void {
    this.db.prepare('INSERT INTO self_test_rounds (id, started_at, deadline, expected) VALUES (?, ?, ?, ?)').run(id, startedAt, deadline, expected);
  }

  /** Writes a round's results (in chunks from the caller) and, with `finish`, closes the round. */
  saveResults(roundId: string | null, at: number, results: readonly SelfTestResult[]): void {
    const stmt = this.db.prepare(
      'INSERT INTO self_test_results (round_id, device, household, team, kind, at, outcome, reason, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const last = this.db.prepare(
      `INSERT INTO self_test_last (device, result_id, round_id, household, team, kind, at, outcome, reason, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(device) DO UPDATE SET result_id = excluded.result_id, round_id = excluded.round_id, household = excluded.household,
         team = excluded.team, kind = excluded.kind, at = excluded.at, outcome = excluded.outcome, reason = excluded.reason,
         answered_at = excluded.answered_at
       WHERE excluded.result_id > self_test_last.result_id`,
    );
    this.db.transaction(() => {
      for (const r of results) {
        const id = stmt.run(roundId, r.device, r.household, r.team, r.kind, at, r.outcome, r.reason, r.answeredAt).lastInsertRowid;
        last.run(r.device, id, roundId, r.household, r.team, r.kind, at, r.outcome, r.reason, r.answeredAt);
      }
    })();
    // After the commit: the in-memory copy never holds a result the table does not.
    if (this.latest !== null) {
      for (const r of results) {
        this.latest.set(r.device, {
          device: r.device,
          household: r.household,
          team: r.team,
          kind: r.kind,
          round: roundId,
          at,
          outcome: r.outcome,
          reason: r.reason,
          answeredAt: r.answeredAt,
        });
      }
    }
  }

  finishRound(id: string, finishedAt: number, passed: number, failed: number): void {
    this.db.prepare('UPDATE self_test_rounds SET finished_at = ?, passed = ?, failed = ? WHERE id = ?').run(finishedAt, passed, failed, id);
  }

  /** Rounds left open by a crash are closed without results (the job runs again at start). */
  closeUnfinishedRounds(now: number): number {
    return this.db.prepare('UPDATE self_test_rounds SET finished_at = ? WHERE finished_at IS NULL').run(now).changes;
  }

  rounds(
    limit = 10,
  ): Array<{ id: string; startedAt: number; deadline: number; finishedAt: number | null; expected: number; passed: number | null; failed: number | null }> {
    return (
      this.db.prepare('SELECT * FROM self_test_rounds ORDER BY started_at DESC LIMIT ?').all(limit) as Array<{
        id: string;
        started_at: number;
        deadline: number;
        finished_at: number | null;
        expected: number;
        passed: number | null;
        failed: number | null;
      }>
    ).map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      deadline: r.deadline,
      finishedAt: r.finished_at,
      expected: r.expected,
      passed: r.passed,
      failed: r.failed,
    }));
  }

  /** The latest self-test of each device of a household. */
  lastSelfTestsOfHousehold(household: string): LastSelfTest[] {
    const rows = this.db
      .prepare(
        `SELECT r.* FROM self_test_results r
         JOIN (SELECT device, MAX(id) AS id FROM self_test_results WHERE household = ? GROUP BY device) m ON m.id = r.id
         ORDER BY r.device`,
      )
      .all(household) as ResultRow[];
    return rows.map(toLast);
  }

  /**
   * The latest self-test of each device, kept in memory: read from `self_test_last` in ONE query
   * on first use, then updated by `saveResults` (this store is the only writer). Used by the bulk
   * `GET /api/devices/health`, which must answer for 32,000 devices without per-device queries.
   */
  latestSelfTests(): ReadonlyMap<string, LastSelfTest> {
    if (this.latest === null) {
      const rows = this.db.prepare('SELECT * FROM self_test_last').all() as ResultRow[];
      const m = new Map<string, LastSelfTest>();
      for (const r of rows) m.set(r.device, toLast(r));
      this.latest = m;
    }
    return this.latest;
  }

  loadFaults(): Map<string, DeviceFault> {
    const rows = this.db.prepare('SELECT device, type, at FROM device_fault').all() as Array<{ device: string; type: DeviceFault['type']; at: number }>;
    return new Map(rows.map((r) => [r.device, { type: r.type, at: r.at }]));
  }

  /** Records opened faults (a value) and cleared ones (null). */
  saveFaults(items: ReadonlyArray<[string, DeviceFault | null]>): void {
    if (items.length === 0) return;
    const put = this.db.prepare(
      'INSERT INTO device_fault (device, type, at) VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET type = excluded.type, at = excluded.at',
    );
    const del = this.db.prepare('DELETE FROM device_fault WHERE device = ?');
    this.db.transaction(() => {
      for (const [device, f] of items) {
        if (f) put.run(device, f.type, f.at);
        else del.run(device);
      }
    })();
  }

  lastSelfTest(device: string): LastSelfTest | null {
    const r = this.db.prepare('SELECT * FROM self_test_results WHERE device = ? ORDER BY id DESC LIMIT 1').get(device) as ResultRow | undefined;
    return r ? toLast(r) : null;
  }

  /** Failed self-tests between two instants (daily report). */
  failedSelfTests(from: number, to: number): Array<{ team: string; household: string; device: string; at: number; reason: string | null }> {
    return this.db
      .prepare("SELECT team, household, device, at, reason FROM self_test_results WHERE at >= ? AND at < ? AND outcome = 'failed'")
      .all(from, to) as Array<{ team: string; household: string; device: string; at: number; reason: string | null }>;
  }
}
