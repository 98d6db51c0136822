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
 * Metrics the worker reports (writes, failures, drops, outbox depth) are mirrored into the hub's
 * registry by the extension through `TelemetryWorkerEvents`.
 */
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import { ConfigError } from '../protocol/errors.ts';
import { batchCounts, batchSize, dropEvents, PointBatchBuilder, withoutReadings, type PointBatch } from './point-batch.ts';
import type { Priority } from './point.ts';
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
  /** Test hook: the worker module (default telemetry-worker.ts/.js beside this file). */
  workerUrl?: URL;
}

interface InFlight {
  seq: number;
  batches: PointBatch[];
  points: number;
  /**
   * Failures (an uncaught error, out of memory) of a worker this message had been posted to, while it
   * was unconfirmed. A worker ended from outside (terminate(), no error) is not counted: that is not
   * the message's doing.
   */
  crashes: number;
  /** The worker it was last posted to. */
  postedTo: Worker | null;
}

/** Worker failures in a row with the same unconfirmed message before it is set aside (it may be what kills the worker). */
const POISON_CRASHES = 3;

function defaultWorkerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./telemetry-worker.${ext}`, import.meta.url);
}

/**
 * Run from TypeScript sources (tests, benchmarks, `tsx`), the worker needs the same loader as the
 * main thread, and on Node 20 `--import tsx` is not applied to a worker's entry module: a tiny
 * bootstrap registers tsx first. The compiled hub (dist/, .js) starts the worker file directly.
 */
function workerEntry(url: URL): { entry: string | URL; eval: boolean } {
  if (!url.pathname.endsWith('.ts')) return { entry: url, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  return { entry: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, eval: true };
}

export class TelemetryWorkerClient {
  private worker: Worker | null = null;
  private ready = false;
  private readonly run = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly builder: PointBatchBuilder;
  private pending: PointBatch[] = [];
  private pendingPoints = 0;
  private inFlight: InFlight | null = null;
  private sealTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private restarts = 0;
  private stopping = false;
  private stopped = false;
  private lastClockOffset = 0;
  private commitErrorLoggedAt = 0;
  private waiters: Array<() => void> = [];
  private flushedWaiter: ((m: Extract<FromWorker, { t: 'flushed' }>) => void) | null = null;
  private stoppedWaiter: (() => void) | null = null;
  /** Outbox depth as last reported by the worker. */
  private workerDepth = 0;
  private workerNearlyFull = false;
  private maxPointsReported = 0;
  private readonly flushMs: number;
  private readonly maxQueued: number;
  private readonly maxMessagePoints: number;
  /** Worker crashes since start (tests, metrics). */
  crashes = 0;

  constructor(private readonly opts: TelemetryWorkerClientOptions) {
    this.flushMs = opts.flushMs ?? 100;
    this.maxQueued = opts.maxQueued ?? 200_000;
    this.maxMessagePoints = opts.maxMessagePoints ?? 10_000;
    this.builder = new PointBatchBuilder(opts.maxBatch ?? 2000);
  }

  /** Points accepted but not yet committed (main thread) plus the outbox (worker). */
  depth(): number {
    return this.builder.size + this.pendingPoints + (this.inFlight?.points ?? 0) + this.workerDepth;
  }
  /** Points accepted on the main thread that the worker has not confirmed yet. */
  unconfirmed(): number {
    return this.builder.size + this.pendingPoints + (this.inFlight?.points ?? 0);
  }
  get outboxDepth(): number {
    return this.workerDepth;
  }
  get nearlyFull(): boolean {
    return this.workerNearlyFull;
  }
  get maxPoints(): number {
    return this.maxPointsReported;
  }
  /** A worker is running and has set up its store. */
  get isReady(): boolean {
    return this.ready && this.worker !== null;
  }
  /** The worker thread (tests: crash it). */
  get thread(): Worker | null {
    return this.worker;
  }

  /**
   * Starts the worker and waits until its store is set up. Throws ConfigError for a bad InfluxDB
   * configuration (the hub must not start), or the worker's start-up error.
   */
  async start(): Promise<{ up: boolean; problem: string | null }> {
    return this.spawn(true);
  }

  private spawn(first: boolean): Promise<{ up: boolean; problem: string | null }> {
    const config: WorkerConfig = {
      ...this.opts.config,
      niceness: this.opts.config.niceness ?? 5,
      firstStart: first,
      clockOffsetMs: this.opts.clockOffset(),
    };
    this.lastClockOffset = config.clockOffsetMs;
    const { entry, eval: isEval } = workerEntry(this.opts.workerUrl ?? defaultWorkerUrl());
    const worker = new Worker(entry, { eval: isEval, workerData: config, name: 'smokehub-telemetry' });
    this.worker = worker;
    this.ready = false;
    return new Promise((resolve, reject) => {
      let settled = false;
      let abandoned = false;
      let lastError: Error | null = null;
      worker.on('message', (m: FromWorker) => {
        // A worker that was replaced (killed, restarted) may still deliver what it posted before it died:
        // its confirmations are not the new worker's (the same batch is re-sent with the same seq).
        if (this.worker !== worker) return;
        if (m.t === 'ready' && !settled) {
          settled = true;
          this.onReady(m, !first);
          resolve({ up: m.up, problem: m.problem });
          return;
        }
        if (m.t === 'config-error' && !settled) {
          settled = true;
          abandoned = true;
          this.worker = null;
          this.stopped = true;
          void worker.terminate();
          reject(new ConfigError(m.message));
          return;
        }
        this.onMessage(m);
      });
      worker.on('error', (err) => {
        lastError = err;
        this.opts.logger.error({ err: err.message, stack: err.stack }, 'telemetry storage worker failed');
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) {
          this.worker = null;
          this.ready = false;
        }
        this.stoppedWaiter?.();
        if (abandoned) return;
        if (!settled) {
          settled = true;
          if (first) {
            reject(lastError ?? new Error(`telemetry storage worker exited (code ${code}) before it was ready`));
            return;
          }
        }
        if (this.stopping || this.stopped) return;
        this.onCrash(worker, lastError ? lastError.message : `exit code ${code}`, lastError !== null);
      });
    });
  }

  private onReady(m: Extract<FromWorker, { t: 'ready' }>, restart: boolean): void {
    this.ready = true;
    this.workerDepth = m.depth;
    this.maxPointsReported = m.maxPoints;
    if (this.inFlight && m.mark && m.mark.run === this.run && m.mark.seq >= this.inFlight.seq) {
      // Committed before the crash, never confirmed: not sent again.
      this.inFlight = null;
    }
    this.opts.events?.ready?.(m.up, m.problem, restart);
    if (this.inFlight) this.post(this.inFlight);
    else this.pump();
    this.notify();
  }

  private onCrash(worker: Worker, why: string, failed: boolean): void {
    this.crashes++;
    if (failed && this.inFlight && this.inFlight.postedTo === worker) this.inFlight.crashes++;
    this.opts.events?.crashed?.(why);
    if (this.inFlight && this.inFlight.crashes >= POISON_CRASHES) {
      const f = this.inFlight;
      this.inFlight = null;
      this.opts.logger.error(
        { points: f.points, crashes: f.crashes },
        'telemetry storage worker crashed repeatedly on the same batch: setting that batch aside',
      );
      for (const b of f.batches) this.countDropped(batchCounts(b), 'memory');
    }
    const delay = Math.min(this.opts.restartMaxMs ?? 5000, (this.opts.restartMinMs ?? 100) * 2 ** Math.min(this.restarts, 10));
    this.restarts++;
    this.opts.logger.error(
      { why, restartInMs: delay, crashes: this.crashes, unconfirmed: this.unconfirmed() },
      'telemetry storage worker died; starting a new one (confirmed points are safe in SQLite)',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping || this.stopped) return;
      this.spawn(false).catch((err: Error) => this.opts.logger.error({ err: err.message }, 'telemetry storage worker restart failed'));
    }, delay);
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'committed': {
        if (this.inFlight?.seq !== m.seq) return;
        this.inFlight = null;
        this.restarts = 0;
        this.workerDepth = m.depth;
        this.workerNearlyFull = m.nearlyFull;
        this.opts.events?.committed?.(m.size, m.seconds);
        this.pump();
        this.notify();
        return;
      }
      case 'commit-failed': {
        const now = Date.now();
        if (now - this.commitErrorLoggedAt > 10_000) {
          this.commitErrorLoggedAt = now;
          this.opts.logger.error({ err: m.message, unconfirmed: this.unconfirmed() }, 'could not commit telemetry points; keeping them in memory and retrying');
        }
        this.opts.events?.commitFailed?.(m.message);
        this.trim();
        if (!this.retryTimer) {
          this.retryTimer = setTimeout(
            () => {
              this.retryTimer = null;
              if (this.inFlight && this.ready) this.post(this.inFlight);
            },
            Math.max(this.flushMs, 1000),
          );
        }
        return;
      }
      case 'written':
        this.workerDepth = m.depth;
        this.workerNearlyFull = m.nearlyFull;
        this.opts.events?.written?.(m.size, m.seconds);
        this.notify();
        return;
      case 'write-failed':
        this.workerDepth = m.depth;
        this.opts.events?.writeFailed?.(m.reason);
        return;
      case 'dropped':
        this.workerDepth = m.depth;
        this.opts.events?.dropped?.(m.count, m.priority, 'outbox');
        return;
      case 'flushed':
        this.workerDepth = m.depth;
        this.flushedWaiter?.(m);
        return;
      case 'stopped':
        this.stoppedWaiter?.();
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
    if (this.stopped) return false;
    const added = this.builder.addReading(...args);
    if (added) this.afterAdd();
    return added;
  }

  addEvent(point: Parameters<PointBatchBuilder['addEvent']>[0]): void {
    if (this.stopped) return;
    this.builder.addEvent(point);
    this.afterAdd();
  }

  private afterAdd(): void {
    if (this.builder.full) this.seal();
    else if (!this.sealTimer) {
      this.sealTimer = setTimeout(() => {
        this.sealTimer = null;
        this.seal();
      }, this.flushMs);
    }
  }

  /** Closes the batch being filled and sends what the worker can take. */
  seal(): void {
    if (this.sealTimer) {
      clearTimeout(this.sealTimer);
      this.sealTimer = null;
    }
    if (this.builder.size > 0) {
      const b = this.builder.take();
      this.opts.events?.sealed?.(b.count, b.events.length);
      this.pending.push(b);
      this.pendingPoints += batchSize(b);
      this.trim();
    }
    this.pump();
  }

  private pump(): void {
    if (!this.ready || this.inFlight || this.pending.length === 0 || !this.worker) return;
    const batches: PointBatch[] = [];
    let points = 0;
    while (this.pending.length > 0 && (batches.length === 0 || points + batchSize(this.pending[0]!) <= this.maxMessagePoints)) {
      const b = this.pending.shift()!;
      batches.push(b);
      points += batchSize(b);
    }
    this.pendingPoints -= points;
    this.inFlight = { seq: ++this.seq, batches, points, crashes: 0, postedTo: null };
    this.post(this.inFlight);
  }

  private post(f: InFlight): void {
    if (!this.worker || !this.ready) return;
    const offset = this.opts.clockOffset();
    if (Math.abs(offset - this.lastClockOffset) > 1000) {
      this.lastClockOffset = offset;
      this.send({ t: 'clock', offsetMs: offset });
    }
    f.postedTo = this.worker;
    this.send({ t: 'batch', mark: { run: this.run, seq: f.seq }, batches: f.batches });
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  /** Keeps what waits on the main thread within `maxQueued`: oldest telemetry first, alarm events last. */
  private trim(): void {
    let excess = this.pendingPoints - this.maxQueued;
    if (excess <= 0) return;
    for (let i = 0; i < this.pending.length && excess > 0; i++) {
      const b = this.pending[i]!;
      if (b.count === 0) continue;
      this.pending[i] = withoutReadings(b);
      this.pendingPoints -= b.count;
      excess -= b.count;
      this.countDropped([b.count, 0, 0], 'memory');
    }
    for (const priority of [1, 2] as Priority[]) {
      for (let i = 0; i < this.pending.length && excess > 0; i++) {
        const n = dropEvents(this.pending[i]!, priority, excess);
        this.pendingPoints -= n;
        excess -= n;
        if (n > 0) this.countDropped(priority === 1 ? [0, n, 0] : [0, 0, n], 'memory');
      }
    }
    this.pending = this.pending.filter((b) => batchSize(b) > 0);
  }

  private countDropped(c: [number, number, number], where: 'outbox' | 'memory'): void {
    c.forEach((n, p) => {
      if (n > 0) this.opts.events?.dropped?.(n, p as Priority, where);
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Seals and waits until the worker confirmed every point accepted so far (or the deadline). */
  async commitAll(deadlineMs: number): Promise<boolean> {
    const end = Date.now() + deadlineMs;
    this.seal();
    while (this.unconfirmed() > 0 && Date.now() < end) {
      await this.waitChange(Math.min(50, Math.max(1, end - Date.now())));
      this.pump();
    }
    return this.unconfirmed() === 0;
  }

  /** Waits until the outbox reports empty (InfluxDB mode) or the deadline. */
  private flushOutbox(deadlineMs: number): Promise<boolean> {
    if (!this.worker || !this.ready) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.flushedWaiter = null;
        resolve(false);
      }, deadlineMs + 1000);
      this.flushedWaiter = (m) => {
        clearTimeout(t);
        this.flushedWaiter = null;
        resolve(m.empty);
      };
      this.send({ t: 'flush', deadlineMs });
    });
  }

  /**
   * Commits what the main thread holds, drains the outbox until `deadlineMs` (InfluxDB), then
   * stops the worker (an in-flight InfluxDB write gets `graceMs`). What is left in the outbox is
   * written after the next start. Resolves { unconfirmed, outboxEmpty }.
   */
  async stop(deadlineMs: number, graceMs = 500): Promise<{ unconfirmed: number; outboxEmpty: boolean }> {
    if (this.stopped) return { unconfirmed: 0, outboxEmpty: this.workerDepth === 0 };
    const end = Date.now() + deadlineMs;
    await this.commitAll(deadlineMs);
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.sealTimer) clearTimeout(this.sealTimer);
    this.restartTimer = this.retryTimer = this.sealTimer = null;
    const outboxEmpty = this.workerDepth === 0 ? true : await this.flushOutbox(Math.max(0, end - Date.now()));
    const unconfirmed = this.unconfirmed();
    const worker = this.worker;
    if (worker) {
      const done = new Promise<void>((resolve) => (this.stoppedWaiter = resolve));
      this.send({ t: 'stop', graceMs });
      const timer = setTimeout(() => void worker.terminate(), graceMs + 1500);
      await done;
      clearTimeout(timer);
      await worker.terminate();
    }
    this.stopped = true;
    this.worker = null;
    this.ready = false;
    return { unconfirmed, outboxEmpty };
  }
}
