/**
 * Leases in PostgreSQL: what runs once per cluster (cron jobs, supervision sweeps, the SMS queue,
 * outbox draining) runs on the node that holds its lease. `leases (name, holder, expires_at, fence)`:
 * one atomic upsert takes a lease that is free or expired, or renews one this keeper holds, and
 * returns its fence: a number that grows on every change of holder (a fencing token: work stamped
 * with an older fence can be refused). The fences come from one sequence, so they keep growing
 * even after a lease was released (its row deleted) and taken again.
 *
 * Every `ttlMs / 3` a keeper renews what it holds and tries to take what it does not. A renewal
 * started at `t` keeps the lease until `t + ttlMs` by this node's clock (the row says the same), so
 * a keeper that cannot renew gives the lease up locally (`onLost`) at that moment, whether or not
 * the renewal is still under way, and before any other node can take it over (nodes' clocks must
 * agree, NTP: a skew eats into that margin). A node that dies is replaced within `ttlMs` plus one
 * renewal interval. `stop()` gives up every lease locally, then deletes its rows: another node may
 * take them at its next attempt.
 *
 * The decisions (when to try again, whether an answer still holds, when the lease is lost) are pure
 * functions below, tested without PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { pgMigrate } from './pg-migrate.ts';
import type { PgPool } from './pg-pool.ts';

export const LEASE_STEPS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL, fence BIGINT NOT NULL);
   CREATE SEQUENCE IF NOT EXISTS lease_fences`,
];

/** Creates the leases table (idempotent, safe on nodes starting together). */
export function migrateLeases(pool: PgPool, now?: () => number): Promise<number> {
  return pgMigrate(pool, 'leases', LEASE_STEPS, now);
}

// ---- the pure decisions ----

/** What a keeper believes of one lease. `validUntil`: by its own clock; meaningless when not held. */
export interface LeaseState {
  held: boolean;
  fence: number;
  validUntil: number;
}

export const NOT_HELD: LeaseState = { held: false, fence: 0, validUntil: 0 };

/** ms between attempts (renewals, or tries to take it). */
export function renewIntervalMs(ttlMs: number): number {
  return Math.max(1, Math.floor(ttlMs / 3));
}

/** Whether the lease may still be acted on at `now`. */
export function isHeld(s: LeaseState, now: number): boolean {
  return s.held && now < s.validUntil;
}

/**
 * How an attempt started at `startedAt` changes the state, given its answer at `now`: `fence` (the
 * row is ours), `null` (another node holds it) or `'error'` (no answer: PostgreSQL unreachable…).
 * `event`: what to tell the lease's user.
 */
export function afterAttempt(
  s: LeaseState,
  answer: number | null | 'error',
  startedAt: number,
  now: number,
  ttlMs: number,
): { state: LeaseState; event: 'acquired' | 'lost' | null } {
  const valid = isHeld(s, now);
  let state: LeaseState;
  if (answer === 'error') state = valid ? s : NOT_HELD;
  else if (answer === null) state = NOT_HELD;
  else if (now >= startedAt + ttlMs)
    state = NOT_HELD; // the answer came after the lease it gave had ended
  else state = { held: true, fence: answer, validUntil: startedAt + ttlMs };
  // Events follow what the user was told (`s.held`), even if the expiry timer has not fired yet.
  const event = !s.held && state.held ? 'acquired' : s.held && !state.held ? 'lost' : s.held && state.fence !== s.fence ? 'acquired' : null;
  return { state, event };
}

/** Whether a held lease has run out at `now` (the expiry timer's check): then it is lost. */
export function expired(s: LeaseState, now: number): boolean {
  return s.held && now >= s.validUntil;
}

// ---- the keeper ----

export interface LeaseHandlers {
  ttlMs: number;
  /** The lease is this node's now (again), with its fence. */
  onAcquired(fence: number): void;
  /** Stop acting on it at once: it expired, another node took it, or `stop()`. */
  onLost(): void;
}

export interface LeaseKeeperDeps {
  pool: PgPool;
  clock: Clock;
  /** This node's name; the holder is `node/<random>`, unique to this keeper. */
  node: string;
  /** An attempt failed (PostgreSQL unreachable…): the next one retries. */
  onError?(err: unknown): void;
}

