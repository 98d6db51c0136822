/**
 * The telemetry extension: bus events → points → storage worker → (outbox → InfluxDB) or
 * (embedded SQLite store), the query API, and its metrics.
 *
 * The main thread carries alarms, so it only builds and batches points: bus listeners give each
 * reading its timestamp (reading-stamps.ts: one point per reading; a different value at a `ts` the
 * device already used is refused, `duplicate_ts`) and add it to a columnar batch (no object per
 * reading); every ~100 ms (or 2,000 points) the batch is posted to a `worker_threads` worker
 * (telemetry-worker.ts) that owns the durable outbox,
 * the InfluxDB writer and the embedded store's writes, each with its own SQLite connection.
 * Queries stay on the main thread: a read-only connection to the embedded store (WAL: readers never
 * wait for the writer), or HTTP queries to InfluxDB.
 *
 * Start-up with --influx:
 *   - a malformed URL, a server that is not InfluxDB 1.x, or refused credentials → ConfigError:
 *     the hub does not start and says why, once (retrying cannot fix configuration);
 *   - InfluxDB unreachable (down, still booting after a power cut) → one clear error in the log,
 *     `smokehub_telemetry_store_up 0`, and the hub runs: the alarm path never depends on InfluxDB.
 *     Points wait in the outbox; the writer sets up the database as soon as InfluxDB answers.
 */
