/**
 * In a cluster, the alarm changes every node hears go to the holder of the `sms` lease, which plans
 * and queues their texts and calls in its own queue (outbound-queue.ts) and sends them. Without it,
 * an alarm stepped on a node that does not hold `sms` would be queued there and never sent.
 *
 * `sms_relay (id, view, transition, node, at)` in the cluster's PostgreSQL:
 * - every node `forward()`s each `alarm-changed` (the holder too, so that they keep one order). A
 *   change that cannot be written yet (PostgreSQL unreachable) waits in memory, bounded, and is
 *   written again every second;
 * - the holder drains the table every `pollMs`: it locks a batch (`FOR UPDATE SKIP LOCKED`), hands
 *   each change to the extension's planner, and deletes the batch in the same transaction. A batch
 *   handled but not deleted (the holder died before the commit) is handled again by the next holder.
 *   Planning the same change twice queues nothing more: the queue de-duplicates by its keys.
 * - changes older than `STALE_MS` are deleted unplanned, when the next one is written (no node held
 *   `sms` meanwhile: a cluster without a modem must not fill the table).
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { PgPool } from '../cluster/pg-pool.ts';
import { pgMigrate } from '../cluster/pg-migrate.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlarmView } from '../protocol/schema.ts';

export const SMS_RELAY_STEPS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS sms_relay (id BIGSERIAL PRIMARY KEY, view JSONB NOT NULL, transition TEXT NOT NULL, node TEXT NOT NULL, at BIGINT NOT NULL)`,
];

export function migrateSmsRelay(pool: PgPool, now?: () => number): Promise<number> {
  return pgMigrate(pool, 'sms_relay', SMS_RELAY_STEPS, now);
}

/** Changes kept in memory while PostgreSQL cannot be written (the oldest are dropped beyond). */
export const MAX_PENDING = 10_000;
const BATCH = 100;
const RETRY_MS = 1000;
/** Changes older than this are deleted unplanned: no node held `sms` (no modem in the cluster, or none up). */
export const STALE_MS = 6 * 3600_000;

export type RelayHandler = (view: AlarmView, transition: string) => void;

export interface SmsRelayDeps {
  pool: PgPool;
  node: string;
  clock: Clock;
  logger: Logger;
  /** ms between drains on the holder (default 250). */
  pollMs?: number;
}

export class SmsRelay {
  private pending: Array<{ view: AlarmView; transition: string; at: number }> = [];
  private flushing: Promise<void> | null = null;
  private retry: TimerHandle | null = null;
  private handler: RelayHandler | null = null;
  private drainTimer: TimerHandle | null = null;
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly d: SmsRelayDeps) {}

  /** Hands an alarm change on to the holder of `sms` (written to PostgreSQL as soon as it can be). */
  forward(view: AlarmView, transition: string): void {
    this.pending.push({ view, transition, at: this.d.clock.now() });
    if (this.pending.length > MAX_PENDING) {
      const dropped = this.pending.splice(0, this.pending.length - MAX_PENDING);
      this.d.logger.error({ dropped: dropped.length }, 'SMS relay: PostgreSQL unreachable for too long, the oldest alarm changes are dropped');
    }
    void this.flush();
  }

  /** Changes not written yet. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Writes what waits; resolves when nothing does, or when an attempt failed (retried later). */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, BATCH);
      try {
        await this.d.pool.withTransaction(async (tx) => {
          await tx.query('DELETE FROM sms_relay WHERE at < $1', [this.d.clock.now() - STALE_MS]);
          for (const c of batch) {
            await tx.query('INSERT INTO sms_relay (view, transition, node, at) VALUES ($1, $2, $3, $4)', [
              JSON.stringify(c.view),
              c.transition,
              this.d.node,
              c.at,
            ]);
          }
        });
      } catch (err) {
        this.d.logger.warn({ err, waiting: this.pending.length }, 'SMS relay: alarm changes not written yet, retrying');
        if (!this.closed && !this.retry) {
          this.retry = this.d.clock.setTimer(RETRY_MS, () => {
            this.retry = null;
            void this.flush();
          });
        }
        return;
      }
      // forward() may have dropped the oldest meanwhile: remove what was written, by identity.
      const written = new Set(batch);
      this.pending = this.pending.filter((c) => !written.has(c));
    }
  }

  /** This node holds `sms`: hand every change (this node's and the others') to `handler`. */
  startDraining(handler: RelayHandler): void {
    if (this.closed) return;
    this.handler = handler;
    if (!this.drainTimer && !this.draining) this.scheduleDrain(0);
  }

  /** This node lost `sms`: no more draining (a batch under way finishes). */
  async stopDraining(): Promise<void> {
    this.handler = null;
    this.drainTimer?.cancel();
    this.drainTimer = null;
    await this.draining;
  }

  /** Stops draining, then tries once more to write what waits (bounded by the pool's attempts). */
  async close(): Promise<void> {
    await this.stopDraining();
    this.closed = true;
    this.retry?.cancel();
    this.retry = null;
    await this.flush();
    if (this.pending.length > 0) this.d.logger.error({ lost: this.pending.length }, 'SMS relay: alarm changes not written at stop');
  }

  private scheduleDrain(ms: number): void {
    this.drainTimer = this.d.clock.setTimer(ms, () => {
      this.drainTimer = null;
      this.draining = this.drain().finally(() => {
        this.draining = null;
        if (this.handler) this.scheduleDrain(this.d.pollMs ?? 250);
      });
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const handler = this.handler;
      if (!handler) return;
      let n: number;
      try {
        n = await this.d.pool.withTransaction(
          async (tx) => {
            const rows = (
              await tx.query<{ id: string; view: AlarmView; transition: string }>(
                `SELECT id, view, transition FROM sms_relay ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
              )
            ).rows;
            for (const r of rows) {
              try {
                handler(r.view, r.transition);
              } catch (err) {
                this.d.logger.error({ err, alarm: r.view.alarm, transition: r.transition }, 'SMS relay: an alarm change could not be planned');
              }
            }
            if (rows.length > 0) await tx.query('DELETE FROM sms_relay WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
            return rows.length;
          },
          { attempts: 1 },
        );
      } catch (err) {
        this.d.logger.warn({ err }, 'SMS relay: could not drain, retrying');
        return;
      }
      if (n < BATCH) return;
    }
  }
}
