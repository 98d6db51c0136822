/**
 * The telemetry extension: bus events → points → (outbox → InfluxDB) or (embedded SQLite store),
 * the query API, and its metrics. Bus listeners only build a point and enqueue it.
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
import { ConfigError, ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import type { AlarmView, DeviceEvent, TelemetryReading } from '../protocol/schema.ts';
import { IngestQueue } from './ingest-queue.ts';
import { InfluxTelemetryStore, parseInfluxUrl } from './influx-store.ts';
import { Outbox } from './outbox.ts';
import { alarmTransitionPoint, deviceEventPoint, EventTimeSeparator, telemetryPoint, type Priority, type StoredPoint } from './point.ts';
import { SqliteTelemetryStore } from './sqlite-store.ts';
import { registerTelemetryRoutes } from './telemetry-routes.ts';
import type { TelemetryStore } from './telemetry-store.ts';

const DAY_MS = 86_400_000;
const PRIORITY_NAMES: Record<Priority, string> = { 0: 'telemetry', 1: 'event', 2: 'alarm' };

export interface TelemetryExtensionOptions {
  /** Outbox writer batch bounds (defaults: 5,000 points, 1,000 ms). */
  batchSize?: number;
  lingerMs?: number;
  /** How long stop() keeps draining the outbox (default 3,000 ms). */
  stopFlushMs?: number;
  /** Outbox retry backoff bounds (defaults 250 ms .. 10 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** InfluxDB request timeout (default 10 s). */
  requestTimeoutMs?: number;
}

export class TelemetryExtension implements HubExtension {
  readonly name = 'telemetry';
  private ctx: HubContext | null = null;
  private store: TelemetryStore | null = null;
  private outbox: Outbox | null = null;
  private queue: IngestQueue | null = null;
  private readonly separator = new EventTimeSeparator();
  private listeners: Array<() => void> = [];

  constructor(private readonly config: HubConfig, private readonly opts: TelemetryExtensionOptions = {}) {}

  /** The active store (tests, bench). */
  get activeStore(): TelemetryStore | null {
    return this.store;
  }
  get activeOutbox(): Outbox | null {
    return this.outbox;
  }
  /** Commits queued points now (tests, bench). */
  flushQueue(): boolean {
    return this.queue?.flush() ?? true;
  }

