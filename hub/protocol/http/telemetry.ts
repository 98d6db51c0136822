/** `GET /api/telemetry`, `GET /api/households/:id/telemetry/latest`, `GET /api/telemetry/events`. */
import { Type, type Static } from 'typebox';
import { TELEMETRY_FIELD_NAMES } from '../schema.ts';
import { EpochMs, Id } from './common.ts';

export const TelemetryFieldName = Type.Enum(TELEMETRY_FIELD_NAMES);
export const TelemetrySource = Type.Union([Type.Literal('influxdb'), Type.Literal('embedded')], { description: 'where the readings are stored' });

export const SeriesQuery = Type.Object({
  household: Type.String(),
  field: Type.String({ description: `one of ${TELEMETRY_FIELD_NAMES.join(', ')}` }),
  device: Type.Optional(Type.String()),
  from: Type.Optional(Type.String({ description: 'ms since the epoch or an ISO date (default: a day before `to`)' })),
  to: Type.Optional(Type.String({ description: 'ms since the epoch or an ISO date (default: now)' })),
  every: Type.Optional(Type.String({ description: 'bucket width: 10s, 5m, 1h, 1d (widened to keep at most maxPoints buckets)' })),
});

export const SeriesBucket = Type.Object(
  { t: EpochMs, mean: Type.Number(), min: Type.Number(), max: Type.Number() },
  { description: 'one bucket (t: its start)' },
);
export const DeviceSeries = Type.Object({ device: Id, kind: Type.String(), points: Type.Array(SeriesBucket) });
export type DeviceSeries = Static<typeof DeviceSeries>;

export const SeriesAnswer = Type.Object({
  household: Id,
  device: Type.Union([Id, Type.Null()]),
  field: TelemetryFieldName,
  unit: Type.String(),
  from: EpochMs,
  to: EpochMs,
  every: Type.Number({ description: 'bucket width, ms' }),
  maxPoints: Type.Integer(),
  source: TelemetrySource,
  series: Type.Array(DeviceSeries),
});
export type SeriesAnswer = Static<typeof SeriesAnswer>;

export const LatestValue = Type.Object({ value: Type.Number(), at: EpochMs });
export const DeviceLatest = Type.Object({
  device: Id,
  kind: Type.String(),
  at: EpochMs,
  values: Type.Record(Type.String(), LatestValue, { description: 'by telemetry field' }),
});
export const LatestAnswer = Type.Object({ household: Id, at: EpochMs, source: TelemetrySource, devices: Type.Array(DeviceLatest) });
export type LatestAnswer = Static<typeof LatestAnswer>;

export const EventsQuery = Type.Object({
  household: Type.String(),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  limit: Type.Optional(Type.String({ description: '1 to 10000 (default 1000)' })),
});
export const StoredEvent = Type.Object({
  at: EpochMs,
  device: Type.String(),
  kind: Type.String(),
  type: Type.String({ description: 'the device event type, or an alarm transition' }),
  state: Type.Union([Type.String(), Type.Null()]),
  fields: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()])),
});
export type StoredEvent = Static<typeof StoredEvent>;
export const EventsAnswer = Type.Object({ household: Id, from: EpochMs, to: EpochMs, source: TelemetrySource, events: Type.Array(StoredEvent) });
export type EventsAnswer = Static<typeof EventsAnswer>;