interface Kept {
  name: string;
  h: LeaseHandlers;
  state: LeaseState;
  timer: TimerHandle | null;
  expiry: TimerHandle | null;
  attempt: Promise<void> | null;
}

const UPSERT = `INSERT INTO leases (name, holder, expires_at, fence) VALUES ($1, $2, $3, nextval('lease_fences'))
  ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
    fence = CASE WHEN leases.holder = EXCLUDED.holder THEN leases.fence ELSE EXCLUDED.fence END
  WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < $4
  RETURNING fence`;

export class LeaseKeeper {
  readonly holder: string;
  private readonly kept = new Map<string, Kept>();
  private stopped = false;

  constructor(private readonly d: LeaseKeeperDeps) {
    this.holder = `${d.node}/${randomUUID().slice(0, 8)}`;
  }

  /** Keeps trying to hold `name`, and renewing it, until `stop()`. */
  keep(name: string, h: LeaseHandlers): void {
    if (this.stopped) throw new Error('the lease keeper is stopped');
    if (this.kept.has(name)) throw new Error(`lease ${name} is already kept`);
    if (!(h.ttlMs > 0)) throw new Error('ttlMs must be positive');
    const k: Kept = { name, h, state: NOT_HELD, timer: null, expiry: null, attempt: null };
    this.kept.set(name, k);
    this.attempt(k);
  }

  /** Whether this node may act on `name` now (by its own clock, even between timers). */
  holds(name: string): boolean {
    const k = this.kept.get(name);
    return k !== undefined && isHeld(k.state, this.d.clock.now());
  }

  /** The fence of a lease held now, else undefined. */
  fence(name: string): number | undefined {
    return this.holds(name) ? this.kept.get(name)!.state.fence : undefined;
  }

  /** Gives every lease up (`onLost`), waits for attempts under way, then deletes this keeper's rows. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const kept = [...this.kept.values()];
    for (const k of kept) {
      k.timer?.cancel();
      k.expiry?.cancel();
      this.setState(k, NOT_HELD, isHeld(k.state, this.d.clock.now()) ? 'lost' : null);
    }
    await Promise.all(kept.map((k) => k.attempt));
    await this.d.pool
      .withTransaction((tx) => tx.query('DELETE FROM leases WHERE holder = $1', [this.holder]), { attempts: 1 })
      .catch((err) => this.d.onError?.(err));
  }

  private attempt(k: Kept): void {
    if (this.stopped) return;
    const startedAt = this.d.clock.now();
    const run = async (): Promise<void> => {
      let answer: number | null | 'error';
      try {
        const rows = await this.d.pool.withTransaction(
          (tx) => tx.query<{ fence: number }>(UPSERT, [k.name, this.holder, startedAt + k.h.ttlMs, startedAt]).then((r) => r.rows),
          { attempts: 1 },
        );
        answer = rows[0]?.fence ?? null;
      } catch (err) {
        answer = 'error';
        this.d.onError?.(err);
      }
      if (this.stopped) return; // stop() gave it up already; its row is deleted next
      const { state, event } = afterAttempt(k.state, answer, startedAt, this.d.clock.now(), k.h.ttlMs);
      this.setState(k, state, event);
    };
    k.attempt = run().finally(() => {
      k.attempt = null;
      if (this.stopped) return;
      // The next attempt an interval after this one started (at once if it took longer).
      const wait = startedAt + renewIntervalMs(k.h.ttlMs) - this.d.clock.now();
      k.timer = this.d.clock.setTimer(wait, () => this.attempt(k));
    });
  }

  private setState(k: Kept, state: LeaseState, event: 'acquired' | 'lost' | null): void {
    k.state = state;
    k.expiry?.cancel();
    k.expiry = null;
    if (state.held && !this.stopped) {
      k.expiry = this.d.clock.setTimer(state.validUntil - this.d.clock.now(), () => {
        k.expiry = null;
        if (expired(k.state, this.d.clock.now())) this.setState(k, NOT_HELD, 'lost');
      });
    }
    if (event === 'acquired') k.h.onAcquired(state.fence);
    else if (event === 'lost') k.h.onLost();
  }
}
