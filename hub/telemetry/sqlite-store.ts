/**
 * The embedded telemetry store: its own SQLite file in the data directory (telemetry.db), a
 * bounded window (default 7 days, pruned periodically), for hubs without InfluxDB.
 *
 * `telemetry` is one wide row per (device, ts), clustered by its primary key, so a device's range
 * is one index range scan; a household is the union of its devices (`telemetry_devices`).
 * A write with an existing (device, ts) merges fields like InfluxDB does: replays never duplicate.
 */
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { join } from 'node:path';
import { migrate, openDatabase } from '../store/database.ts';
import { ERROR_CODES, ValidationError } from '../protocol/errors.ts';
import { TELEMETRY_FIELD_NAMES, type TelemetryField } from '../protocol/schema.ts';
import type { StoredPoint } from './point.ts';
import {
  StoreWriteError,
  type DeviceLatest,
  type DeviceSeries,
  type EventsQuery,
  type SeriesQuery,
  type StoredEvent,
  type TelemetryStore,
} from './telemetry-store.ts';

export const EMBEDDED_FILE = 'telemetry.db';
const DAY_MS = 86_400_000;

const MIGRATIONS = [
  `CREATE TABLE telemetry (
     device TEXT NOT NULL, ts INTEGER NOT NULL, team TEXT NOT NULL, household TEXT NOT NULL, kind TEXT NOT NULL,
     smoke REAL, temperature REAL, humidity REAL, co REAL, battery REAL, rssi REAL,
     PRIMARY KEY (device, ts)) WITHOUT ROWID;
   CREATE TABLE telemetry_devices (
     device TEXT PRIMARY KEY, household TEXT NOT NULL, team TEXT NOT NULL, kind TEXT NOT NULL) WITHOUT ROWID;
   CREATE INDEX telemetry_devices_household ON telemetry_devices (household);
   CREATE TABLE events (
     household TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL,
     ts INTEGER NOT NULL, team TEXT NOT NULL, fields_json TEXT NOT NULL,
     PRIMARY KEY (household, device, kind, type, state, ts)) WITHOUT ROWID;
   CREATE INDEX events_household_ts ON events (household, ts);
   CREATE INDEX events_ts ON events (ts);`,
  // The last batch committed from the hub's main thread (run, seq): written in the batch's own
  // transaction, so a restarted storage worker tells exactly which hand-off it already holds.
  `CREATE TABLE ingest_mark (id INTEGER PRIMARY KEY CHECK (id = 1), run TEXT NOT NULL, seq INTEGER NOT NULL);`,
];

/** Identifies a batch handed from the main thread to the storage worker. */
export interface IngestMark {
  run: string;
  seq: number;
}

export interface SqliteStoreOptions {
  dataDir: string;
  retentionDays: number;
  /** Milliseconds between prunes (default 1 h). */
  pruneEveryMs?: number;
  /** Current time, for pruning. */
  now: () => number;
  /**
   * A second, read-only connection to a file the writer (the storage worker) has already created:
   * queries only, no migrations, no pruning. WAL lets it read while the writer commits.
   */
  readOnly?: boolean;
}

