/**
 * InfluxDB 1.x telemetry store (node-influx 5.12; Debian's influxd 1.6.7 is the reference).
 *
 * On start, idempotently: database, retention policies `smokehub_raw` (default, raw points) and
 * `smokehub_rollup`, and continuous queries that keep 5-minute mean/min/max in the rollup policy.
 * Every write uses precision 'ms' (a bare number would be read as nanoseconds).
 *
 * The `--influx` URL is parsed in influx-target.ts; /ping, /write and what a failure means
 * (config error, worth retrying) are in influx-http.ts; this file sets up and queries.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { InfluxDB, escape as influxEscape } from 'influx';
import { ERROR_CODES, SmokehubError, ValidationError } from '../protocol/errors.ts';
import { TELEMETRY_FIELD_NAMES, type TelemetryField } from '../protocol/schema.ts';
import { linePoint, type StoredPoint } from './point.ts';
import { pingInflux, postInflux, setupError, writeError } from './influx-http.ts';
import type { InfluxTarget } from './influx-target.ts';
import {
  StoreWriteError,
  type DeviceLatest,
  type DeviceSeries,
  type EventsQuery,
  type SeriesQuery,
  type StoredEvent,
  type TelemetryStore,
} from './telemetry-store.ts';

export const RAW_RP = 'smokehub_raw';
export const ROLLUP_RP = 'smokehub_rollup';
export const ROLLUP_MEASUREMENTS = { telemetry: 'telemetry_5m', events: 'events_5m' } as const;
const ROLLUP_EVERY_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

// Kept here too: this was the module of the target (config, worker protocol, tests import it).
export { parseInfluxUrl, type InfluxTarget } from './influx-target.ts';

export interface InfluxStoreOptions {
  target: InfluxTarget;
  rawRetentionDays: number;
  rollupRetentionDays: number;
  /** Per-request timeout (ms). */
  requestTimeoutMs?: number;
  now: () => number;
}

/** A connection failure that is worth waiting out (down, restarting, slow). */
export function isUnavailable(err: unknown): boolean {
  return err instanceof SmokehubError && err.code === ERROR_CODES.UNAVAILABLE;
}

const NO_BACKOFF = { getDelay: () => 0, next: () => NO_BACKOFF, reset: () => NO_BACKOFF };

export class InfluxTelemetryStore implements TelemetryStore {
  readonly kind = 'influxdb' as const;
  readonly influx: InfluxDB;
  private ready = false;
  /** Keep-alive connections for /write (one batch at a time from the outbox writer). */
  private readonly agent: HttpAgent;

  constructor(private readonly opts: InfluxStoreOptions) {
    const t = opts.target;
    this.influx = new InfluxDB({
      protocol: t.protocol,
      host: t.host,
      port: t.port,
      path: t.path,
      database: t.database,
      ...(t.username !== null ? { username: t.username, password: t.password ?? '' } : {}),
      // The outbox owns retries and backoff; the pool must neither retry nor park the host.
      pool: { maxRetries: 0, requestTimeout: opts.requestTimeoutMs ?? 10_000, backoff: NO_BACKOFF },
    });
    this.agent = t.protocol === 'https' ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new HttpAgent({ keepAlive: true, maxSockets: 2 });
  }

  private get timeoutMs(): number {
    return this.opts.requestTimeoutMs ?? 10_000;
  }
  get database(): string {
    return this.opts.target.database;
  }
  get isReady(): boolean {
    return this.ready;
  }