import type { HubConfig } from '../config/config.ts';
import type { DeviceRef, HubContext, HubExtension } from '../app/context.ts';
import { ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import type { AlarmView, DeviceEvent, Issue, TelemetryReading } from '../protocol/schema.ts';
import { topics } from '../protocol/topics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { InfluxTelemetryStore, parseInfluxUrl } from './influx-store.ts';
import { alarmTransitionPoint, deviceEventPoint, EventTimeSeparator, type Priority } from './point.ts';
import { ReadingStamper } from './reading-stamps.ts';
import { SqliteTelemetryStore } from './sqlite-store.ts';
import { registerTelemetryRoutes } from './telemetry-routes.ts';
import type { TelemetryStore } from './telemetry-store.ts';
import { TelemetryWorkerClient } from './telemetry-worker-client.ts';
import type { WorkerStoreConfig } from './worker-protocol.ts';

const DAY_MS = 86_400_000;
const PRIORITY_NAMES: Record<Priority, string> = { 0: 'telemetry', 1: 'event', 2: 'alarm' };

export interface TelemetryExtensionOptions {
  /** Outbox writer batch bounds (defaults: 5,000 points, 1,000 ms). */
  batchSize?: number;
  lingerMs?: number;
  /** How long stop() keeps committing and draining the outbox (default 3,000 ms). */
  stopFlushMs?: number;
  /** Outbox retry backoff bounds (defaults 250 ms .. 10 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** InfluxDB request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Main-thread batch bounds (defaults 100 ms, 2,000 points). */
  flushMs?: number;
  maxBatch?: number;
  /** Storage worker restart backoff (defaults 100 ms .. 5 s). */
  restartMinMs?: number;
  restartMaxMs?: number;
  /** Points held on the main thread while storage is behind (default 200,000); telemetry is held at the broker from half of it. */
  maxQueued?: number;
}

export class TelemetryExtension implements HubExtension {
  readonly name = 'telemetry';
  private ctx: HubContext | null = null;
  private reader: TelemetryStore | null = null;
  private client: TelemetryWorkerClient | null = null;
  private readonly separator = new EventTimeSeparator();
  private readonly stamper = new ReadingStamper();
  private listeners: Array<() => void> = [];

  constructor(
    private readonly config: HubConfig,
    private readonly opts: TelemetryExtensionOptions = {},
  ) {}

  /** The store queries go to (tests, bench). */
  get activeStore(): TelemetryStore | null {
    return this.reader;
  }
  /** The storage worker's client (tests, bench): depth, crashes, the thread. */
  get worker(): TelemetryWorkerClient | null {
    return this.client;
  }
  /** Sends what is batched to the worker and waits until it is committed (tests, bench). */
  async commitQueued(deadlineMs = 5000): Promise<boolean> {
    return this.client ? this.client.commitAll(deadlineMs) : true;
  }

  /**
   * Back-pressure: from half of the main thread's bound, telemetry is held at the broker — not
   * acknowledged, so devices keep it — until the worker has caught up to a quarter. What the hub
   * acknowledged is then never dropped for lack of room (the memory bound stays as a last resort).
   */
  private holdAtBrokerWhenBehind(ctx: HubContext, client: TelemetryWorkerClient, log: HubContext['logger']): void {
    const bound = this.opts.maxQueued ?? 200_000;
    let holding = false;
    ctx.ingress.holdTelemetryWhile(() => {
      const waiting = client.unconfirmed();
      const next = holding ? waiting > bound / 4 : waiting > bound / 2;
      if (next !== holding) {
        if (next) log.warn({ waiting, bound }, 'telemetry storage is behind: telemetry is held at the broker (not acknowledged; devices keep it)');
        else log.info({ waiting }, 'telemetry storage caught up: telemetry flows again');
      }
      holding = next;
      return holding;
    });
  }

  /**
   * The `telemetry` bus listener: each reading gets its timestamp from the stamper (one point per
   * reading, reading-stamps.ts), then goes into the batch. A reading at a `ts` the device already
   * used with a different value is refused like any rejected input: logged (rate-limited), counted
   * in `smokehub_rejects_total{reason="duplicate_ts"}`, explained on the device's `error` topic.
   */
  private telemetryListener(ctx: HubContext, client: TelemetryWorkerClient, log: HubContext['logger']) {
    const m = ctx.metrics;
    const rejects = m.counter('smokehub_rejects_total', 'Rejected inputs by reason (error code) and channel');
    const moved = m.counter(
      'smokehub_telemetry_stamps_moved_total',
      "readings without ts stamped after the device's previous timestamp (arrival millisecond taken)",
    );
    const redeliveries = m.counter('smokehub_telemetry_redeliveries_total', 'readings at a ts the device already used, with the same values (stored once)');
    const merged = m.counter('smokehub_telemetry_merged_total', 'readings at a ts the device already used that only added fields (merged)');
    const rejectLog = new RateLimitedLog(log, ctx.clock, 60_000);
    const stamper = this.stamper;
    const refuse = (ref: DeviceRef, ts: number): void => {
      const fields = stamper.conflictFields.join(', ');
      const issue: Issue = {
        code: ERROR_CODES.DUPLICATE_TS,
        field: 'ts',
        message: `a reading at ts ${ts} with a different ${fields} was already received; the first one is kept and this one is not stored`,
      };
      const topic = topics.device(ref.household, ref.device, 'telemetry');
      rejects.inc({ reason: issue.code, channel: 'telemetry' });
      rejectLog.warn(`${ref.device}|telemetry|${issue.code}`, { device: ref.device, household: ref.household, topic, issues: [issue] }, 'rejected input');
      ctx.mqtt.publish(topics.device(ref.household, ref.device, 'error'), JSON.stringify({ topic, error: issue.code, issues: [issue], at: ctx.clock.now() }), {
        qos: 0,
      });
    };
    return (ref: DeviceRef, reading: TelemetryReading, receivedAt: number): void => {
      try {
        const outcome = stamper.stamp(ref.device, reading, receivedAt);
        if (outcome === 'conflict') return refuse(ref, stamper.ts);
        if (outcome === 'moved') moved.inc();
        else if (outcome === 'duplicate') redeliveries.inc();
        else if (outcome === 'merged') merged.inc();
        // The builder stores a reading at its own `ts`, else at the time given: the stamp.
        client.addReading(ref, reading, stamper.ts);
      } catch (err) {
        log.error({ err: (err as Error).message, device: ref.device }, 'telemetry point not built');
      }
    };
  }

  async start(ctx: HubContext): Promise<void> {
    this.ctx = ctx;
    const config = this.config;
    const log = ctx.logger.child({ module: 'telemetry' });
    const m = ctx.metrics;
    const batchSize = m.histogram('smokehub_telemetry_batch_size', 'points per telemetry store write', [1, 10, 100, 500, 1000, 2000, 5000, 10000]);
    const writeSeconds = m.histogram(
      'smokehub_telemetry_write_seconds',
      'telemetry store write latency (seconds)',
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    const writeErrors = m.counter('smokehub_telemetry_write_errors_total', 'failed telemetry store writes, by reason');
    const dropped = m.counter('smokehub_telemetry_dropped_total', 'points dropped because the outbox was full, by priority');
    const ingested = m.counter('smokehub_telemetry_points_total', 'points accepted for storage, by measurement');
    const restarts = m.counter('smokehub_telemetry_worker_restarts_total', 'telemetry storage worker crashes (each is followed by a restart)');
    const up = m.gauge('smokehub_telemetry_store_up', 'telemetry store reachable (1) or not (0)');
    m.gauge('smokehub_outbox_depth', 'telemetry points accepted but not yet in the store', () => this.client?.depth() ?? 0);
    m.gauge('smokehub_outbox_max_points', 'bound of the telemetry outbox', () => this.client?.maxPoints ?? 0);
    m.gauge('smokehub_outbox_nearly_full', '1 when the outbox is 80 % full (until it falls below 40 %)', () => (this.client?.nearlyFull ? 1 : 0));

    const influx = config.influxUrl ? parseInfluxUrl(config.influxUrl, config.influxUser, config.influxPassword) : null;
    const store: WorkerStoreConfig = influx
      ? {
          kind: 'influxdb',
          target: influx,
          rawRetentionDays: config.rawRetentionDays,
          rollupRetentionDays: config.rollupRetentionDays,
          requestTimeoutMs: this.opts.requestTimeoutMs,
          outboxMaxPoints: config.outboxMaxPoints,
          batchSize: this.opts.batchSize,
          lingerMs: this.opts.lingerMs,
          retryMinMs: this.opts.retryMinMs,
          retryMaxMs: this.opts.retryMaxMs,
        }
      : { kind: 'embedded', retentionDays: config.embeddedRetentionDays };

    const client = new TelemetryWorkerClient({
      config: { dataDir: config.dataDir, store },
      clockOffset: () => ctx.clock.now() - Date.now(),
      logger: log,
      flushMs: this.opts.flushMs,
      maxBatch: this.opts.maxBatch,
      restartMinMs: this.opts.restartMinMs,
      restartMaxMs: this.opts.restartMaxMs,
      maxQueued: this.opts.maxQueued,
      events: {
        sealed: (readings, events) => {
          if (readings > 0) ingested.inc({ measurement: 'telemetry' }, readings);
          if (events > 0) ingested.inc({ measurement: 'events' }, events);
        },
        committed: (size, seconds) => {
          if (influx) return; // InfluxDB: a "store write" is the outbox writer's write, below.
          batchSize.observe(size);
          writeSeconds.observe(seconds);
          up.set(1);
        },
        written: (size, seconds) => {
          batchSize.observe(size);
          writeSeconds.observe(seconds);
          up.set(1);
        },
        writeFailed: (reason) => {
          writeErrors.inc({ reason });
          if (reason !== 'rejected') up.set(0);
        },
        commitFailed: () => {
          writeErrors.inc({ reason: 'database' });
          if (!influx) up.set(0);
        },
        dropped: (count, priority, where) => {
          dropped.inc({ priority: PRIORITY_NAMES[priority] }, count);
          const line = { count, priority: PRIORITY_NAMES[priority], depth: this.client?.depth() ?? 0 };
          if (where === 'memory') log.error(line, 'telemetry memory queue full while storage cannot keep up: dropped points');
          else if (priority === 0) log.warn(line, 'telemetry outbox full: dropped the oldest telemetry');
          else log.error(line, 'telemetry outbox full: dropped events');
        },
        crashed: () => restarts.inc(),
        ready: (isUp, problem, restart) => {
          if (!influx) {
            up.set(1);
            return;
          }
          up.set(isUp ? 1 : 0);
          if (!isUp) log.error({ influx: influx.display, err: problem }, `${problem}: the hub runs; telemetry waits in the outbox until InfluxDB answers`);
          else if (!restart)
            log.info({ influx: influx.display, database: influx.database }, 'telemetry goes to InfluxDB (through the outbox, in the storage worker)');
        },
      },
    });
    await client.start();
    this.client = client;
    this.holdAtBrokerWhenBehind(ctx, client, log);

    let lookbackMs: number;
    if (influx) {
      // Queries only (HTTP); the worker's own store instance sets up the database and writes.
      this.reader = new InfluxTelemetryStore({
        target: influx,
        rawRetentionDays: config.rawRetentionDays,
        rollupRetentionDays: config.rollupRetentionDays,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        now: () => ctx.clock.now(),
      });
      lookbackMs = config.rawRetentionDays * DAY_MS;
    } else {
      const reader = new SqliteTelemetryStore({
        dataDir: config.dataDir,
        retentionDays: config.embeddedRetentionDays,
        now: () => ctx.clock.now(),
        readOnly: true,
      });
      try {
        await reader.start();
      } catch (err) {
        await client.stop(0);
        throw err;
      }
      this.reader = reader;
      lookbackMs = config.embeddedRetentionDays * DAY_MS;
      log.info(
        { file: 'telemetry.db', retentionDays: config.embeddedRetentionDays },
        'telemetry goes to the embedded store (no --influx), written by the storage worker',
      );
    }

    const onTelemetry = this.telemetryListener(ctx, client, log);
    const onDeviceEvent = (ref: DeviceRef, event: DeviceEvent, receivedAt: number, duplicate: boolean): void => {
      try {
        const p = deviceEventPoint(ref, event, receivedAt, duplicate);
        if (p) client.addEvent(this.separator.separate(p));
      } catch (err) {
        log.error({ err: (err as Error).message, device: ref.device }, 'event point not built');
      }
    };
    const onAlarmChanged = (view: AlarmView, transition: string): void => {
      try {
        client.addEvent(this.separator.separate(alarmTransitionPoint(view, transition)));
      } catch (err) {
        log.error({ err: (err as Error).message, alarm: view?.alarm }, 'alarm transition point not built');
      }
    };
    this.listeners = [
      ctx.bus.on('telemetry', 'telemetry', onTelemetry),
      ctx.bus.on('telemetry', 'device-event', onDeviceEvent),
      ctx.bus.on('telemetry', 'alarm-changed', onAlarmChanged),
    ];

    registerTelemetryRoutes(ctx.http, {
      store: () => {
        if (!this.reader) throw new SmokehubError(ERROR_CODES.UNAVAILABLE, 'telemetry store is stopped');
        return this.reader;
      },
      registry: ctx.registry,
      clock: ctx.clock,
      latestLookbackMs: lookbackMs,
    });
  }

  /**
   * Commits what the main thread holds, drains the outbox, all within `stopFlushMs` (3 s), and
   * stops the worker; what is left in the outbox is written after the next start.
   */
  async stop(): Promise<void> {
    for (const off of this.listeners) off();
    this.listeners = [];
    const log = this.ctx?.logger.child({ module: 'telemetry' });
    const client = this.client;
    if (client) {
      const r = await client.stop(this.opts.stopFlushMs ?? 3000);
      if (r.unconfirmed > 0) log?.error({ points: r.unconfirmed }, 'telemetry points not committed at stop (storage worker unavailable): lost');
      if (!r.outboxEmpty) log?.warn({ depth: client.outboxDepth }, 'telemetry outbox not empty at stop; the rest is written after the next start');
    }
    const reader = this.reader;
    this.reader = null;
    await reader?.close();
  }
}

export function telemetryExtension(config: HubConfig, opts?: TelemetryExtensionOptions): TelemetryExtension {
  return new TelemetryExtension(config, opts);
}
