/**
 * Scheduled jobs (node-cron 4.6) with a durable run history.
 *
 * - A job never overlaps itself: node-cron's `noOverlap` plus our own guard for catch-up and
 *   manual runs; a run refused because the previous one is still going is recorded as `skipped`.
 * - Each run's start, duration, outcome and error go to the `job_runs` table and to metrics.
 * - A job whose scheduled time passed while the hub was off (its last completed run started
 *   before the previous scheduled time) runs once, `catchUpDelayMs` after start.
 * - A bad cron expression or timezone is a ConfigError at `add()`, before anything starts.
 */
import { schedule, type ScheduledTask } from 'node-cron';
import type { Db } from '../store/database.ts';
import { migrate } from '../store/database.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter, Histogram, Gauge } from '../observability/metrics.ts';
import { ConfigError, NotFoundError } from '../protocol/errors.ts';
import { CronSchedule } from './cron-schedule.ts';
import { AbortedError } from './cooperative.ts';

export type RunReason = 'scheduled' | 'catch-up' | 'manual';
export type RunOutcome = 'running' | 'ok' | 'failed' | 'skipped' | 'aborted' | 'interrupted';

export interface JobRunContext {
  signal: AbortSignal;
  reason: RunReason;
  /** The scheduled instant this run is for (null for manual runs). */
  scheduledFor: number | null;
  runId: number;
}

export interface JobDefinition {
  name: string;
  cron: string;
  /** Run once at start when a scheduled time passed while the hub was off (default true). */
  catchUp?: boolean;
  /** Returns a JSON-able summary kept with the run. */
  run(ctx: JobRunContext): Promise<unknown>;
}

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

export interface JobInfo {
  name: string;
  cron: string;
  timezone: string;
  running: boolean;
  nextRunAt: number | null;
  previousScheduledAt: number | null;
  lastRun: JobRunRecord | null;
  lastSuccessAt: number | null;
  recentRuns: JobRunRecord[];
}

export interface JobRunnerOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  timezone: string;
  /** Delay before missed jobs run at start (devices reconnect first). */
  catchUpDelayMs: number;
  /** How far back to look for a missed scheduled time (default 35 days: monthly jobs). */
  lookbackMs?: number;
  /** Runs kept per job (older ones are pruned). */
  keepRuns?: number;
  /** How long `stop()` waits for running jobs after aborting them. */
  stopTimeoutMs?: number;
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

interface Job {
  def: JobDefinition;
  schedule: CronSchedule;
  task: ScheduledTask | null;
  running: Promise<JobRunRecord> | null;
  abort: AbortController | null;
}

export function migrateJobTables(db: Db): void {
  migrate(db, 'jobs', MIGRATIONS);
}

export class JobRunner {
  private readonly jobs = new Map<string, Job>();
  private readonly timers: TimerHandle[] = [];
  private started = false;
  private stopping = false;
  private readonly runsTotal: Counter;
  private readonly duration: Histogram;
  private readonly lastSuccess: Gauge;
  private readonly lastRunAt: Gauge;
  private readonly runningGauge: Gauge;
  private readonly log: Logger;
  /** How far back a missed (or the previous) scheduled time is looked for. */
  private readonly lookbackMs: number;

  constructor(private readonly o: JobRunnerOptions) {
    this.lookbackMs = o.lookbackMs ?? 35 * 24 * 3600 * 1000;
    migrateJobTables(o.db);
    this.log = o.logger.child({ module: 'jobs' });
    this.runsTotal = o.metrics.counter('smokehub_job_runs_total', 'Scheduled job runs by job and outcome');
    this.duration = o.metrics.histogram('smokehub_job_duration_seconds', 'Duration of scheduled job runs', [0.01, 0.1, 1, 10, 60, 300, 600, 1800, 3600]);
    this.lastSuccess = o.metrics.gauge('smokehub_job_last_success_timestamp_seconds', 'When each job last finished successfully (unix seconds)');
    this.lastRunAt = o.metrics.gauge('smokehub_job_last_run_timestamp_seconds', 'When each job last started (unix seconds)');
    this.runningGauge = o.metrics.gauge('smokehub_job_running', '1 while a job runs');
  }

