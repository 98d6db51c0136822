/**
 * Writes the alarm journal so that nothing acknowledged is ever lost, even on a full or failing disk.
 *
 * Each input's writes run in one transaction (`commit`). When a commit fails (disk full, I/O
 * error), its writes are kept in memory, in order, and every later input's writes queue behind them
 * (the journal keeps the order things happened in). The backlog is retried every second — the first
 * failure also releases the data dir's reserve file, so the retry usually lands at once — until it
 * lands. Meanwhile the alarm is still announced from memory, but acknowledgements wait:
 * `whenDurable(cb)` calls back only once everything written before the call is committed **and**
 * fsynced. So every event the hub PUBACKs is in the journal after a restart; an event whose write
 * has not landed is not acknowledged, and its device keeps it and sends it again.
 *
 * `/health` is degraded (`journal`) while anything waits or the last fsync failed.
 */
import type { AlarmJournal } from '../store/alarm-journal.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter } from '../observability/metrics.ts';
import type { Clock } from '../core/clock.ts';
import type { HubHealth } from './hub-health.ts';

/** What the writer needs of store/wal-durability.ts (absent: every commit is fsynced by SQLite). */
export interface Durability {
  whenDurable(cb: (err: Error | null) => void): void;
  flushSoon(): void;
}

/** What the writer needs of store/disk-reserve.ts. */
export interface SpaceReserve {
  release(): boolean;
  ensure(): boolean;
}

export interface JournalWriterDeps {
  journal: AlarmJournal;
  durability?: Durability;
  reserve?: SpaceReserve;
  health: HubHealth;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  /** ms between retries of a failed write (default 1000). */
  retryMs?: number;
}

type Callback = () => void;

/** How often a released reserve file is made again while the disk has no room for it. */
const RESERVE_RETRY_MS = 10_000;

export class JournalWriter {
  /** Writes that could not be committed yet, in order. */
  private backlog: Array<() => void> = [];
  /** Acknowledgements waiting for the backlog to land. */
  private waiting: Callback[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private reserveTimer: NodeJS.Timeout | null = null;
  private fsyncFailing = false;
  private reserveReleased = false;
  private stopped = false;
  private readonly errors: Counter;
  private readonly retries: Counter;

  constructor(private readonly d: JournalWriterDeps) {
    this.errors = d.metrics.counter(
      'smokehub_journal_errors_total',
      'Alarm journal writes that failed (alarms were still announced; acknowledgements wait until the write lands)',
    );
    this.retries = d.metrics.counter('smokehub_journal_retries_total', 'Retries of alarm journal writes that had failed');
    d.metrics.gauge('smokehub_journal_backlog', 'Alarm journal writes waiting in memory for the disk (acknowledgements withheld)', () => this.backlog.length);
  }

  /** True while writes wait in memory: callers queue theirs behind (order is kept). */
  get behind(): boolean {
    return this.backlog.length > 0;
  }

  /**
   * Runs `write` in one transaction now — or queues it behind earlier failed writes, to be retried
   * until it lands. `write` must only write (it may run again later). Never throws for a failed write.
   */
  commit(write: () => void): void {
    if (this.attempt(write)) return;
    this.backlog.push(write);
  }

  /**
   * Runs `fn` in one transaction if nothing waits; returns whether it was committed. A failed
   * attempt is not kept (`fn` may do more than write): the caller queues its writes with `commit`.
   */
  attempt(fn: () => void): boolean {
    if (this.backlog.length > 0) return false;
    try {
      this.d.journal.atomically(fn);
    } catch (err) {
      this.scheduleRetry(this.failed(err) ? 0 : (this.d.retryMs ?? 1000));
      return false;
    }
    this.d.durability?.flushSoon();
    return true;
  }

  /** Calls back once everything committed or queued before this call is on disk. */
  whenDurable(cb: Callback): void {
    if (this.backlog.length > 0 || this.fsyncFailing) {
      this.waiting.push(cb);
      return;
    }
    this.syncThen([cb]);
  }

  durable(): Promise<void> {
    return new Promise((resolve) => this.whenDurable(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.reserveTimer) clearTimeout(this.reserveTimer);
    this.retryTimer = this.reserveTimer = null;
    if (this.backlog.length > 0)
      this.d.logger.error(
        { writes: this.backlog.length },
        'ALARM JOURNAL: writes still unwritten at stop (their events were not acknowledged: devices resend them)',
      );
  }

  private syncThen(cbs: Callback[]): void {
    if (!this.d.durability) {
      for (const cb of cbs) cb();
      return;
    }
    this.d.durability.whenDurable((err) => {
      if (!err) {
        if (this.fsyncFailing) {
          this.fsyncFailing = false;
          this.updateHealth();
        }
        for (const cb of cbs) cb();
        return;
      }
      // Not on disk: acknowledge nothing; fsync again in a second.
      if (!this.fsyncFailing) {
        this.fsyncFailing = true;
        this.updateHealth(`fsync failed: ${(err as Error).message}`);
      }
      this.waiting.push(...cbs);
      this.scheduleRetry(this.d.retryMs ?? 1000);
    });
  }

  /** Counts and reports a failed write; returns whether it just freed the reserve (retry at once). */
  private failed(err: unknown): boolean {
    this.errors.inc();
    this.d.logger.error({ err, backlog: this.backlog.length }, 'ALARM JOURNAL WRITE FAILED: announced from memory, acknowledgement withheld, retrying');
    this.updateHealth(`write failed: ${(err as Error)?.message ?? String(err)}`);
    if (!this.reserveReleased && this.d.reserve?.release()) {
      this.reserveReleased = true;
      this.d.logger.warn('released the data directory reserve file so that the alarm journal can be written');
      return true;
    }
    return false;
  }

  private scheduleRetry(ms: number): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retry();
    }, ms);
    this.retryTimer.unref();
  }

  private retry(): void {
    if (this.backlog.length > 0) {
      this.retries.inc();
      const batch = this.backlog;
      try {
        this.d.journal.atomically(() => {
          for (const write of batch) write();
        });
      } catch (err) {
        this.scheduleRetry(this.failed(err) ? 0 : (this.d.retryMs ?? 1000));
        return;
      }
      this.backlog = [];
      this.d.logger.warn({ writes: batch.length }, 'alarm journal writes landed after a failure');
    }
    const cbs = this.waiting;
    this.waiting = [];
    this.fsyncFailing = false;
    this.syncThen(cbs);
    this.updateHealth();
    this.remakeReserve();
  }

  /**
   * Holds space back again for the next time once the disk has room for it (checked every 10 s
   * while the reserve is released: right after a recovery the disk is usually still nearly full).
   */
  private remakeReserve(): void {
    if (!this.reserveReleased || this.stopped || this.reserveTimer) return;
    if (this.backlog.length === 0 && this.d.reserve?.ensure()) {
      this.reserveReleased = false;
      this.d.logger.info('the data directory reserve file is in place again');
      return;
    }
    this.reserveTimer = setTimeout(() => {
      this.reserveTimer = null;
      this.remakeReserve();
    }, RESERVE_RETRY_MS);
    this.reserveTimer.unref();
  }

  private updateHealth(message?: string): void {
    const bad = this.backlog.length > 0 || this.fsyncFailing || message !== undefined;
    this.d.health.report('journal', bad ? { message: message ?? 'alarm journal writes are waiting for the disk', at: this.d.clock.now() } : null);
  }
}
