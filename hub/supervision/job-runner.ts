/**
 * Scheduled jobs (node-cron 4.6) with a durable run history.
 *
 * - A job never overlaps itself: node-cron's `noOverlap` plus our own guard for catch-up and
 *   manual runs; a run refused because the previous one is still going is recorded as `skipped`.
 * - Each run's start, duration, outcome and error go to the `job_runs` table and to metrics.
 * - A job whose scheduled time passed while the hub was off (its last completed run started
 *   before the previous scheduled time) runs once, `catchUpDelayMs` after start.
 * - A bad cron expression or timezone is a ConfigError at `add()`, before anything starts.
 *
 * The runner ties together the timing mechanism (job-timers.ts: node-cron tasks, clock timers),
 * the policy (job-policy.ts: catch-up, overlap, outcome) and the history (job-history.ts).
 */
import type { Db } from '../store/database.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter, Histogram, Gauge } from '../observability/metrics.ts';
import { ConfigError, NotFoundError } from '../protocol/errors.ts';
import { CronSchedule } from './cron-schedule.ts';
import { JobHistory, type JobRunRecord, type RunOutcome, type RunReason } from './job-history.ts';
import { DEFAULT_LOOKBACK_MS, failedOutcome, mayStart, missedRun, SKIPPED_ERROR, summaryJson } from './job-policy.ts';
import { JobTimers } from './job-timers.ts';

export { migrateJobTables, type JobRunRecord, type RunOutcome, type RunReason } from './job-history.ts';

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

interface Job {
  def: JobDefinition;
  schedule: CronSchedule;
  running: Promise<JobRunRecord> | null;
  abort: AbortController | null;
}

export class JobRunner {
  private readonly jobs = new Map<string, Job>();
  private readonly history: JobHistory;
  private readonly timers: JobTimers;
  private started = false;
  private paused = false;
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
    this.lookbackMs = o.lookbackMs ?? DEFAULT_LOOKBACK_MS;
    this.history = new JobHistory(o.db, o.keepRuns ?? 200);
    this.log = o.logger.child({ module: 'jobs' });
    this.timers = new JobTimers(o.clock, o.timezone, this.log);
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
    this.jobs.set(def.name, { def, schedule: sched, running: null, abort: null });
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * Schedules every job and the catch-up runs. After `pause()`, schedules them again and catches up
   * as at start (this node took the `jobs` lease back: docs/cluster.md).
   */
  start(): void {
    if (this.started && !this.paused) return;
    if (!this.started) {
      const interrupted = this.history.markInterrupted();
      if (interrupted > 0) this.log.warn({ runs: interrupted }, 'job runs interrupted by the last shutdown');
    }
    this.started = true;
    this.paused = false;
    if (this.stopping) return;
    const now = this.o.clock.now();

    for (const job of this.jobs.values()) {
      const name = job.def.name;
      if (!job.running) this.runningGauge.set(0, { job: name });
      const ok = this.history.lastSuccess(name);
      if (ok !== null) this.lastSuccess.set(Math.floor(ok / 1000), { job: name });
      const firstSeen = this.history.schedule(name, job.def.cron, this.o.timezone, now);
      this.timers.cron(name, job.def.cron, {
        fire: (at) => this.onCron(job, at),
        overlap: (at) => void this.recordSkipped(job, 'scheduled', at),
      });

      if (job.def.catchUp === false) continue;
      const last = this.history.lastCompletedStart(name);
      const prev = missedRun({ catchUp: job.def.catchUp, previous: job.schedule.previous(now, this.lookbackMs), firstSeen, lastCompletedStart: last });
      if (prev !== null) {
        this.log.info(
          { job: name, missed: new Date(prev).toISOString(), lastRun: last === null ? null : new Date(last).toISOString(), inMs: this.o.catchUpDelayMs },
          'job missed while the hub was off; running it once',
        );
        this.timers.after(this.o.catchUpDelayMs, () => {
          if (this.stopping || this.paused) return;
          void this.run(job, 'catch-up', prev);
        });
      }
    }
  }

  /**
   * Stops scheduling (cron tasks and pending catch-up runs) until `start()` again: this node lost
   * the `jobs` lease. A run under way is left to finish.
   */
  async pause(): Promise<void> {
    if (!this.started || this.paused) return;
    this.paused = true;
    this.timers.cancelTimers();
    await this.timers.unscheduleAll();
  }

  /** Whether the jobs are scheduled now (started and not paused or stopped). */
  get scheduling(): boolean {
    return this.started && !this.paused && !this.stopping;
  }

  private async onCron(job: Job, at: number): Promise<void> {
    if (this.stopping || this.paused) return;
    await this.run(job, 'scheduled', at);
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
    const id = this.history.skipped(job.def.name, reason, scheduledFor, now, SKIPPED_ERROR);
    this.runsTotal.inc({ job: job.def.name, outcome: 'skipped' });
    this.log.warn({ job: job.def.name, reason }, 'job run skipped: the previous run is still going');
    return {
      id,
      job: job.def.name,
      reason,
      scheduledFor,
      startedAt: now,
      finishedAt: now,
      durationMs: 0,
      outcome: 'skipped',
      error: SKIPPED_ERROR,
      summary: null,
    };
  }

  private run(job: Job, reason: RunReason, scheduledFor: number | null): Promise<JobRunRecord> {
    if (!mayStart(job.running !== null)) return Promise.resolve(this.recordSkipped(job, reason, scheduledFor));
    const p = this.execute(job, reason, scheduledFor).finally(() => {
      job.running = null;
      job.abort = null;
    });
    job.running = p;
    return p;
  }

  private async execute(job: Job, reason: RunReason, scheduledFor: number | null): Promise<JobRunRecord> {
    const name = job.def.name;
    const startedAt = this.o.clock.now();
    const t0 = performance.now();
    const runId = this.history.begin(name, reason, scheduledFor, startedAt);
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
      ({ outcome, error } = failedOutcome(err, abort.signal.aborted));
    }
    const finishedAt = this.o.clock.now();
    const durationMs = Math.round(performance.now() - t0);
    this.history.finish(runId, finishedAt, durationMs, outcome, error, summaryJson(summary));
    this.history.prune(name);
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

  runs(job: string, limit = 20): JobRunRecord[] {
    return this.history.runs(job, limit);
  }

  list(recent = 10): JobInfo[] {
    const now = this.o.clock.now();
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
        lastSuccessAt: this.history.lastSuccess(j.def.name),
        recentRuns: runs,
      };
    });
  }

  /** Stops scheduling, aborts running jobs and waits for them (bounded, in real time). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timers.cancelTimers();
    const running: Promise<unknown>[] = [];
    for (const job of this.jobs.values()) {
      await this.timers.unschedule(job.def.name);
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
