/**
 * The durable telemetry outbox: its own SQLite file in the data directory (telemetry-outbox.db).
 * A point counts as stored once its batch is committed here. A writer drains the outbox in order,
 * in size- and time-bounded batches, to the InfluxDB store, and deletes a batch only after the
 * store confirmed it. While the store is down or slow it retries with backoff and the outbox grows,
 * bounded by `maxPoints`: from 80 % it warns (log + metric); when full, the oldest telemetry goes
 * first, then other device events, and alarm events and alarm transitions last of all.
 *
 * Replays are identical (the outbox keeps the finished point), so InfluxDB overwrites what a
 * timed-out-but-applied write already stored: nothing lost, nothing duplicated.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Logger } from '../observability/logger.ts';
import { migrate, openDatabase } from '../store/database.ts';
import { decodePoint, decodeStoredPoint, linePoint, PRIORITY, type Priority, type StoredPoint } from './point.ts';
import type { IngestMark } from './sqlite-store.ts';
import { StoreWriteError } from './telemetry-store.ts';

export const OUTBOX_FILE = 'telemetry-outbox.db';
export const OUTBOX_WARN_RATIO = 0.8;

export interface OutboxSink {
  write(points: StoredPoint[]): Promise<void>;
  /** Writes InfluxDB lines as they are (the outbox keeps finished lines: no re-serialising). */
  writeLines?(lines: string[]): Promise<void>;
}

export interface OutboxObserver {
  /** A batch was written (size, seconds). */
  written?(size: number, seconds: number): void;
  /** A write failed (reason from StoreWriteError). */
  writeFailed?(reason: string, err: Error): void;
  /** Points were dropped because the outbox was full. */
  dropped?(count: number, priority: Priority): void;
  /** The store refused points for good (HTTP 400): they are removed from the outbox. */
  rejected?(count: number): void;
}

export interface OutboxOptions {
  dataDir: string;
  maxPoints: number;
  /** Most points per write (default 5,000). */
  batchSize?: number;
  /** Longest a point waits before a partial batch is written (default 1,000 ms). */
  lingerMs?: number;
  /** Backoff after a failed write: starts at `retryMinMs` (250), doubles, capped at `retryMaxMs` (10,000). */
  retryMinMs?: number;
  retryMaxMs?: number;
  logger: Logger;
  observer?: OutboxObserver;
}

const MIGRATIONS = [
  `CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, priority INTEGER NOT NULL, point TEXT NOT NULL);
   CREATE INDEX outbox_priority_seq ON outbox (priority, seq);`,
  // The last batch committed from the hub's main thread (see IngestMark), in the batch's transaction.
  `CREATE TABLE ingest_mark (id INTEGER PRIMARY KEY CHECK (id = 1), run TEXT NOT NULL, seq INTEGER NOT NULL);`,
];

