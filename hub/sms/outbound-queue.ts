/**
 * The durable queue of outgoing SMS and voice calls, in the hub's SQLite database (module
 * `sms-outbound`). Alarm texts go before reminders: `next()` hands out the due item with the
 * lowest `priority` number (0 = alarm texts), then the oldest.
 *
 * Life of an item: `queued` → (`next`) `sending` → `sent`, or back to `queued` with a later
 * `nextAttemptAt` on a failure (`markFailed`), or `failed` once it has had `maxAttempts` attempts
 * or the failure is final; `cancelled` while still queued (e.g. the pending calls of an alarm that
 * closed). Every state change is one committed SQLite statement before the method returns.
 *
 * Duplicates and crashes:
 * - `dedupeKey` is unique: enqueueing a key that exists is a no-op returning the existing item, so a
 *   restart or a replayed alarm transition never queues a message twice.
 * - At start `recover()` turns items left `sending` (the hub died while the modem had them) back
 *   to `queued`. Delivery is therefore at least once: an SMS handed to the modem whose `+CMGS`
 *   confirmation had not been recorded (`markSent`) when the hub died is sent again — the only
 *   duplicate possible. An item recorded `sent` is never handed out again.
 * - Durability is the database's: a commit survives the hub being killed; against a power cut,
 *   what the database's synchronous setting and the WAL fsync give (store/wal-durability.ts).
 */
import type { Db } from '../store/database.ts';
import { migrate } from '../store/database.ts';
import { ERROR_CODES, ValidationError } from '../protocol/errors.ts';
import { isE164 } from './phone-number.ts';

export const OUTBOUND_KINDS = ['sms', 'call'] as const;
export type OutboundKind = (typeof OUTBOUND_KINDS)[number];
export const OUTBOUND_STATES = ['queued', 'sending', 'sent', 'failed', 'cancelled'] as const;
export type OutboundState = (typeof OUTBOUND_STATES)[number];

/** Priorities are 0..MAX_PRIORITY, lower first (the planner's levels: hub/core/sms-plan.ts PRIORITY). */
export const MAX_PRIORITY = 9;
export const MAX_DEDUPE_KEY_LENGTH = 200;
/** An SMS text longer than this is refused (about 25 UCS-2 parts). */
export const MAX_TEXT_LENGTH = 1600;
export const DEFAULT_MAX_ATTEMPTS = 5;

export interface OutboundItem {
  id: number;
  kind: OutboundKind;
  /** E.164. */
  to: string;
  /** The SMS text; null for a call. */
  text: string | null;
  priority: number;
  alarm: string | null;
  household: string | null;
  dedupeKey: string;
  /** Attempts started so far (incremented by `next`). */
  attempts: number;
  nextAttemptAt: number;
  state: OutboundState;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  /** The last failure. */
  error: string | null;
  /** What the sender recorded with `markSent` (message reference, parts, call outcome…). */
  info: Record<string, unknown> | null;
}

export interface EnqueueInput {
  kind: OutboundKind;
  to: string;
  text?: string | null;
  priority: number;
  alarm?: string | null;
  household?: string | null;
  dedupeKey: string;
  /** Not before this time (e.g. a call after `--call-after`); default: now. */
  notBefore?: number;
}

export interface CancelFilter {
  alarm?: string;
  kind?: OutboundKind;
  household?: string;
  to?: string;
}

export interface OutboundQueueOptions {
  /** Attempts before an item is given up (`failed`). Default 5. */
  maxAttempts?: number;
  /** Delay before retry n (1-based) when `markFailed` gets no retry time. */
  retryDelayMs?: (attempt: number) => number;
}

/** 10 s, 30 s, 90 s, … at most 10 min. */
export function defaultRetryDelayMs(attempt: number): number {
  return Math.min(10_000 * 3 ** Math.max(0, attempt - 1), 600_000);
}

interface Row {
  id: number;
  kind: OutboundKind;
  recipient: string;
  text: string | null;
  priority: number;
  alarm: string | null;
  household: string | null;
  dedupe_key: string;
  attempts: number;
  next_attempt_at: number;
  state: OutboundState;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  error: string | null;
  info_json: string | null;
}

function toItem(r: Row): OutboundItem {
  return {
    id: r.id,
    kind: r.kind,
    to: r.recipient,
    text: r.text,
    priority: r.priority,
    alarm: r.alarm,
    household: r.household,
    dedupeKey: r.dedupe_key,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    state: r.state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    sentAt: r.sent_at,
    error: r.error,
    info: r.info_json === null ? null : (JSON.parse(r.info_json) as Record<string, unknown>),
  };
}

const bad = (message: string, field: string) => new ValidationError(ERROR_CODES.BAD_FIELD, message, { field });

export class OutboundQueue {
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly stmt;
  private readonly takeTx: (now: number) => Row | undefined;

