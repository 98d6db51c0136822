/**
 * The durable run history of scheduled jobs (SQLite): `job_runs` (each run's start, duration,
 * outcome, error and summary; pruned to the newest `keepRuns` per job) and `job_schedules` (when
 * a job was first scheduled, so a time before the hub knew the job is never "missed").
 */
import type { Db } from '../store/database.ts';
import { migrate } from '../store/database.ts';

export type RunReason = 'scheduled' | 'catch-up' | 'manual';
export type RunOutcome = 'running' | 'ok' | 'failed' | 'skipped' | 'aborted' | 'interrupted';

export interface JobRunRecord {
  id: number;
  job: string;
  reason: RunReason;
  scheduledFor: number | null;
  startedAt: number;
  finishedAt: number | null;
  durationMs: number | null;
  outcome: RunOutcome;
  error: string | null;
  summary: unknown;
}

const MIGRATIONS = [
  `CREATE TABLE job_runs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     job TEXT NOT NULL,
     reason TEXT NOT NULL,
     scheduled_for INTEGER,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     duration_ms INTEGER,
     outcome TEXT NOT NULL,
     error TEXT,
     summary_json TEXT
   );
   CREATE INDEX job_runs_job_started ON job_runs (job, started_at);
   CREATE TABLE job_schedules (
     job TEXT PRIMARY KEY,
     cron TEXT NOT NULL,
     timezone TEXT NOT NULL,
     first_scheduled_at INTEGER NOT NULL
   );`,
];

interface RunRow {
  id: number;
  job: string;
  reason: RunReason;
  scheduled_for: number | null;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  outcome: RunOutcome;
  error: string | null;
  summary_json: string | null;
}

function toRecord(r: RunRow): JobRunRecord {
  let summary: unknown = null;
  if (r.summary_json) {
    try {
      summary = JSON.parse(r.summary_json);
    } catch {
      summary = null;
    }
  }
  return {
    id: r.id,
    job: r.job,
    reason: r.reason,
    scheduledFor: r.scheduled_for,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    error: r.error,
    summary,
  };
}

export function migrateJobTables(db: Db): void {
  migrate(db, 'jobs', MIGRATIONS);
}

export class JobHistory {
  constructor(
    private readonly db: Db,
    private readonly keepRuns = 200,
  ) {
    migrateJobTables(db);
  }

  /** Runs still marked running were cut short by a crash or kill: they did not complete. Returns how many. */
  markInterrupted(): number {
    return this.db.prepare("UPDATE job_runs SET outcome = 'interrupted', error = 'the hub stopped during the run' WHERE outcome = 'running'").run().changes;
  }

  /** Records the job's schedule; returns when it was first scheduled (`now` for a new job). */
  schedule(job: string, cron: string, timezone: string, now: number): number {
    const row = this.db.prepare('SELECT cron, first_scheduled_at FROM job_schedules WHERE job = ?').get(job) as
      | { cron: string; first_scheduled_at: number }
      | undefined;
    if (!row) {
      this.db.prepare('INSERT INTO job_schedules (job, cron, timezone, first_scheduled_at) VALUES (?, ?, ?, ?)').run(job, cron, timezone, now);
      return now;
    }
    this.db.prepare('UPDATE job_schedules SET cron = ?, timezone = ? WHERE job = ?').run(cron, timezone, job);
    return row.first_scheduled_at;
  }

  /** When the last run that completed (ok or failed) started. */
  lastCompletedStart(job: string): number | null {
    return (this.db.prepare("SELECT MAX(started_at) AS t FROM job_runs WHERE job = ? AND outcome IN ('ok', 'failed')").get(job) as { t: number | null }).t;
  }

  /** When the last successful run finished. */
  lastSuccess(job: string): number | null {
    return (this.db.prepare("SELECT MAX(finished_at) AS t FROM job_runs WHERE job = ? AND outcome = 'ok'").get(job) as { t: number | null }).t;
  }

  /** A run starts (outcome `running` until `finish`); returns its id. */
  begin(job: string, reason: RunReason, scheduledFor: number | null, startedAt: number): number {
    const info = this.db
      .prepare("INSERT INTO job_runs (job, reason, scheduled_for, started_at, outcome) VALUES (?, ?, ?, ?, 'running')")
      .run(job, reason, scheduledFor, startedAt);
    return Number(info.lastInsertRowid);
  }

  finish(runId: number, finishedAt: number, durationMs: number, outcome: RunOutcome, error: string | null, summaryJson: string | null): void {
    this.db
      .prepare('UPDATE job_runs SET finished_at = ?, duration_ms = ?, outcome = ?, error = ?, summary_json = ? WHERE id = ?')
      .run(finishedAt, durationMs, outcome, error, summaryJson, runId);
  }

  /** A run that was refused (`skipped`, duration 0); returns its id. */
  skipped(job: string, reason: RunReason, scheduledFor: number | null, now: number, error: string): number {
    const info = this.db
      .prepare(
        "INSERT INTO job_runs (job, reason, scheduled_for, started_at, finished_at, duration_ms, outcome, error) VALUES (?, ?, ?, ?, ?, 0, 'skipped', ?)",
      )
      .run(job, reason, scheduledFor, now, now, error);
    return Number(info.lastInsertRowid);
  }

  /** Keeps the newest `keepRuns` runs of the job. */
  prune(job: string): void {
    this.db
      .prepare('DELETE FROM job_runs WHERE job = ? AND id <= (SELECT id FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT 1 OFFSET ?)')
      .run(job, job, this.keepRuns);
  }

  /** The job's newest runs, newest first. */
  runs(job: string, limit = 20): JobRunRecord[] {
    const rows = this.db.prepare('SELECT * FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT ?').all(job, limit) as RunRow[];
    return rows.map(toRecord);
  }
}