  /**
   * Checks the server and creates database, retention policies and continuous queries.
   * Throws ConfigError when the URL is not an InfluxDB 1.x or the credentials are refused
   * (retrying cannot help), SmokehubError `unavailable` when it cannot be reached (it may come back).
   */
  async start(): Promise<void> {
    const t = this.opts.target;
    await pingInflux(t, this.timeoutMs);
    const db = t.database;
    let names: string[];
    try {
      names = await this.influx.getDatabaseNames();
    } catch (err) {
      throw setupError(t, err, 'list databases');
    }
    if (!names.includes(db)) {
      try {
        await this.influx.createDatabase(db);
      } catch (err) {
        throw setupError(t, err, `create database "${db}" (create it, or give the user admin rights)`);
      }
    }
    try {
      const rps = await this.influx.showRetentionPolicies(db);
      const want = [
        { name: RAW_RP, duration: `${this.opts.rawRetentionDays}d`, hours: this.opts.rawRetentionDays * 24, isDefault: true },
        { name: ROLLUP_RP, duration: `${this.opts.rollupRetentionDays}d`, hours: this.opts.rollupRetentionDays * 24, isDefault: false },
      ];
      for (const w of want) {
        const have = rps.find((r) => r.name === w.name);
        if (!have) {
          await this.influx.createRetentionPolicy(w.name, { database: db, duration: w.duration, replication: 1, isDefault: w.isDefault });
        } else if (durationHours(have.duration) !== w.hours || (w.isDefault && !have.default)) {
          await this.influx.alterRetentionPolicy(w.name, { database: db, duration: w.duration, replication: 1, isDefault: w.isDefault });
        }
      }
      const cqs = await this.influx.showContinousQueries(db);
      const haveCq = new Set(cqs.map((c) => c.name));
      const qdb = influxEscape.quoted(db);
      const cq = {
        cq_telemetry_5m: `SELECT mean(*), min(*), max(*) INTO ${qdb}."${ROLLUP_RP}"."${ROLLUP_MEASUREMENTS.telemetry}" FROM ${qdb}."${RAW_RP}"."telemetry" GROUP BY time(5m), *`,
        cq_events_5m: `SELECT count("alarm") AS "transitions", count("id") AS "device_events" INTO ${qdb}."${ROLLUP_RP}"."${ROLLUP_MEASUREMENTS.events}" FROM ${qdb}."${RAW_RP}"."events" GROUP BY time(5m), *`,
      };
      for (const [name, query] of Object.entries(cq)) {
        if (!haveCq.has(name)) await this.influx.createContinuousQuery(name, query, db);
      }
    } catch (err) {
      throw setupError(t, err, 'set up retention policies and continuous queries');
    }
    this.ready = true;
  }

  async write(points: StoredPoint[]): Promise<void> {
    if (points.length === 0) return;
    await this.writeLines(points.map(linePoint));
  }

  /**
   * Writes finished lines (`linePoint`, ms precision) to the raw retention policy: the body is the
   * lines joined, nothing re-serialised, so a replay from the outbox sends the same bytes.
   */
  async writeLines(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    if (!this.ready) {
      try {
        await this.start();
      } catch (err) {
        const e = err as SmokehubError;
        throw new StoreWriteError(e.message, true, e.code === ERROR_CODES.BAD_CONFIG ? 'auth' : 'unreachable');
      }
    }
    try {
      await postInflux(
        this.opts.target,
        this.agent,
        `/write?db=${encodeURIComponent(this.opts.target.database)}&rp=${RAW_RP}&precision=ms`,
        lines.join('\n'),
        this.timeoutMs,
      );
    } catch (err) {
      const e = writeError(err);
      // Database or retention policy gone (dropped by hand): set them up again before the retry.
      if (e.reason === 'database') this.ready = false;
      throw e;
    }
  }

  private async queryRaw(statements: string[]): Promise<RawResult[]> {
    let body: { results?: RawResult[] };
    try {
      body = (await this.influx.queryRaw(statements, { database: this.opts.target.database, precision: 'ms' })) as { results?: RawResult[] };
    } catch (err) {
      throw new SmokehubError(ERROR_CODES.UNAVAILABLE, `telemetry store unavailable: ${(err as Error).message}`);
    }
    const results = body.results ?? [];
    for (const r of results) if (r.error) throw new SmokehubError(ERROR_CODES.UNAVAILABLE, `InfluxDB query failed: ${r.error}`);
    return results;
  }

  async querySeries(q: SeriesQuery): Promise<DeviceSeries[]> {
    const f = checkedField(q.field);
    const rollup = q.from < this.opts.now() - this.opts.rawRetentionDays * DAY_MS;
    const every = rollup ? Math.max(ROLLUP_EVERY_MS, q.every) : q.every;
    const source = rollup ? `"${ROLLUP_RP}"."${ROLLUP_MEASUREMENTS.telemetry}"` : `"${RAW_RP}"."telemetry"`;
    const [mean, min, max] = rollup ? [`"mean_${f}"`, `"min_${f}"`, `"max_${f}"`] : [`"${f}"`, `"${f}"`, `"${f}"`];
    const where = [`"household" = ${influxEscape.stringLit(q.household)}`, `time >= ${Math.trunc(q.from)}ms`, `time < ${Math.trunc(q.to)}ms`];
    if (q.device !== undefined) where.push(`"device" = ${influxEscape.stringLit(q.device)}`);
    const sql = `SELECT MEAN(${mean}) AS "mean", MIN(${min}) AS "min", MAX(${max}) AS "max" FROM ${source} WHERE ${where.join(' AND ')} GROUP BY time(${Math.trunc(every)}ms), "device", "kind" fill(none)`;
    const [result] = await this.queryRaw([sql]);
    const out: DeviceSeries[] = [];
    for (const s of result?.series ?? []) {
      const col = columnIndex(s.columns);
      const points = s.values
        .filter((v) => v[col.mean!] !== null)
        .map((v) => ({ t: v[col.time!] as number, mean: v[col.mean!] as number, min: v[col.min!] as number, max: v[col.max!] as number }));
      if (points.length > 0) out.push({ device: s.tags?.device ?? '', kind: s.tags?.kind ?? '', points });
    }
    out.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    return out;
  }