  async start(ctx: HubContext): Promise<void> {
    this.ctx = ctx;
    const config = this.config;
    const log = ctx.logger.child({ module: 'telemetry' });
    const m = ctx.metrics;
    const batchSize = m.histogram('smokehub_telemetry_batch_size', 'points per telemetry store write', [1, 10, 100, 500, 1000, 2000, 5000, 10000]);
    const writeSeconds = m.histogram('smokehub_telemetry_write_seconds', 'telemetry store write latency (seconds)', [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    const writeErrors = m.counter('smokehub_telemetry_write_errors_total', 'failed telemetry store writes, by reason');
    const dropped = m.counter('smokehub_telemetry_dropped_total', 'points dropped because the outbox was full, by priority');
    const ingested = m.counter('smokehub_telemetry_points_total', 'points accepted for storage, by measurement');
    const up = m.gauge('smokehub_telemetry_store_up', 'telemetry store reachable (1) or not (0)');
    m.gauge('smokehub_outbox_depth', 'telemetry points accepted but not yet in the store', () => (this.queue?.length ?? 0) + (this.outbox?.depth() ?? 0));
    m.gauge('smokehub_outbox_max_points', 'bound of the telemetry outbox', () => (this.outbox ? this.outbox.maxPoints : 0));
    m.gauge('smokehub_outbox_nearly_full', '1 when the outbox is 80 % full (until it falls below 40 %)', () => (this.outbox?.nearlyFull ? 1 : 0));

    let commit: (points: StoredPoint[]) => void;
    let lookbackMs: number;
    if (config.influxUrl) {
      const target = parseInfluxUrl(config.influxUrl, config.influxUser, config.influxPassword);
      const store = new InfluxTelemetryStore({
        target,
        rawRetentionDays: config.rawRetentionDays,
        rollupRetentionDays: config.rollupRetentionDays,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        now: () => ctx.clock.now(),
      });
      try {
        await store.start();
        up.set(1);
        log.info({ influx: target.display, database: target.database }, 'telemetry goes to InfluxDB (through the outbox)');
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        if (!(err instanceof SmokehubError) || err.code !== ERROR_CODES.UNAVAILABLE) throw err;
        up.set(0);
        log.error({ influx: target.display, err: err.message }, `${err.message}: the hub runs; telemetry waits in the outbox until InfluxDB answers`);
      }
      const outbox = new Outbox({
        dataDir: config.dataDir,
        maxPoints: config.outboxMaxPoints,
        batchSize: this.opts.batchSize,
        lingerMs: this.opts.lingerMs,
        retryMinMs: this.opts.retryMinMs,
        retryMaxMs: this.opts.retryMaxMs,
        logger: log,
        observer: {
          written: (size, seconds) => {
            batchSize.observe(size);
            writeSeconds.observe(seconds);
            up.set(1);
          },
          writeFailed: (reason) => {
            writeErrors.inc({ reason });
            if (reason !== 'rejected') up.set(0);
          },
          dropped: (count, priority) => {
            dropped.inc({ priority: PRIORITY_NAMES[priority] }, count);
            const line = { count, priority: PRIORITY_NAMES[priority], depth: outbox.depth() };
            if (priority === 0) log.warn(line, 'telemetry outbox full: dropped the oldest telemetry');
            else log.error(line, 'telemetry outbox full: dropped events');
          },
        },
      });
      this.store = store;
      this.outbox = outbox;
      commit = (points) => outbox.append(points);
      outbox.start(store);
      lookbackMs = config.rawRetentionDays * DAY_MS;
    } else {
      const store = new SqliteTelemetryStore({ dataDir: config.dataDir, retentionDays: config.embeddedRetentionDays, now: () => ctx.clock.now() });
      await store.start();
      up.set(1);
      this.store = store;
      commit = (points) => {
        const t0 = process.hrtime.bigint();
        try {
          store.writeSync(points);
        } catch (err) {
          writeErrors.inc({ reason: 'database' });
          throw err;
        }
        batchSize.observe(points.length);
        writeSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      };
      lookbackMs = config.embeddedRetentionDays * DAY_MS;
      log.info({ file: 'telemetry.db', retentionDays: config.embeddedRetentionDays }, 'telemetry goes to the embedded store (no --influx)');
    }

    let commitErrorLogged = 0;
    const queue = new IngestQueue({
      commit,
      onCommitError: (err, queued) => {
        const now = Date.now();
        if (now - commitErrorLogged > 10_000) {
          commitErrorLogged = now;
          log.error({ err: err.message, queued }, 'could not commit telemetry points; keeping them in memory and retrying');
        }
      },
      onDrop: (count, priority) => {
        dropped.inc({ priority: PRIORITY_NAMES[priority] }, count);
        log.error({ count, priority: PRIORITY_NAMES[priority] }, 'telemetry memory queue full while storage fails: dropped points');
      },
    });
    this.queue = queue;

    const enqueue = (p: StoredPoint | null): void => {
      if (!p) return;
      ingested.inc({ measurement: p.measurement });
      queue.push(p);
    };
    const onTelemetry = (ref: DeviceRef, reading: TelemetryReading, receivedAt: number): void => {
      try {
        enqueue(telemetryPoint(ref, reading, receivedAt));
      } catch (err) {
        log.error({ err: (err as Error).message, device: ref.device }, 'telemetry point not built');
      }
    };
    const onDeviceEvent = (ref: DeviceRef, event: DeviceEvent, receivedAt: number, duplicate: boolean): void => {
      try {
        const p = deviceEventPoint(ref, event, receivedAt, duplicate);
        enqueue(p && this.separator.separate(p));
      } catch (err) {
        log.error({ err: (err as Error).message, device: ref.device }, 'event point not built');
      }
    };
    const onAlarmChanged = (view: AlarmView, transition: string): void => {
      try {
        enqueue(this.separator.separate(alarmTransitionPoint(view, transition)));
      } catch (err) {
        log.error({ err: (err as Error).message, alarm: view?.alarm }, 'alarm transition point not built');
      }
    };
    ctx.bus.on('telemetry', onTelemetry);
    ctx.bus.on('device-event', onDeviceEvent);
    ctx.bus.on('alarm-changed', onAlarmChanged);
    this.listeners = [
      () => ctx.bus.off('telemetry', onTelemetry),
      () => ctx.bus.off('device-event', onDeviceEvent),
      () => ctx.bus.off('alarm-changed', onAlarmChanged),
    ];

    registerTelemetryRoutes(ctx.http, {
      store: () => {
        if (!this.store) throw new SmokehubError(ERROR_CODES.UNAVAILABLE, 'telemetry store is stopped');
        return this.store;
      },
      registry: ctx.registry,
      clock: ctx.clock,
      latestLookbackMs: lookbackMs,
    });
  }

  /** Commits what is queued, drains the outbox for a few seconds, leaves the rest for the next start. */
  async stop(): Promise<void> {
    for (const off of this.listeners) off();
    this.listeners = [];
    this.queue?.close();
    const log = this.ctx?.logger.child({ module: 'telemetry' });
    if (this.outbox) {
      const empty = await this.outbox.flush(this.opts.stopFlushMs ?? 3000);
      if (!empty) log?.warn({ depth: this.outbox.depth() }, 'telemetry outbox not empty at stop; the rest is written after the next start');
      await this.outbox.close(500);
      this.outbox = null;
    }
    const store = this.store;
    this.store = null;
    await store?.close();
  }
}

export function telemetryExtension(config: HubConfig, opts?: TelemetryExtensionOptions): TelemetryExtension {
  return new TelemetryExtension(config, opts);
}