  constructor(
    private readonly db: Db,
    opts: OutboundQueueOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.retryDelayMs = opts.retryDelayMs ?? defaultRetryDelayMs;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new RangeError('maxAttempts must be an integer ≥ 1');
    migrate(db, 'sms-outbound', [
      `CREATE TABLE outbound_messages (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         kind TEXT NOT NULL CHECK (kind IN ('sms', 'call')),
         recipient TEXT NOT NULL,
         text TEXT,
         priority INTEGER NOT NULL,
         alarm TEXT,
         household TEXT,
         dedupe_key TEXT NOT NULL UNIQUE,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt_at INTEGER NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
         created_at INTEGER NOT NULL,
         updated_at INTEGER NOT NULL,
         sent_at INTEGER,
         error TEXT,
         info_json TEXT);
       CREATE INDEX outbound_queued ON outbound_messages(priority, created_at, id) WHERE state = 'queued';
       CREATE INDEX outbound_sending ON outbound_messages(id) WHERE state = 'sending';
       CREATE INDEX outbound_alarm ON outbound_messages(alarm, id) WHERE alarm IS NOT NULL;
       CREATE INDEX outbound_updated ON outbound_messages(updated_at);`,
    ]);
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO outbound_messages (kind, recipient, text, priority, alarm, household, dedupe_key, attempts, next_attempt_at, state, created_at, updated_at)
         VALUES (@kind, @to, @text, @priority, @alarm, @household, @dedupeKey, 0, @nextAttemptAt, 'queued', @now, @now)
         ON CONFLICT(dedupe_key) DO NOTHING`,
      ),
      byKey: db.prepare('SELECT * FROM outbound_messages WHERE dedupe_key = ?'),
      byId: db.prepare('SELECT * FROM outbound_messages WHERE id = ?'),
      due: db.prepare(
        `SELECT * FROM outbound_messages WHERE state = 'queued' AND next_attempt_at <= ?
         ORDER BY priority, created_at, id LIMIT 1`,
      ),
      take: db.prepare(`UPDATE outbound_messages SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'queued'`),
      sent: db.prepare(
        `UPDATE outbound_messages SET state = 'sent', sent_at = @at, updated_at = @at, info_json = @info, error = NULL
         WHERE id = @id AND state = 'sending'`,
      ),
      retry: db.prepare(
        `UPDATE outbound_messages SET state = 'queued', next_attempt_at = @retryAt, updated_at = @at, error = @error
         WHERE id = @id AND state = 'sending'`,
      ),
      fail: db.prepare(`UPDATE outbound_messages SET state = 'failed', updated_at = @at, error = @error WHERE id = @id AND state = 'sending'`),
      forAlarm: db.prepare('SELECT * FROM outbound_messages WHERE alarm = ? ORDER BY created_at, id'),
      nextDue: db.prepare(`SELECT MIN(next_attempt_at) AS at FROM outbound_messages WHERE state = 'queued'`),
      counts: db.prepare('SELECT state, COUNT(*) AS n FROM outbound_messages GROUP BY state'),
      recoverGiveUp: db.prepare(
        `UPDATE outbound_messages SET state = 'failed', updated_at = @now,
           error = 'interrupted by a restart after ' || attempts || ' attempts'
         WHERE state = 'sending' AND attempts >= @max`,
      ),
      recover: db.prepare(`UPDATE outbound_messages SET state = 'queued', next_attempt_at = @now, updated_at = @now WHERE state = 'sending'`),
      prune: db.prepare(`DELETE FROM outbound_messages WHERE state IN ('sent', 'failed', 'cancelled') AND updated_at < ?`),
    };
    this.takeTx = db.transaction((now: number) => {
      const row = this.stmt.due.get(now) as Row | undefined;
      if (!row) return undefined;
      this.stmt.take.run(now, row.id);
      return this.stmt.byId.get(row.id) as Row;
    });
  }

  /**
   * Queues a message or a call. A `dedupeKey` that already exists changes nothing: the existing
   * item is returned with `created: false`. Bad input throws a ValidationError (bad_field).
   */
  enqueue(input: EnqueueInput, now: number): { created: boolean; item: OutboundItem } {
    if (!(OUTBOUND_KINDS as readonly string[]).includes(input.kind)) throw bad(`kind must be one of ${OUTBOUND_KINDS.join(', ')}`, 'kind');
    if (typeof input.to !== 'string' || !isE164(input.to))
      throw bad(`to must be an E.164 number (+84…), got ${JSON.stringify(String(input.to).slice(0, 32))}`, 'to');
    const text = input.text ?? null;
    if (input.kind === 'sms' && (typeof text !== 'string' || text.trim() === '')) throw bad('an sms needs a text', 'text');
    if (input.kind === 'call' && text !== null) throw bad('a call has no text', 'text');
    if (text !== null && text.length > MAX_TEXT_LENGTH) throw bad(`text is longer than ${MAX_TEXT_LENGTH} characters`, 'text');
    if (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > MAX_PRIORITY)
      throw bad(`priority must be an integer 0..${MAX_PRIORITY}`, 'priority');
    if (typeof input.dedupeKey !== 'string' || input.dedupeKey === '' || input.dedupeKey.length > MAX_DEDUPE_KEY_LENGTH) {
      throw bad(`dedupeKey must be 1..${MAX_DEDUPE_KEY_LENGTH} characters`, 'dedupeKey');
    }
    const r = this.stmt.insert.run({
      kind: input.kind,
      to: input.to,
      text,
      priority: input.priority,
      alarm: input.alarm ?? null,
      household: input.household ?? null,
      dedupeKey: input.dedupeKey,
      nextAttemptAt: input.notBefore ?? now,
      now,
    });
    return { created: r.changes === 1, item: toItem(this.stmt.byKey.get(input.dedupeKey) as Row) };
  }

  /** The due item to send now (lowest priority number, then oldest), marked `sending`; null if none. */
  next(now: number): OutboundItem | null {
    const row = this.takeTx(now);
    return row ? toItem(row) : null;
  }

  /** The modem confirmed it (`+CMGS`, or the call was made). False if the item was not `sending`. */
  markSent(id: number, at: number, info: Record<string, unknown> = {}): boolean {
    return this.stmt.sent.run({ id, at, info: JSON.stringify(info) }).changes === 1;
  }

  /**
   * The attempt failed. `retryAt`: when to try again (default: the backoff for this attempt);
   * null: final, give up now. After `maxAttempts` attempts the item is `failed` whatever `retryAt`.
   * Returns the item's new state, or null when it was not `sending`.
   */
  markFailed(id: number, at: number, error: string, retryAt?: number | null): 'queued' | 'failed' | null {
    const row = this.stmt.byId.get(id) as Row | undefined;
    if (!row || row.state !== 'sending') return null;
    const message = error.slice(0, 500);
    if (retryAt === null || row.attempts >= this.maxAttempts) {
      this.stmt.fail.run({ id, at, error: message });
      return 'failed';
    }
    this.stmt.retry.run({ id, at, error: message, retryAt: retryAt ?? at + this.retryDelayMs(row.attempts) });
    return 'queued';
  }

  /** Cancels the still-`queued` items matching every given field (at least one). Returns how many. */
  cancel(filter: CancelFilter, at: number, reason = 'cancelled'): number {
    const columns = { alarm: 'alarm', kind: 'kind', household: 'household', to: 'recipient' } as const;
    const where: string[] = [];
    const params: Record<string, string | number> = { at, reason: reason.slice(0, 500) };
    for (const [key, column] of Object.entries(columns) as Array<[keyof CancelFilter, string]>) {
      const v = filter[key];
      if (v === undefined) continue;
      where.push(`${column} = @${key}`);
      params[key] = v;
    }
    if (where.length === 0) throw new RangeError('cancel needs at least one of alarm, kind, household, to');
    return this.db
      .prepare(`UPDATE outbound_messages SET state = 'cancelled', updated_at = @at, error = @reason WHERE state = 'queued' AND ${where.join(' AND ')}`)
      .run(params).changes;
  }

  /** Everything queued for an alarm, oldest first (who was texted and called, when, in what state). */
  listForAlarm(alarm: string): OutboundItem[] {
    return (this.stmt.forAlarm.all(alarm) as Row[]).map(toItem);
  }

  get(id: number): OutboundItem | undefined {
    const row = this.stmt.byId.get(id) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  getByKey(dedupeKey: string): OutboundItem | undefined {
    const row = this.stmt.byKey.get(dedupeKey) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  /**
   * At start: items left `sending` by a hub that died go back to `queued`, due now (their
   * attempt counts stay; one that already had `maxAttempts` becomes `failed`). Returns how many
   * were re-queued and given up.
   */
  recover(now: number): { requeued: number; failed: number } {
    return this.db.transaction(() => {
      const failed = this.stmt.recoverGiveUp.run({ now, max: this.maxAttempts }).changes;
      const requeued = this.stmt.recover.run({ now }).changes;
      return { requeued, failed };
    })();
  }

  /** When the earliest queued item is due (for the sender's timer); null when nothing is queued. */
  nextDueAt(): number | null {
    return (this.stmt.nextDue.get() as { at: number | null }).at;
  }

  /** Items per state (for metrics). */
  counts(): Record<OutboundState, number> {
    const out = Object.fromEntries(OUTBOUND_STATES.map((s) => [s, 0])) as Record<OutboundState, number>;
    for (const r of this.stmt.counts.all() as Array<{ state: OutboundState; n: number }>) out[r.state] = r.n;
    return out;
  }

  /**
   * Deletes finished items (sent, failed, cancelled) last changed before `before`. Returns how many.
   * A deleted item's dedupe key can be enqueued again: keep items longer than any alarm stays open.
   */
  prune(before: number): number {
    return this.stmt.prune.run(before).changes;
  }
}
