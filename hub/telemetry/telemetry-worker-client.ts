/**
 * The main thread's side of the telemetry storage worker (telemetry-worker.ts).
 *
 * Bus listeners add points to a batch (PointBatchBuilder: typed arrays, no object per reading).
 * A batch is sealed every `flushMs` (100) or at `maxBatch` (2,000) points and posted to the
 * worker; one message is in flight at a time and stays in memory until the worker confirms its
 * commit, so a worker that crashes loses nothing it had not confirmed: the client logs the crash,
 * counts it, starts a new worker (backoff 100 ms doubling to 5 s) and re-sends the unconfirmed
 * batch unless the new worker's mark shows it was already committed. Points waiting on the main
 * thread (worker slow, restarting, disk failing) are bounded by `maxQueued`: the oldest telemetry
 * goes first, then other device events, alarm events last.
 *
 * This class wires the two halves together: the mechanism (supervised-worker.ts: the thread, its
 * restarts and backoff, message correlation, timers) and the policy (handover.ts: the queue bound,
 * the message in flight, the outbox mark, the poison rule). Timing goes through `clock`.
 *
 * Metrics the worker reports (writes, failures, drops, outbox depth) are mirrored into the hub's
 * registry by the extension through `TelemetryWorkerEvents`.
 */
import type { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import { ConfigError } from '../protocol/errors.ts';
import { batchCounts, PointBatchBuilder } from './point-batch.ts';
import type { Priority } from './point.ts';
import { ChangeSignal, keepAliveClock, SupervisedWorker, type WorkerDeath } from './supervised-worker.ts';
import { ClockOffsetSync, COMMIT_ERROR_LOG_EVERY_MS, commitRetryMs, Handover, PendingQueue, RateGate, type DropCounts, type InFlight } from './handover.ts';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.ts';

export interface TelemetryWorkerEvents {
  /** A batch was closed on the main thread: readings, events points. */
  sealed?(readings: number, events: number): void;
  /** A batch was committed (outbox or embedded store): points, seconds. */
  committed?(size: number, seconds: number): void;
  /** Points were written to InfluxDB from the outbox: points, seconds. */
  written?(size: number, seconds: number): void;
  writeFailed?(reason: string): void;
  dropped?(count: number, priority: Priority, where: 'outbox' | 'memory'): void;
  commitFailed?(message: string): void;
  /** The worker died unexpectedly (it is restarted). */
  crashed?(why: string): void;
  /** A (re)started worker is ready: store up or not, and why not. */
  ready?(up: boolean, problem: string | null, restart: boolean): void;
}

export interface TelemetryWorkerClientOptions {
  config: Omit<WorkerConfig, 'firstStart' | 'clockOffsetMs' | 'niceness'> & { niceness?: number };
  /** hub clock − Date.now(), read when a batch is sent. */
  clockOffset: () => number;
  logger: Logger;
  events?: TelemetryWorkerEvents;
  flushMs?: number;
  maxBatch?: number;
  /** Most points in one message to the worker (several sealed batches). */
  maxMessagePoints?: number;
  /** Most points held on the main thread while the worker cannot take them. */
  maxQueued?: number;
  restartMinMs?: number;
  restartMaxMs?: number;
  /**
   * Real time for batching, retries, restarts and deadlines (default: Date.now and timers that keep
   * the process alive). Not the hub's clock, which tests may stop: the worker thread runs in real time.
   */
  clock?: Clock;
  /** Test hook: the worker module (default telemetry-worker.ts/.js beside this file). */
  workerUrl?: URL;
}

function defaultWorkerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./telemetry-worker.${ext}`, import.meta.url);
}

/** The worker's last report. */
interface WorkerReport {
  /** Outbox depth. */
  depth: number;
  nearlyFull: boolean;
  maxPoints: number;
}

export class TelemetryWorkerClient {
  private readonly clock: Clock;
  private readonly worker: SupervisedWorker<ToWorker, FromWorker>;
  private readonly builder: PointBatchBuilder;
  private readonly pending: PendingQueue;
  private readonly handover = new Handover(randomBytes(6).toString('hex'));
  private readonly offset: ClockOffsetSync;
  private readonly commitErrorLog = new RateGate(COMMIT_ERROR_LOG_EVERY_MS);
  private readonly changes: ChangeSignal;
  private readonly report: WorkerReport = { depth: 0, nearlyFull: false, maxPoints: 0 };
  private readonly timers: { seal: TimerHandle | null; retry: TimerHandle | null } = { seal: null, retry: null };
  private readonly flushMs: number;
  private readonly maxMessagePoints: number;
  /** Worker crashes since start (tests, metrics). */
  crashes = 0;

  constructor(private readonly opts: TelemetryWorkerClientOptions) {
    this.clock = opts.clock ?? keepAliveClock;
    this.flushMs = opts.flushMs ?? 100;
    this.maxMessagePoints = opts.maxMessagePoints ?? 10_000;
    this.builder = new PointBatchBuilder(opts.maxBatch ?? 2000);
    this.pending = new PendingQueue(opts.maxQueued ?? 200_000);
    this.offset = new ClockOffsetSync(opts.clockOffset);
    this.changes = new ChangeSignal(this.clock);
    this.worker = new SupervisedWorker<ToWorker, FromWorker>({
      name: 'telemetry storage worker',
      threadName: 'smokehub-telemetry',
      url: opts.workerUrl ?? defaultWorkerUrl(),
      workerData: (first): WorkerConfig => ({
        ...opts.config,
        niceness: opts.config.niceness ?? 5,
        firstStart: first,
        clockOffsetMs: this.offset.atStart(),
      }),
      logger: opts.logger,
      clock: this.clock,
      restartMinMs: opts.restartMinMs ?? 100,
      restartMaxMs: opts.restartMaxMs ?? 5000,
      hooks: {
        startup: (m) => (m.t === 'ready' ? 'ready' : m.t === 'config-error' ? new ConfigError(m.message) : null),
        ready: (m, restart) => this.onReady(m as Extract<FromWorker, { t: 'ready' }>, restart),
        message: (m) => this.onMessage(m),
        died: (d) => this.onDied(d),
      },
    });
  }

  /** Points accepted but not yet committed (main thread) plus the outbox (worker). */
  depth(): number {
    return this.unconfirmed() + this.report.depth;
  }
  /** Points accepted on the main thread that the worker has not confirmed yet. */
  unconfirmed(): number {
    return this.builder.size + this.pending.points + this.handover.points;
  }
  get outboxDepth(): number {
    return this.report.depth;
  }
  get nearlyFull(): boolean {
    return this.report.nearlyFull;
  }
  get maxPoints(): number {
    return this.report.maxPoints;
  }
  /** A worker is running and has set up its store. */
  get isReady(): boolean {
    return this.worker.isReady;
  }
  /** The worker thread (tests: crash it). */
  get thread(): Worker | null {
    return this.worker.thread;
  }

  /**
   * Starts the worker and waits until its store is set up. Throws ConfigError for a bad InfluxDB
   * configuration (the hub must not start), or the worker's start-up error.
   */
  async start(): Promise<{ up: boolean; problem: string | null }> {
    const m = (await this.worker.start()) as Extract<FromWorker, { t: 'ready' }>;
    return { up: m.up, problem: m.problem };
  }

  private onReady(m: Extract<FromWorker, { t: 'ready' }>, restart: boolean): void {
    this.report.depth = m.depth;
    this.report.maxPoints = m.maxPoints;
    this.handover.settleByMark(m.mark);
    this.opts.events?.ready?.(m.up, m.problem, restart);
    const f = this.handover.inFlight;
    if (f) this.post(f);
    else this.pump();
    this.changes.notify();
  }

  private onDied(d: WorkerDeath): void {
    this.crashes++;
    const setAside = this.handover.workerDied(d.generation, d.failed);
    this.opts.events?.crashed?.(d.why);
    if (setAside) {
      this.opts.logger.error(
        { points: setAside.points, crashes: setAside.crashes },
        'telemetry storage worker crashed repeatedly on the same batch: setting that batch aside',
      );
      for (const b of setAside.batches) this.countDropped(batchCounts(b), 'memory');
    }
    this.opts.logger.error(
      { why: d.why, restartInMs: d.restartInMs, crashes: this.crashes, unconfirmed: this.unconfirmed() },
      'telemetry storage worker died; starting a new one (confirmed points are safe in SQLite)',
    );
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'committed': {
        if (!this.handover.confirm(m.seq)) return;
        this.worker.resetBackoff();
        this.report.depth = m.depth;
        this.report.nearlyFull = m.nearlyFull;
        this.opts.events?.committed?.(m.size, m.seconds);
        this.pump();
        this.changes.notify();
        return;
      }
      case 'commit-failed': {
        if (this.commitErrorLog.allow(this.clock.now())) {
          this.opts.logger.error({ err: m.message, unconfirmed: this.unconfirmed() }, 'could not commit telemetry points; keeping them in memory and retrying');
        }
        this.opts.events?.commitFailed?.(m.message);
        this.trim();
        if (!this.timers.retry) {
          this.timers.retry = this.clock.setTimer(commitRetryMs(this.flushMs), () => {
            this.timers.retry = null;
            const f = this.handover.inFlight;
            if (f && this.worker.isReady) this.post(f);
          });
        }
        return;
      }
      case 'written':
        this.report.depth = m.depth;
        this.report.nearlyFull = m.nearlyFull;
        this.opts.events?.written?.(m.size, m.seconds);
        this.changes.notify();
        return;
      case 'write-failed':
        this.report.depth = m.depth;
        this.opts.events?.writeFailed?.(m.reason);
        return;
      case 'dropped':
        this.report.depth = m.depth;
        this.opts.events?.dropped?.(m.count, m.priority, 'outbox');
        return;
      case 'flushed':
        this.report.depth = m.depth;
        return;
      case 'log': {
        const fn = this.opts.logger[m.level].bind(this.opts.logger) as (o: object, msg: string) => void;
        fn(m.obj, m.msg);
        return;
      }
      default:
        return;
    }
  }

  /** Adds a reading; false when it had no field to store. Quick: no I/O, no allocation per reading. */
  addReading(...args: Parameters<PointBatchBuilder['addReading']>): boolean {
    if (this.worker.stopped) return false;
    const added = this.builder.addReading(...args);
    if (added) this.afterAdd();
    return added;
  }

  addEvent(point: Parameters<PointBatchBuilder['addEvent']>[0]): void {
    if (this.worker.stopped) return;
    this.builder.addEvent(point);
    this.afterAdd();
  }

  private afterAdd(): void {
    if (this.builder.full) this.seal();
    else if (!this.timers.seal) {
      this.timers.seal = this.clock.setTimer(this.flushMs, () => {
        this.timers.seal = null;
        this.seal();
      });
    }
  }

  /** Closes the batch being filled and sends what the worker can take. */
  seal(): void {
    if (this.timers.seal) {
      this.timers.seal.cancel();
      this.timers.seal = null;
    }
    if (this.builder.size > 0) {
      const b = this.builder.take();
      this.opts.events?.sealed?.(b.count, b.events.length);
      this.pending.push(b);
      this.trim();
    }
    this.pump();
  }

  private pump(): void {
    if (!this.worker.isReady || this.handover.inFlight) return;
    const next = this.pending.take(this.maxMessagePoints);
    if (next) this.post(this.handover.open(next.batches, next.points));
  }

  private post(f: InFlight): void {
    if (!this.worker.isReady) return;
    const offset = this.offset.changed();
    if (offset !== null) this.worker.send({ t: 'clock', offsetMs: offset });
    const mark = this.handover.posted(f, this.worker.generation);
    this.worker.send({ t: 'batch', mark, batches: f.batches });
  }

  /** Keeps what waits on the main thread within `maxQueued` (the drops are counted). */
  private trim(): void {
    for (const c of this.pending.trim()) this.countDropped(c, 'memory');
  }

  private countDropped(c: DropCounts, where: 'outbox' | 'memory'): void {
    c.forEach((n, p) => {
      if (n > 0) this.opts.events?.dropped?.(n, p as Priority, where);
    });
  }

  /** Seals and waits until the worker confirmed every point accepted so far (or the deadline). */
  async commitAll(deadlineMs: number): Promise<boolean> {
    const end = this.clock.now() + deadlineMs;
    this.seal();
    while (this.unconfirmed() > 0 && this.clock.now() < end) {
      await this.changes.wait(Math.min(50, Math.max(1, end - this.clock.now())));
      this.pump();
    }
    return this.unconfirmed() === 0;
  }

  /** Waits until the outbox reports empty (InfluxDB mode) or the deadline. */
  private async flushOutbox(deadlineMs: number): Promise<boolean> {
    const r = await this.worker.request({ t: 'flush', deadlineMs }, (m): m is Extract<FromWorker, { t: 'flushed' }> => m.t === 'flushed', deadlineMs + 1000);
    return r?.empty ?? false;
  }

  /**
   * Commits what the main thread holds, drains the outbox until `deadlineMs` (InfluxDB), then
   * stops the worker (an in-flight InfluxDB write gets `graceMs`). What is left in the outbox is
   * written after the next start. Resolves { unconfirmed, outboxEmpty }.
   */
  async stop(deadlineMs: number, graceMs = 500): Promise<{ unconfirmed: number; outboxEmpty: boolean }> {
    if (this.worker.stopped) return { unconfirmed: 0, outboxEmpty: this.report.depth === 0 };
    const end = this.clock.now() + deadlineMs;
    await this.commitAll(deadlineMs);
    this.worker.beginStop();
    this.timers.retry?.cancel();
    this.timers.seal?.cancel();
    this.timers.retry = this.timers.seal = null;
    const outboxEmpty = this.report.depth === 0 ? true : await this.flushOutbox(Math.max(0, end - this.clock.now()));
    const unconfirmed = this.unconfirmed();
    await this.worker.shutdown({ t: 'stop', graceMs }, (m) => m.t === 'stopped', graceMs);
    return { unconfirmed, outboxEmpty };
  }
}
