/**
 * InfluxDB 1.x telemetry store (node-influx 5.12; Debian's influxd 1.6.7 is the reference).
 *
 * On start, idempotently: database, retention policies `smokehub_raw` (default, raw points) and
 * `smokehub_rollup`, and continuous queries that keep 5-minute mean/min/max in the rollup policy.
 * Every write uses precision 'ms' (a bare number would be read as nanoseconds).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InfluxDB, escape as influxEscape } from 'influx';
import { ConfigError, ERROR_CODES, SmokehubError, ValidationError } from '../protocol/errors.ts';
import { TELEMETRY_FIELD_NAMES, type TelemetryField } from '../protocol/schema.ts';
import { linePoint, type StoredPoint } from './point.ts';
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

export interface InfluxTarget {
  protocol: 'http' | 'https';
  host: string;
  port: number;
  /** Path prefix when InfluxDB sits behind a reverse proxy ('' normally). */
  path: string;
  database: string;
  username: string | null;
  password: string | null;
  /** The URL without its password, for logs and errors. */
  display: string;
}

/** Parses `http://[user:pass@]HOST:PORT/DB`; user/password in the URL win over the separate settings. */
export function parseInfluxUrl(url: string, user: string | null = null, password: string | null = null): InfluxTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`influx URL "${url}" is not a URL; expected http://[user:pass@]HOST:PORT/DB`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`influx URL must start with http:// or https://, got "${u.protocol}"`);
  }
  const segments = u.pathname
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  const database = segments.pop();
  if (!database) throw new ConfigError(`influx URL "${redact(u)}" names no database; expected http://HOST:PORT/DB (e.g. http://127.0.0.1:8086/smokehub)`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(database)) throw new ConfigError(`influx database name "${database}" must be letters, digits, _ . - (at most 64)`);
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  const username = u.username ? decodeURIComponent(u.username) : user;
  const pass = u.password ? decodeURIComponent(u.password) : password;
  return {
    protocol,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : protocol === 'https' ? 443 : 8086,
    path: segments.length ? `/${segments.join('/')}` : '',
    database,
    username: username || null,
    password: pass ?? null,
    display: redact(u),
  };
}