  async latest(household: string, now: number, lookbackMs: number): Promise<DeviceLatest[]> {
    const where = `"household" = ${influxEscape.stringLit(household)} AND time >= ${Math.trunc(now - lookbackMs)}ms AND time <= ${Math.trunc(now)}ms`;
    const statements = TELEMETRY_FIELD_NAMES.map((f) => `SELECT LAST("${f}") AS "v" FROM "${RAW_RP}"."telemetry" WHERE ${where} GROUP BY "device", "kind"`);
    const results = await this.queryRaw(statements);
    const byDevice = new Map<string, DeviceLatest>();
    results.forEach((r, i) => {
      const field = TELEMETRY_FIELD_NAMES[i]!;
      for (const s of r.series ?? []) {
        const device = s.tags?.device ?? '';
        const row = s.values[0];
        if (!row) continue;
        const col = columnIndex(s.columns);
        const at = row[col.time!] as number;
        const value = row[col.v!];
        if (typeof value !== 'number') continue;
        let entry = byDevice.get(device);
        if (!entry) {
          entry = { device, kind: s.tags?.kind ?? '', at: 0, values: {} };
          byDevice.set(device, entry);
        }
        entry.values[field] = { value, at };
        if (at > entry.at) entry.at = at;
      }
    });
    return [...byDevice.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }

  async queryEvents(q: EventsQuery): Promise<StoredEvent[]> {
    const sql = `SELECT * FROM "${RAW_RP}"."events" WHERE "household" = ${influxEscape.stringLit(q.household)} AND time >= ${Math.trunc(q.from)}ms AND time < ${Math.trunc(q.to)}ms ORDER BY time ASC LIMIT ${Math.max(1, Math.trunc(q.limit))}`;
    const [result] = await this.queryRaw([sql]);
    const out: StoredEvent[] = [];
    const tagNames = new Set(['time', 'team', 'household', 'device', 'kind', 'type', 'state']);
    for (const s of result?.series ?? []) {
      const col = columnIndex(s.columns);
      for (const v of s.values) {
        const fields: Record<string, number | string> = {};
        s.columns.forEach((c, i) => {
          if (!tagNames.has(c) && v[i] !== null && v[i] !== undefined) fields[c] = v[i] as number | string;
        });
        out.push({
          at: v[col.time!] as number,
          device: String(v[col.device!] ?? ''),
          kind: String(v[col.kind!] ?? ''),
          type: String(v[col.type!] ?? ''),
          state: col.state !== undefined && v[col.state] ? String(v[col.state]) : null,
          fields,
        });
      }
    }
    return out;
  }

  /** Number of stored points of a measurement (tests, bench). */
  async countPoints(measurement: 'telemetry' | 'events', field = measurement === 'telemetry' ? 'battery' : 'id'): Promise<number> {
    const [r] = await this.queryRaw([`SELECT COUNT("${field}") AS "n" FROM "${RAW_RP}"."${measurement}"`]);
    const row = r?.series?.[0]?.values[0];
    return row ? Number(row[1]) : 0;
  }

  async close(): Promise<void> {
    // node-influx keeps no open sockets between requests; the /write agent does.
    this.agent.destroy();
  }
}

interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
interface RawResult {
  statement_id?: number;
  series?: RawSeries[];
  error?: string;
}

function columnIndex(columns: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  columns.forEach((c, i) => (m[c] = i));
  return m;
}

/** "720h0m0s" → 720. */
function durationHours(d: string): number {
  if (d === '0s' || d === 'INF') return Infinity;
  let h = 0;
  const m = /(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?/.exec(d);
  if (m) h = Number(m[1] ?? 0) + Number(m[2] ?? 0) / 60 + Number(m[3] ?? 0) / 3600;
  return h;
}

function checkedField(f: string): TelemetryField {
  if (!(TELEMETRY_FIELD_NAMES as string[]).includes(f)) throw new ValidationError(ERROR_CODES.BAD_FIELD, `unknown telemetry field ${f}`);
  return f as TelemetryField;
}
