/**
 * Messages between the hub's main thread and the telemetry storage worker (telemetry-worker.ts).
 *
 * main → worker: `batch` (one in flight at a time; the worker answers `committed` or
 * `commit-failed`), `clock` (the hub clock's offset), `flush` (drain the outbox for a while),
 * `stop`. worker → main: `ready` once its store is set up, metric events that the main thread
 * mirrors into its registry, `log` records for the hub's logger.
 */
import type { InfluxTarget } from './influx-target.ts';
import type { PointBatch } from './point-batch.ts';
import type { Priority } from './point.ts';
import type { IngestMark } from './sqlite-store.ts';

export type WorkerStoreConfig =
  | {
      kind: 'influxdb';
      target: InfluxTarget;
      rawRetentionDays: number;
      rollupRetentionDays: number;
      requestTimeoutMs?: number;
      outboxMaxPoints: number;
      batchSize?: number;
      lingerMs?: number;
      retryMinMs?: number;
      retryMaxMs?: number;
    }
  | { kind: 'embedded'; retentionDays: number; pruneEveryMs?: number };

export interface WorkerConfig {
  dataDir: string;
  store: WorkerStoreConfig;
  /** hub clock − Date.now() at start (the hub's clock may be injected). */
  clockOffsetMs: number;
  /** Nice value for the worker thread (Linux: per thread); the alarm path keeps the CPU first. */
  niceness: number;
  /** The first start of this hub: an InfluxDB configuration error stops the hub (later: retried). */
  firstStart: boolean;
}

export type ToWorker =
  | { t: 'batch'; mark: IngestMark; batches: PointBatch[] }
  | { t: 'clock'; offsetMs: number }
  | { t: 'flush'; deadlineMs: number }
  | { t: 'stop'; graceMs: number };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type FromWorker =
  | { t: 'ready'; up: boolean; problem: string | null; mark: IngestMark | null; depth: number; maxPoints: number }
  | { t: 'config-error'; message: string }
  | { t: 'committed'; seq: number; depth: number; nearlyFull: boolean; seconds: number; size: number }
  | { t: 'commit-failed'; seq: number; message: string }
  | { t: 'written'; size: number; seconds: number; depth: number; nearlyFull: boolean }
  | { t: 'write-failed'; reason: string; depth: number }
  | { t: 'dropped'; count: number; priority: Priority; depth: number }
  | { t: 'flushed'; empty: boolean; depth: number }
  | { t: 'stopped' }
  | { t: 'log'; level: LogLevel; obj: Record<string, unknown>; msg: string };
