/**
 * The bridge's durable outbox: every event and telemetry reading is written here first (a small
 * SQLite file in the state directory, WAL, synchronous=FULL: on disk before the board is told
 * `OK`), then delivered to the hub in order and deleted once the hub acknowledged it (PUBACK).
 *
 * Bounded: when full, the oldest telemetry goes first, then the oldest events that do not bear
 * on an alarm (`test`, `fault`, `tamper`). Alarm-bearing events (`smoke`, `heat`, `co`, `panic`,
 * `clear`, `hush`) are never dropped: the bound may be exceeded rather than lose one.
 *
 * Event ids are `<outbox id>-<sequence>`: stable across bridge restarts (a redelivered event
 * keeps its id, so the hub's dedupe makes delivery exactly-once in effect).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DeviceEvent, EventType, TelemetryField } from '../hub/protocol/schema.ts';

/** Events that change or decide an alarm: never dropped. */
export const UNDROPPABLE_EVENTS: readonly EventType[] = ['smoke', 'heat', 'co', 'panic', 'clear', 'hush'];

export type OutboxChannel = 'event' | 'telemetry';

export interface OutboxEntry {
  seq: number;
  channel: OutboxChannel;
  /** The JSON payload, exactly as it will be published. */
  payload: string;
  createdAt: number;
}

export interface OutboxOptions {
  /** Largest number of entries kept (default 10 000). */
  maxEntries?: number;
  /** File name inside the state directory. */
  file?: string;
}

export class EventOutbox {
  readonly maxEntries: number;
  readonly outboxId: string;
  private readonly db: Database.Database;
  private readonly stmts: {
    insert: Database.Statement;
    after: Database.Statement;
    remove: Database.Statement;
    count: Database.Statement;
    oldestTelemetry: Database.Statement;
    oldestDroppable: Database.Statement;
    lastSeq: Database.Statement;
  };
  private dropped = { telemetry: 0, event: 0 };

  constructor(stateDir: string, opts: OutboxOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 10_000;
    mkdirSync(stateDir, { recursive: true });
    this.db = new Database(join(stateDir, opts.file ?? 'outbox.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL CHECK (channel IN ('event', 'telemetry')),
        event_type TEXT,
        droppable INTEGER NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS outbox_droppable ON outbox (droppable, channel, seq);
    `);
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'outbox_id'").get() as { value: string } | undefined;
    if (row) {
      this.outboxId = row.value;
    } else {
      this.outboxId = randomBytes(6).toString('hex');
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('outbox_id', ?)").run(this.outboxId);
    }
    this.stmts = {
      insert: this.db.prepare('INSERT INTO outbox (channel, event_type, droppable, payload, created_at) VALUES (?, ?, ?, ?, ?)'),
      after: this.db.prepare('SELECT seq, channel, payload, created_at AS createdAt FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      remove: this.db.prepare('DELETE FROM outbox WHERE seq = ?'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM outbox'),
      oldestTelemetry: this.db.prepare("SELECT seq FROM outbox WHERE droppable = 1 AND channel = 'telemetry' ORDER BY seq LIMIT 1"),
      oldestDroppable: this.db.prepare("SELECT seq FROM outbox WHERE droppable = 1 AND channel = 'event' ORDER BY seq LIMIT 1"),
      lastSeq: this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").pluck(),
    };
  }

  /** Records an event; returns it with its id. Durable when this returns. */
  addEvent(type: EventType, ts: number, level?: number): { entry: OutboxEntry; event: DeviceEvent; dropped: number } {
    return this.db.transaction(() => {
      const droppable = !UNDROPPABLE_EVENTS.includes(type);
      const dropped = this.makeRoom();
      // AUTOINCREMENT never reuses a sequence number, so the id is known before the insert.
      const seq = Number(this.stmts.lastSeq.get() ?? 0) + 1;
      const event: DeviceEvent = level === undefined ? { id: `${this.outboxId}-${seq}`, type, ts } : { id: `${this.outboxId}-${seq}`, type, ts, level };
      const payload = JSON.stringify(event);
      const info = this.stmts.insert.run('event', type, droppable ? 1 : 0, payload, ts);
      return { entry: { seq: Number(info.lastInsertRowid), channel: 'event' as const, payload, createdAt: ts }, event, dropped };
    })();
  }

  /** Records a telemetry reading (dropped first when the outbox is full). */
  addTelemetry(values: Partial<Record<TelemetryField, number>>, ts: number): { entry: OutboxEntry | null; dropped: number } {
    return this.db.transaction(() => {
      const dropped = this.makeRoom();
      const payload = JSON.stringify({ ts, ...values });
      if (this.size() >= this.maxEntries) {
        // Full of alarm events: this reading is the one that gives way.
        this.dropped.telemetry++;
        return { entry: null, dropped: dropped + 1 };
      }
      const info = this.stmts.insert.run('telemetry', null, 1, payload, ts);
      return { entry: { seq: Number(info.lastInsertRowid), channel: 'telemetry' as const, payload, createdAt: ts }, dropped };
    })();
  }

  /** Entries after `seq`, oldest first. */
  after(seq: number, limit: number): OutboxEntry[] {
    return this.stmts.after.all(seq, limit) as OutboxEntry[];
  }

  /** The hub acknowledged this entry. */
  ack(seq: number): void {
    this.stmts.remove.run(seq);
  }

  size(): number {
    return (this.stmts.count.get() as { n: number }).n;
  }

  droppedCounts(): { telemetry: number; event: number } {
    return { ...this.dropped };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Drops entries until one more fits; returns how many were dropped. */
  private makeRoom(): number {
    let dropped = 0;
    while (this.size() >= this.maxEntries) {
      const t = this.stmts.oldestTelemetry.get() as { seq: number } | undefined;
      if (t) {
        this.stmts.remove.run(t.seq);
        this.dropped.telemetry++;
        dropped++;
        continue;
      }
      const e = this.stmts.oldestDroppable.get() as { seq: number } | undefined;
      if (e) {
        this.stmts.remove.run(e.seq);
        this.dropped.event++;
        dropped++;
        continue;
      }
      // Only alarm-bearing events left: keep them all, over the bound.
      break;
    }
    return dropped;
  }
}