function redact(u: URL): string {
  const c = new URL(u.href);
  c.password = '';
  return c.href.replace(/\/$/, '');
}

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
    await this.ping();
    const db = t.database;
    let names: string[];
    try {
      names = await this.influx.getDatabaseNames();
    } catch (err) {
      throw this.setupError(err, 'list databases');
    }
    if (!names.includes(db)) {
      try {
        await this.influx.createDatabase(db);
      } catch (err) {
        throw this.setupError(err, `create database "${db}" (create it, or give the user admin rights)`);
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
      throw this.setupError(err, 'set up retention policies and continuous queries');
    }
    this.ready = true;
  }

  /** GET /ping: tells "nothing there" (unavailable) from "something that is not InfluxDB 1.x" (config). */
  private ping(): Promise<void> {
    const t = this.opts.target;
    return new Promise((resolve, reject) => {
      const req = (t.protocol === 'https' ? httpsRequest : httpRequest)(
        { host: t.host, port: t.port, path: `${t.path}/ping`, method: 'GET', timeout: this.opts.requestTimeoutMs ?? 10_000 },
        (res) => {
          res.resume();
          const version = res.headers['x-influxdb-version'];
          if (res.statusCode === 204 && typeof version === 'string') {
            if (/^v?2\./.test(version)) {
              reject(new ConfigError(`${t.display} is InfluxDB ${version}; smokehub needs the InfluxDB 1.x HTTP API`));
            } else resolve();
            return;
          }
          if ((res.statusCode ?? 0) >= 500) {
            reject(new SmokehubError(ERROR_CODES.UNAVAILABLE, `InfluxDB at ${t.display} answered /ping with HTTP ${res.statusCode}`));
            return;
          }
          reject(
            new ConfigError(
              `${t.display} is not an InfluxDB 1.x server (/ping answered HTTP ${res.statusCode}${version ? '' : ' without X-Influxdb-Version'}); check --influx`,
            ),
          );
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? `host "${t.host}" not found` : (err.code ?? err.message);
        reject(new SmokehubError(ERROR_CODES.UNAVAILABLE, `InfluxDB at ${t.display} is unreachable (${why})`));
      });
      req.end();
    });
  }

  private setupError(err: unknown, what: string): SmokehubError {
    const t = this.opts.target;
    const status = statusOf(err);
    if (status === 401 || status === 403) {
      const who = t.username === null ? 'no user name was given' : `user "${t.username}"`;
      return new ConfigError(
        `InfluxDB at ${t.display} refused to ${what}: ${status === 401 ? 'authentication failed' : 'not authorized'} (${who}); check the user and password in --influx or SMOKEHUB_INFLUX_USER/SMOKEHUB_INFLUX_PASSWORD`,
      );
    }
    if (status !== null && status >= 400 && status < 500) {
      return new ConfigError(`InfluxDB at ${t.display} refused to ${what}: ${(err as Error).message}`);
    }
    return new SmokehubError(ERROR_CODES.UNAVAILABLE, `InfluxDB at ${t.display} could not ${what}: ${(err as Error).message}`);
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
      await this.post(`/write?db=${encodeURIComponent(this.opts.target.database)}&rp=${RAW_RP}&precision=ms`, lines.join('\n'));
    } catch (err) {
      throw this.writeError(err);
    }
  }

  /** POST to InfluxDB; rejects with `{ res: { statusCode } }` on a non-2xx answer (like node-influx). */
  private post(path: string, body: string): Promise<void> {
    const t = this.opts.target;
    const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) };
    if (t.username !== null) headers.authorization = `Basic ${Buffer.from(`${t.username}:${t.password ?? ''}`).toString('base64')}`;
    return new Promise((resolve, reject) => {
      const req = (t.protocol === 'https' ? httpsRequest : httpRequest)(
        { host: t.host, port: t.port, path: `${t.path}${path}`, method: 'POST', headers, agent: this.agent, timeout: this.opts.requestTimeoutMs ?? 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve();
            const text = Buffer.concat(chunks).toString('utf8').slice(0, 500);
            let message = text;
            try {
              message = (JSON.parse(text) as { error?: string }).error ?? text;
            } catch {
              // not JSON: keep the text
            }
            reject(Object.assign(new Error(`${status}: ${message}`), { res: { statusCode: status } }));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('Request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  private writeError(err: unknown): StoreWriteError {
    const e = err as Error & { code?: string };
    const status = statusOf(err);
    if (status === 400) return new StoreWriteError(`InfluxDB rejected points: ${e.message}`, false, 'rejected');
    if (status === 401 || status === 403) return new StoreWriteError(`InfluxDB refused the write: ${e.message}`, true, 'auth');
    if (status === 404) {
      // Database or retention policy gone (dropped by hand): set them up again before the retry.
      this.ready = false;
      return new StoreWriteError(`InfluxDB: ${e.message}`, true, 'database');
    }
    if (status !== null) return new StoreWriteError(`InfluxDB write failed: ${e.message}`, true, 'server');
    if (/timed out/i.test(e.message) || e.code === 'ETIMEDOUT' || e.code === 'ESOCKETTIMEDOUT') {
      return new StoreWriteError(`InfluxDB write timed out`, true, 'timeout');
    }
    if (e.constructor?.name === 'ServiceNotAvailableError') {
      return new StoreWriteError(`InfluxDB unavailable: ${e.message}`, true, 'server');
    }
    return new StoreWriteError(`InfluxDB unreachable: ${e.code ?? e.message}`, true, 'unreachable');
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

function statusOf(err: unknown): number | null {
  const res = (err as { res?: { statusCode?: number } } | null)?.res;
  return typeof res?.statusCode === 'number' ? res.statusCode : null;
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