export class SqliteTelemetryStore implements TelemetryStore {
  readonly kind = 'embedded' as const;
  private db: Db | null = null;
  private knownDevices = new Map<string, string>();
  private insertTelemetry!: Statement;
  private upsertDevice!: Statement;
  private insertEvent!: Statement;
  private setMark!: Statement;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SqliteStoreOptions) {}

  async start(): Promise<void> {
    if (this.db) return;
    if (this.opts.readOnly) {
      const reader = new Database(join(this.opts.dataDir, EMBEDDED_FILE), { readonly: true, fileMustExist: true });
      reader.pragma('busy_timeout = 5000');
      this.db = reader;
      return;
    }
    const db = openDatabase(this.opts.dataDir, EMBEDDED_FILE);
    // A bounded window of measurements, rebuilt by new readings: WAL + NORMAL is crash-safe
    // (a power cut may lose the last commits, never corrupt the file) and much faster.
    db.pragma('synchronous = NORMAL');
    migrate(db, 'telemetry-embedded', MIGRATIONS);
    this.db = db;
    const cols = TELEMETRY_FIELD_NAMES.join(', ');
    const merge = TELEMETRY_FIELD_NAMES.map((f) => `${f} = COALESCE(excluded.${f}, ${f})`).join(', ');
    this.insertTelemetry = db.prepare(
      `INSERT INTO telemetry (device, ts, team, household, kind, ${cols}) VALUES (?, ?, ?, ?, ?, ${TELEMETRY_FIELD_NAMES.map(() => '?').join(', ')})
       ON CONFLICT (device, ts) DO UPDATE SET team = excluded.team, household = excluded.household, kind = excluded.kind, ${merge}`,
    );
    this.upsertDevice = db.prepare(
      `INSERT INTO telemetry_devices (device, household, team, kind) VALUES (?, ?, ?, ?)
       ON CONFLICT (device) DO UPDATE SET household = excluded.household, team = excluded.team, kind = excluded.kind`,
    );
    this.insertEvent = db.prepare(
      `INSERT INTO events (household, device, kind, type, state, ts, team, fields_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (household, device, kind, type, state, ts) DO UPDATE SET team = excluded.team,
         fields_json = json_patch(fields_json, excluded.fields_json)`,
    );
    this.setMark = db.prepare('INSERT INTO ingest_mark (id, run, seq) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET run = excluded.run, seq = excluded.seq');
    for (const r of db.prepare('SELECT device, household, team, kind FROM telemetry_devices').all() as Array<Record<string, string>>) {
      this.knownDevices.set(r.device!, `${r.household}|${r.team}|${r.kind}`);
    }
    this.prune();
    const every = this.opts.pruneEveryMs ?? 3_600_000;
    this.pruneTimer = setInterval(() => this.prune(), every);
    this.pruneTimer.unref();
  }

  private requireDb(): Db {
    if (!this.db) throw new StoreWriteError('embedded telemetry store is closed', false, 'database');
    return this.db;
  }

  /** The last batch mark committed (null before the first). */
  lastMark(): IngestMark | null {
    const row = this.requireDb().prepare('SELECT run, seq FROM ingest_mark WHERE id = 1').get() as IngestMark | undefined;
    return row ?? null;
  }

  /** One transaction per batch; `mark` (the hand-off's identity) is recorded in the same transaction. */
  writeSync(points: StoredPoint[], mark?: IngestMark): void {
    const db = this.requireDb();
    if (this.opts.readOnly) throw new StoreWriteError('embedded telemetry store opened read-only', false, 'database');
    const values: Array<number | null> = new Array(TELEMETRY_FIELD_NAMES.length);
    db.transaction(() => {
      for (const p of points) {
        const t = p.tags;
        if (p.measurement === 'telemetry') {
          for (let i = 0; i < TELEMETRY_FIELD_NAMES.length; i++) {
            const v = p.fields[TELEMETRY_FIELD_NAMES[i]!];
            values[i] = typeof v === 'number' ? v : null;
          }
          this.insertTelemetry.run(t.device, p.ts, t.team, t.household, t.kind, ...values);
          const identity = `${t.household}|${t.team}|${t.kind}`;
          if (this.knownDevices.get(t.device) !== identity) {
            this.upsertDevice.run(t.device, t.household, t.team, t.kind);
            this.knownDevices.set(t.device, identity);
          }
        } else {
          this.insertEvent.run(t.household, t.device, t.kind, t.type ?? '', t.state ?? '', p.ts, t.team, JSON.stringify(p.fields));
        }
      }
      if (mark) this.setMark.run(mark.run, mark.seq);
    })();
  }

  async write(points: StoredPoint[]): Promise<void> {
    try {
      this.writeSync(points);
    } catch (err) {
      if (err instanceof StoreWriteError) throw err;
      throw new StoreWriteError(`embedded store write failed: ${(err as Error).message}`, true, 'database');
    }
  }

  /** Deletes what is older than the window. Returns the rows removed. */
  prune(): number {
    const db = this.db;
    if (!db || this.opts.readOnly) return 0;
    const cutoff = this.opts.now() - this.opts.retentionDays * DAY_MS;
    let removed = 0;
    const del = db.prepare('DELETE FROM telemetry WHERE device = ? AND ts < ?');
    // Device by device: each delete is a short range on the primary key, never a long lock.
    for (const device of this.knownDevices.keys()) removed += del.run(device, cutoff).changes;
    removed += db.prepare('DELETE FROM events WHERE ts < ?').run(cutoff).changes;
    return removed;
  }

  private devicesOf(household: string, device?: string): Array<{ device: string; kind: string }> {
    const db = this.requireDb();
    if (device !== undefined) {
      return db.prepare('SELECT device, kind FROM telemetry_devices WHERE household = ? AND device = ?').all(household, device) as Array<{
        device: string;
        kind: string;
      }>;
    }
    return db.prepare('SELECT device, kind FROM telemetry_devices WHERE household = ? ORDER BY device').all(household) as Array<{
      device: string;
      kind: string;
    }>;
  }

  async querySeries(q: SeriesQuery): Promise<DeviceSeries[]> {
    const db = this.requireDb();
    const field = checkedField(q.field);
    const every = Math.max(1, Math.trunc(q.every));
    // Bucket start floor(ts / every) * every (ts >= 0; % works on integers, like InfluxDB's GROUP BY time).
    const stmt = db.prepare(
      `SELECT ts - (ts % ?) AS t, AVG(${field}) AS mean, MIN(${field}) AS min, MAX(${field}) AS max
         FROM telemetry WHERE device = ? AND household = ? AND ts >= ? AND ts < ? AND ${field} IS NOT NULL
        GROUP BY t ORDER BY t`,
    );
    const out: DeviceSeries[] = [];
    for (const d of this.devicesOf(q.household, q.device)) {
      const rows = stmt.all(every, d.device, q.household, q.from, q.to) as Array<{ t: number; mean: number; min: number; max: number }>;
      if (rows.length > 0) out.push({ device: d.device, kind: d.kind, points: rows.map((r) => ({ t: r.t, mean: r.mean, min: r.min, max: r.max })) });
    }
    return out;
  }

  async latest(household: string, now: number, lookbackMs: number): Promise<DeviceLatest[]> {
    const db = this.requireDb();
    const since = now - lookbackMs;
    const perField = new Map<TelemetryField, Statement>();
    for (const f of TELEMETRY_FIELD_NAMES) {
      perField.set(f, db.prepare(`SELECT ts, ${f} AS v FROM telemetry WHERE device = ? AND ts >= ? AND ts <= ? AND ${f} IS NOT NULL ORDER BY ts DESC LIMIT 1`));
    }
    const out: DeviceLatest[] = [];
    for (const d of this.devicesOf(household)) {
      const entry: DeviceLatest = { device: d.device, kind: d.kind, at: 0, values: {} };
      for (const [f, stmt] of perField) {
        const row = stmt.get(d.device, since, now) as { ts: number; v: number } | undefined;
        if (row) {
          entry.values[f] = { value: row.v, at: row.ts };
          if (row.ts > entry.at) entry.at = row.ts;
        }
      }
      if (entry.at > 0) out.push(entry);
    }
    return out;
  }

  async queryEvents(q: EventsQuery): Promise<StoredEvent[]> {
    const db = this.requireDb();
    const rows = db
      .prepare('SELECT ts, device, kind, type, state, fields_json FROM events WHERE household = ? AND ts >= ? AND ts < ? ORDER BY ts, device, type LIMIT ?')
      .all(q.household, q.from, q.to, q.limit) as Array<{ ts: number; device: string; kind: string; type: string; state: string; fields_json: string }>;
    return rows.map((r) => ({
      at: r.ts,
      device: r.device,
      kind: r.kind,
      type: r.type,
      state: r.state === '' ? null : r.state,
      fields: JSON.parse(r.fields_json) as Record<string, number | string>,
    }));
  }

  /** Rows held (for tests and the bench). */
  count(measurement: 'telemetry' | 'events'): number {
    return (
      this.requireDb()
        .prepare(`SELECT COUNT(*) AS n FROM ${measurement === 'telemetry' ? 'telemetry' : 'events'}`)
        .get() as { n: number }
    ).n;
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    this.db?.close();
    this.db = null;
  }
}

function checkedField(f: string): TelemetryField {
  if (!(TELEMETRY_FIELD_NAMES as string[]).includes(f)) throw new ValidationError(ERROR_CODES.BAD_FIELD, `unknown telemetry field ${f}`);
  return f as TelemetryField;
}