export class Outbox {
  private readonly db: Db;
  private readonly insert: Statement;
  private readonly selectBatch: Statement;
  private readonly deleteUpTo: Statement;
  private readonly dropOldest: Statement;
  private readonly countByPriority: Statement;
  private readonly setMark: Statement;
  private depthNow: number;
  private warned = false;
  private sink: OutboxSink | null = null;
  private running = false;
  private draining: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private failures = 0;
  private outageLogged = false;
  private oldestPendingSince: number | null = null;
  readonly batchSize: number;
  readonly lingerMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly opts: OutboxOptions) {
    this.batchSize = opts.batchSize ?? 5000;
    this.lingerMs = opts.lingerMs ?? 1000;
    this.retryMinMs = opts.retryMinMs ?? 250;
    this.retryMaxMs = opts.retryMaxMs ?? 10_000;
    this.db = openDatabase(opts.dataDir, OUTBOX_FILE);
    migrate(this.db, 'telemetry-outbox', MIGRATIONS);
    this.insert = this.db.prepare('INSERT INTO outbox (priority, point) VALUES (?, ?)');
    this.selectBatch = this.db.prepare('SELECT seq, priority, point FROM outbox ORDER BY seq LIMIT ?');
    this.deleteUpTo = this.db.prepare('DELETE FROM outbox WHERE seq <= ?');
    this.dropOldest = this.db.prepare('DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE priority = ? ORDER BY seq LIMIT ?)');
    this.countByPriority = this.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE priority = ?');
    this.setMark = this.db.prepare(
      'INSERT INTO ingest_mark (id, run, seq) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET run = excluded.run, seq = excluded.seq',
    );
    this.depthNow = (this.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    if (this.depthNow > 0) this.oldestPendingSince = Date.now();
  }

  /** Points waiting in the outbox. */
  depth(): number {
    return this.depthNow;
  }
  get maxPoints(): number {
    return this.opts.maxPoints;
  }

  /** The last batch mark committed (null before the first). */
  lastMark(): IngestMark | null {
    return (this.db.prepare('SELECT run, seq FROM ingest_mark WHERE id = 1').get() as IngestMark | undefined) ?? null;
  }

  /**
   * Commits points in one transaction (they count as stored from here). Makes room first when the
   * outbox is full, dropping the lowest priority, oldest first. Synchronous and quick.
   * `mark` (the hand-off's identity) is recorded in the same transaction.
   */
  append(points: StoredPoint[], mark?: IngestMark): void {
    if (points.length === 0 && !mark) return;
    const max = this.opts.maxPoints;
    let accepted = points;
    this.db.transaction(() => {
      const overflow = this.depthNow + points.length - max;
      if (overflow > 0) accepted = this.makeRoom(overflow, points);
      for (const p of accepted) this.insert.run(p.priority, linePoint(p));
      if (mark) this.setMark.run(mark.run, mark.seq);
    })();
    if (accepted.length === 0) return;
    this.depthNow += accepted.length;
    if (this.oldestPendingSince === null) this.oldestPendingSince = Date.now();
    this.checkBound();
    this.kick();
  }

  /** Frees `overflow` places: stored points of lower priority first, then the incoming batch's own. */
  private makeRoom(overflow: number, incoming: StoredPoint[]): StoredPoint[] {
    let need = overflow;
    // Incoming points that rank below everything stored are dropped before any stored point of a
    // higher priority; within a priority, the oldest (stored before incoming) go first.
    let kept = incoming;
    for (const priority of [PRIORITY.telemetry, PRIORITY.event, PRIORITY.alarm] as Priority[]) {
      if (need <= 0) break;
      const stored = (this.countByPriority.get(priority) as { n: number }).n;
      const fromStored = Math.min(need, stored);
      if (fromStored > 0) {
        this.dropOldest.run(priority, fromStored);
        this.depthNow -= fromStored;
        need -= fromStored;
        this.opts.observer?.dropped?.(fromStored, priority);
      }
      if (need <= 0) break;
      const inc = kept.filter((p) => p.priority === priority).length;
      const fromIncoming = Math.min(need, inc);
      if (fromIncoming > 0) {
        let left = fromIncoming;
        kept = kept.filter((p) => (p.priority === priority && left > 0 ? (left--, false) : true));
        need -= fromIncoming;
        this.opts.observer?.dropped?.(fromIncoming, priority);
      }
    }
    return kept;
  }

  private checkBound(): void {
    const ratio = this.depthNow / this.opts.maxPoints;
    if (ratio >= OUTBOX_WARN_RATIO && !this.warned) {
      this.warned = true;
      this.opts.logger.warn(
        { depth: this.depthNow, maxPoints: this.opts.maxPoints },
        `telemetry outbox is ${Math.round(ratio * 100)} % full: InfluxDB is not keeping up or is down; when full, the oldest telemetry is dropped (alarm events last)`,
      );
    } else if (ratio < OUTBOX_WARN_RATIO / 2 && this.warned) {
      this.warned = false;
      this.opts.logger.info({ depth: this.depthNow }, 'telemetry outbox is back below 40 %');
    }
  }

  /** True from 80 % of the bound until it falls below 40 %. */
  get nearlyFull(): boolean {
    return this.warned;
  }

  /** Starts the writer draining to `sink`. */
  start(sink: OutboxSink): void {
    this.sink = sink;
    this.running = true;
    this.kick();
  }

  /** Wakes the writer: at once for a full batch, after `lingerMs` for a partial one. */
  private kick(): void {
    if (!this.running || this.draining) return;
    if (this.depthNow === 0) return;
    const age = this.oldestPendingSince === null ? 0 : Date.now() - this.oldestPendingSince;
    const delay = this.depthNow >= this.batchSize ? 0 : Math.max(0, this.lingerMs - age);
    if (this.timer) {
      if (delay > 0) return;
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.draining = this.drain().finally(() => {
        this.draining = null;
        this.kick();
      });
    }, delay);
  }

  /** Writes batches until the outbox is empty or a write fails (then waits the backoff and goes on). */
  private async drain(): Promise<void> {
    while (this.running && this.sink && this.depthNow > 0) {
      let ok: boolean;
      try {
        ok = await this.writeOneBatch();
      } catch (err) {
        // The outbox file itself failed (disk full, closed): keep the points, retry later.
        this.opts.logger.error({ err: (err as Error).message }, 'telemetry outbox read/delete failed');
        this.failures++;
        ok = false;
      }
      if (!this.db.open) return;
      if (!ok && this.running) {
        const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.failures - 1, 20));
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.wake = null;
            resolve();
          }, delay);
          this.wake = () => {
            clearTimeout(t);
            this.wake = null;
            resolve();
          };
        });
      }
    }
    if (this.depthNow === 0) this.oldestPendingSince = null;
  }

  /** One batch: read in order, write, delete on success. False when the write failed and should be retried. */
  private async writeOneBatch(): Promise<boolean> {
    const rows = this.selectBatch.all(this.batchSize) as Array<{ seq: number; priority: Priority; point: string }>;
    if (rows.length === 0) {
      this.depthNow = 0;
      return true;
    }
    const lastSeq = rows[rows.length - 1]!.seq;
    const sink = this.sink!;
    const started = process.hrtime.bigint();
    try {
      if (sink.writeLines) {
        // Rows are finished lines; rows left by an earlier version (JSON) are converted, identically.
        const lines = rows.map((r) => (r.point.startsWith('[') ? linePoint(decodePoint(r.point)) : r.point));
        await sink.writeLines(lines);
      } else {
        await sink.write(rows.map((r) => decodeStoredPoint(r.point, r.priority)));
      }
    } catch (err) {
      if (!this.db.open) return false;
      const e = err instanceof StoreWriteError ? err : new StoreWriteError((err as Error).message, true, 'server');
      this.opts.observer?.writeFailed?.(e.reason, e);
      if (!e.retryable) {
        // InfluxDB refused these points for good (e.g. older than the retention policy): it wrote
        // the others of the batch; retrying would block the outbox forever.
        this.opts.logger.error({ err: e.message, points: rows.length }, 'telemetry store refused part of a batch; removing it from the outbox');
        this.opts.observer?.rejected?.(rows.length);
        this.removeUpTo(lastSeq);
        return true;
      }
      this.failures++;
      if (!this.outageLogged) {
        this.outageLogged = true;
        this.opts.logger.warn(
          { err: e.message, reason: e.reason, depth: this.depthNow },
          'telemetry store write failed; keeping points in the outbox and retrying with backoff',
        );
      }
      return false;
    }
    if (!this.db.open) return false;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.removeUpTo(lastSeq);
    if (this.outageLogged) {
      this.opts.logger.info({ failures: this.failures, depth: this.depthNow }, 'telemetry store is writable again; draining the outbox');
      this.outageLogged = false;
    }
    this.failures = 0;
    this.opts.observer?.written?.(rows.length, seconds);
    return true;
  }

  private removeUpTo(lastSeq: number): void {
    const removed = this.deleteUpTo.run(lastSeq).changes;
    this.depthNow = Math.max(0, this.depthNow - removed);
    this.oldestPendingSince = this.depthNow > 0 ? Date.now() : null;
    this.checkBound();
  }

  /**
   * Drains what it can until `deadlineMs` passes, then stops the writer. What is left stays in the
   * outbox and is written after the next start. Resolves true when the outbox is empty.
   */
  async flush(deadlineMs: number): Promise<boolean> {
    const end = Date.now() + deadlineMs;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.depthNow > 0 && Date.now() < end && this.sink) {
      if (this.draining) {
        this.wake?.();
        await Promise.race([this.draining, sleep(Math.max(0, end - Date.now()))]);
        continue;
      }
      const ok = await Promise.race([this.writeOneBatch().catch(() => false), sleep(Math.max(0, end - Date.now())).then(() => true)]);
      if (!ok) await sleep(Math.min(200, Math.max(0, end - Date.now())));
    }
    return this.depthNow === 0;
  }

  /** Stops the writer (an in-flight write may still finish and delete its batch) and closes the file. */
  async close(graceMs = 0): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    if (this.draining) await Promise.race([this.draining, sleep(graceMs)]);
    if (this.draining) {
      // A write is still in flight past the grace period: leave its rows in place (they will be
      // replayed identically after the next start) and stop touching the database.
      this.sink = null;
    }
    this.db.close();
  }

  /** Points of each priority (tests). */
  countsByPriority(): Record<Priority, number> {
    const c = (p: Priority) => (this.countByPriority.get(p) as { n: number }).n;
    return { 0: c(PRIORITY.telemetry), 1: c(PRIORITY.event), 2: c(PRIORITY.alarm) } as Record<Priority, number>;
  }

  /** The next `n` points in drain order (tests). */
  peek(n: number): StoredPoint[] {
    return (this.selectBatch.all(n) as Array<{ priority: Priority; point: string }>).map((r) => decodeStoredPoint(r.point, r.priority));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