  /** Registers a job; throws ConfigError for a bad cron expression or timezone. */
  add(def: JobDefinition): void {
    if (this.jobs.has(def.name)) throw new ConfigError(`job "${def.name}" is defined twice`);
    const sched = new CronSchedule(`schedule of job "${def.name}"`, def.cron, this.o.timezone);
    this.jobs.set(def.name, { def, schedule: sched, task: null, running: null, abort: null });
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  /** Schedules every job and the catch-up runs. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.o.clock.now();
    const db = this.o.db;
    // A run still marked running was cut short by a crash or kill: it did not complete.
    const interrupted = db.prepare("UPDATE job_runs SET outcome = 'interrupted', error = 'the hub stopped during the run' WHERE outcome = 'running'").run();
    if (interrupted.changes > 0) this.log.warn({ runs: interrupted.changes }, 'job runs interrupted by the last shutdown');

    const getSched = db.prepare('SELECT cron, first_scheduled_at FROM job_schedules WHERE job = ?');
    const insertSched = db.prepare('INSERT INTO job_schedules (job, cron, timezone, first_scheduled_at) VALUES (?, ?, ?, ?)');
    const updateSched = db.prepare('UPDATE job_schedules SET cron = ?, timezone = ? WHERE job = ?');
    const lastCompleted = db.prepare("SELECT MAX(started_at) AS t FROM job_runs WHERE job = ? AND outcome IN ('ok', 'failed')");

    const lastOk = db.prepare("SELECT MAX(finished_at) AS t FROM job_runs WHERE job = ? AND outcome = 'ok'");
    for (const job of this.jobs.values()) {
      const name = job.def.name;
      this.runningGauge.set(0, { job: name });
      const ok = (lastOk.get(name) as { t: number | null }).t;
      if (ok !== null) this.lastSuccess.set(Math.floor(ok / 1000), { job: name });
      const row = getSched.get(name) as { cron: string; first_scheduled_at: number } | undefined;
      let firstSeen = now;
      if (!row) insertSched.run(name, job.def.cron, this.o.timezone, now);
      else {
        firstSeen = row.first_scheduled_at;
        updateSched.run(job.def.cron, this.o.timezone, name);
      }
      job.task = schedule(job.def.cron, (ctx) => this.onCron(job, ctx.date), {
        name: `smokehub:${name}`,
        timezone: this.o.timezone,
        noOverlap: true,
        unref: true,
        // The event loop may be busy for a moment under load: still run rather than miss a week.
        missedExecutionTolerance: 60_000,
        logger: this.cronLogger(name),
      });
      job.task.on('execution:overlap', (ctx) => {
        this.recordSkipped(job, 'scheduled', ctx.date?.getTime() ?? null);
      });

      if (job.def.catchUp === false) continue;
      const prev = job.schedule.previous(now, this.lookbackMs);
      const last = (lastCompleted.get(name) as { t: number | null }).t;
      if (prev !== null && prev >= firstSeen && (last === null || last < prev)) {
        this.log.info(
          { job: name, missed: new Date(prev).toISOString(), lastRun: last === null ? null : new Date(last).toISOString(), inMs: this.o.catchUpDelayMs },
          'job missed while the hub was off; running it once',
        );
        this.timers.push(
          this.o.clock.setTimer(this.o.catchUpDelayMs, () => {
            if (this.stopping) return;
            void this.run(job, 'catch-up', prev);
          }),
        );
      }
    }
  }

  private cronLogger(job: string) {
    const log = this.log.child({ job });
    return {
      info: (m: string) => log.info(m),
      warn: (m: string) => log.warn(m),
      error: (m: string | Error, err?: Error) => log.error({ err: err ?? (m instanceof Error ? m : undefined) }, m instanceof Error ? m.message : m),
      debug: (m: string | Error) => log.debug(m instanceof Error ? m.message : m),
    };
  }

  private async onCron(job: Job, date: Date): Promise<void> {
    if (this.stopping) return;
    await this.run(job, 'scheduled', date.getTime());
  }

  /** Runs a job now (e.g. from a test or an operator); resolves with the run record. */
  async runNow(name: string): Promise<JobRunRecord> {
    const job = this.jobs.get(name);
    if (!job) throw new NotFoundError(`no job named ${name}`);
    return this.run(job, 'manual', null);
  }

  /** Waits for a running job, if any. */
  async idle(name: string): Promise<void> {
    await this.jobs.get(name)?.running?.catch(() => undefined);
  }

  private recordSkipped(job: Job, reason: RunReason, scheduledFor: number | null): JobRunRecord {
    const now = this.o.clock.now();
    const err = 'previous run still running';
    const info = this.o.db
      .prepare(
        "INSERT INTO job_runs (job, reason, scheduled_for, started_at, finished_at, duration_ms, outcome, error) VALUES (?, ?, ?, ?, ?, 0, 'skipped', ?)",
      )
      .run(job.def.name, reason, scheduledFor, now, now, err);
    this.runsTotal.inc({ job: job.def.name, outcome: 'skipped' });
    this.log.warn({ job: job.def.name, reason }, 'job run skipped: the previous run is still going');
    return {
      id: Number(info.lastInsertRowid),
      job: job.def.name,
      reason,
      scheduledFor,
      startedAt: now,
      finishedAt: now,
      durationMs: 0,
      outcome: 'skipped',
      error: err,
      summary: null,
    };
  }

  private run(job: Job, reason: RunReason, scheduledFor: number | null): Promise<JobRunRecord> {
    if (job.running) return Promise.resolve(this.recordSkipped(job, reason, scheduledFor));
    const p = this.execute(job, reason, scheduledFor).finally(() => {
      job.running = null;
      job.abort = null;
    });
    job.running = p;
    return p;
  }

  private async execute(job: Job, reason: RunReason, scheduledFor: number | null): Promise<JobRunRecord> {
    const name = job.def.name;
    const db = this.o.db;
    const startedAt = this.o.clock.now();
    const t0 = performance.now();
    const info = db
      .prepare("INSERT INTO job_runs (job, reason, scheduled_for, started_at, outcome) VALUES (?, ?, ?, ?, 'running')")
      .run(name, reason, scheduledFor, startedAt);
    const runId = Number(info.lastInsertRowid);
    const abort = new AbortController();
    job.abort = abort;
    this.runningGauge.set(1, { job: name });
    this.lastRunAt.set(Math.floor(startedAt / 1000), { job: name });
    this.log.info({ job: name, reason, runId }, 'job started');

    let outcome: RunOutcome = 'ok';
    let error: string | null = null;
    let summary: unknown = null;
    try {
      summary = await job.def.run({ signal: abort.signal, reason, scheduledFor, runId });
    } catch (err) {
      outcome = err instanceof AbortedError || abort.signal.aborted ? 'aborted' : 'failed';
      error = err instanceof Error ? err.message : String(err);
    }
    const finishedAt = this.o.clock.now();
    const durationMs = Math.round(performance.now() - t0);
    let summaryJson: string | null = null;
    try {
      summaryJson = summary === undefined || summary === null ? null : JSON.stringify(summary);
    } catch {
      summaryJson = null;
    }
    db.prepare('UPDATE job_runs SET finished_at = ?, duration_ms = ?, outcome = ?, error = ?, summary_json = ? WHERE id = ?').run(
      finishedAt,
      durationMs,
      outcome,
      error,
      summaryJson,
      runId,
    );
    this.prune(name);
    this.runningGauge.set(0, { job: name });
    this.runsTotal.inc({ job: name, outcome });
    this.duration.observe(durationMs / 1000, { job: name });
    if (outcome === 'ok') {
      this.lastSuccess.set(Math.floor(finishedAt / 1000), { job: name });
      this.log.info({ job: name, reason, runId, durationMs, summary }, 'job finished');
    } else if (outcome === 'aborted') {
      this.log.warn({ job: name, runId, durationMs }, 'job aborted: the hub is stopping');
    } else {
      this.log.error({ job: name, reason, runId, durationMs, err: error }, 'job failed');
    }
    return { id: runId, job: name, reason, scheduledFor, startedAt, finishedAt, durationMs, outcome, error, summary };
  }

  private prune(job: string): void {
    const keep = this.o.keepRuns ?? 200;
    this.o.db
      .prepare('DELETE FROM job_runs WHERE job = ? AND id <= (SELECT id FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT 1 OFFSET ?)')
      .run(job, job, keep);
  }

  runs(job: string, limit = 20): JobRunRecord[] {
    const rows = this.o.db.prepare('SELECT * FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT ?').all(job, limit) as RunRow[];
    return rows.map(toRecord);
  }

  list(recent = 10): JobInfo[] {
    const now = this.o.clock.now();
    const lastOk = this.o.db.prepare("SELECT MAX(finished_at) AS t FROM job_runs WHERE job = ? AND outcome = 'ok'");
    return [...this.jobs.values()].map((j) => {
      const runs = this.runs(j.def.name, recent);
      return {
        name: j.def.name,
        cron: j.def.cron,
        timezone: this.o.timezone,
        running: j.running !== null,
        nextRunAt: j.schedule.next(now),
        previousScheduledAt: j.schedule.previous(now, this.lookbackMs),
        lastRun: runs[0] ?? null,
        lastSuccessAt: (lastOk.get(j.def.name) as { t: number | null }).t,
        recentRuns: runs,
      };
    });
  }

  /** Stops scheduling, aborts running jobs and waits for them (bounded). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
    const running: Promise<unknown>[] = [];
    for (const job of this.jobs.values()) {
      if (job.task) {
        await job.task.destroy();
        job.task = null;
      }
      if (job.running) {
        job.abort?.abort();
        running.push(job.running.catch(() => undefined));
      }
    }
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running),
        new Promise((r) => {
          timer = setTimeout(r, this.o.stopTimeoutMs ?? 5000);
        }),
      ]);
      clearTimeout(timer);
    }
  }
}
