/**
 * The one interface telemetry is stored and read through: InfluxDB 1.x (influx-store.ts) or the
 * embedded SQLite store (sqlite-store.ts). Both keep InfluxDB's rule that a point with the same
 * series and timestamp overwrites the earlier one (fields merge), so replays never duplicate.
 * What reaches them never overwrites a different value silently: the timestamps are decided
 * before (reading-stamps.ts: one point per reading, equal `ts` kept once, merged or refused).
 */
import type { TelemetryField } from '../protocol/schema.ts';
import type { StoredPoint } from './point.ts';

/** Most buckets a series query returns; `every` is widened until the range fits. */
export const MAX_SERIES_POINTS = 1000;

export interface SeriesQuery {
  household: string;
  /** One device, or every device of the household. */
  device?: string;
  field: TelemetryField;
  /** Inclusive start, ms. */
  from: number;
  /** Exclusive end, ms. */
  to: number;
  /** Bucket width, ms (already widened by `bucketWidth`). Buckets start at multiples of `every` since the epoch. */
  every: number;
}

export interface SeriesBucket {
  /** Bucket start, ms. */
  t: number;
  mean: number;
  min: number;
  max: number;
}

export interface DeviceSeries {
  device: string;
  kind: string;
  points: SeriesBucket[];
}

export interface LatestValue {
  value: number;
  at: number;
}
export interface DeviceLatest {
  device: string;
  kind: string;
  /** Time of the newest value of any field. */
  at: number;
  values: Partial<Record<TelemetryField, LatestValue>>;
}

export interface EventsQuery {
  household: string;
  from: number;
  to: number;
  limit: number;
}
export interface StoredEvent {
  at: number;
  device: string;
  kind: string;
  type: string;
  state: string | null;
  fields: Record<string, number | string>;
}

export interface TelemetryStore {
  readonly kind: 'influxdb' | 'embedded';
  /** Creates what the store needs (idempotent). Throws a typed error on bad configuration. */
  start(): Promise<void>;
  /** Writes one batch; resolves once it is stored. Throws `StoreWriteError` on failure. */
  write(points: StoredPoint[]): Promise<void>;
  /** Per device, time-bucketed mean/min/max of one field, oldest first; empty buckets omitted. */
  querySeries(q: SeriesQuery): Promise<DeviceSeries[]>;
  /** Newest value of every field, per device of the household, looking back `lookbackMs`. */
  latest(household: string, now: number, lookbackMs: number): Promise<DeviceLatest[]>;
  /** Device events and alarm transitions of a household, oldest first. */
  queryEvents(q: EventsQuery): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/** Why a batch was not written. `retryable`: the same batch may succeed later (down, slow, auth). */
export class StoreWriteError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly reason: 'unreachable' | 'timeout' | 'server' | 'auth' | 'rejected' | 'database',
  ) {
    super(message);
    this.name = 'StoreWriteError';
  }
}

/** Nice bucket widths (ms): the smallest one that keeps a range within MAX_SERIES_POINTS buckets is used. */
const NICE_WIDTHS = [
  1,
  10,
  100,
  1000,
  5000,
  10_000,
  15_000,
  30_000,
  60_000,
  120_000,
  300_000,
  600_000,
  900_000,
  1_800_000,
  3_600_000,
  7_200_000,
  10_800_000,
  21_600_000,
  43_200_000,
  86_400_000,
  7 * 86_400_000,
  30 * 86_400_000,
];

/** The bucket width for a range: at least `requested`, wide enough for at most MAX_SERIES_POINTS buckets. */
export function bucketWidth(from: number, to: number, requested?: number): number {
  const span = Math.max(1, to - from);
  const minimum = Math.ceil(span / MAX_SERIES_POINTS);
  const wanted = Math.max(requested ?? 0, minimum);
  if (requested !== undefined && requested >= minimum) return Math.max(1, Math.round(requested));
  for (const w of NICE_WIDTHS) if (w >= wanted) return w;
  return Math.ceil(wanted / 86_400_000) * 86_400_000;
}
