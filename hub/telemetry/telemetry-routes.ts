/**
 * The telemetry query API, the same over InfluxDB and the embedded store:
 *   GET /api/telemetry?household=&device=&field=&from=&to=&every=   time series, <= ~1,000 buckets per device
 *   GET /api/households/:id/telemetry/latest                        newest value of each field per device
 *   GET /api/telemetry/events?household=&from=&to=&limit=           device events and alarm transitions
 * Scoped with canSeeHousehold; every parameter validated (400 with the reason).
 */
import { canSeeHousehold } from '../core/acl.ts';
import type { Clock } from '../core/clock.ts';
import type { Router, ApiRequest } from '../http/router.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, ValidationError } from '../protocol/errors.ts';
import { TELEMETRY_FIELDS, TELEMETRY_FIELD_NAMES, isValidId, type TelemetryField } from '../protocol/schema.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import { bucketWidth, MAX_SERIES_POINTS, type TelemetryStore } from './telemetry-store.ts';
import { EventsAnswer, EventsQuery, LatestAnswer, SeriesAnswer, SeriesQuery } from '../protocol/http/telemetry.ts';
import { HouseholdParams } from '../protocol/http/households.ts';

const DAY_MS = 86_400_000;
/** Longest range one query may cover. */
export const MAX_RANGE_MS = 2 * 366 * DAY_MS;
export const DEFAULT_RANGE_MS = DAY_MS;
const MAX_EVENTS = 5000;

export interface TelemetryRouteDeps {
  store: () => TelemetryStore;
  registry: RegistryStore;
  clock: Clock;
  /** How far back "latest" looks (the store's window). */
  latestLookbackMs: number;
}

function bad(message: string): ValidationError {
  return new ValidationError(ERROR_CODES.BAD_REQUEST, message);
}

/** ms since the epoch, or an ISO 8601 date/time. */
export function parseTime(name: string, raw: string | null, fallback: number): number {
  if (raw === null || raw === '') return fallback;
  const s = raw.trim();
  let t: number;
  if (/^-?\d+$/.test(s)) t = Number(s);
  else if (/^\d{4}-\d{2}-\d{2}/.test(s)) t = Date.parse(s);
  else throw bad(`${name} must be milliseconds since the epoch or an ISO 8601 time, got "${s.slice(0, 40)}"`);
  if (!Number.isSafeInteger(t) || t < 0) throw bad(`${name} is not a valid time: "${s.slice(0, 40)}"`);
  return t;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };
/** "30s", "5m", "1h", "1d", "250ms" or plain milliseconds. */
export function parseEvery(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  const m = /^(\d{1,10})(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw bad(`every must be a duration such as 30s, 5m, 1h, 1d or milliseconds, got "${raw.slice(0, 20)}"`);
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  if (ms < 1 || ms > 366 * DAY_MS) throw bad('every must be between 1 ms and 366 days');
  return ms;
}

const SERIES_PARAMS = new Set(['household', 'device', 'field', 'from', 'to', 'every']);

export interface ParsedSeriesQuery {
  household: string;
  device?: string;
  field: TelemetryField;
  from: number;
  to: number;
  every: number;
}

/** Validates the query string of GET /api/telemetry. */
export function parseSeriesQuery(q: URLSearchParams, now: number): ParsedSeriesQuery {
  for (const key of q.keys()) if (!SERIES_PARAMS.has(key)) throw bad(`unknown parameter "${key.slice(0, 32)}"`);
  const household = q.get('household');
  if (!household) throw bad('household is required');
  if (!isValidId(household)) throw bad('household is not a valid id');
  const device = q.get('device');
  if (device !== null && device !== '' && !isValidId(device)) throw bad('device is not a valid id');
  const field = q.get('field');
  if (!field) throw bad(`field is required: one of ${TELEMETRY_FIELD_NAMES.join(', ')}`);
  if (!(TELEMETRY_FIELD_NAMES as string[]).includes(field))
    throw bad(`unknown field "${field.slice(0, 32)}"; expected one of ${TELEMETRY_FIELD_NAMES.join(', ')}`);
  const to = parseTime('to', q.get('to'), now);
  const from = parseTime('from', q.get('from'), to - DEFAULT_RANGE_MS);
  if (from >= to) throw bad('from must be before to');
  if (to - from > MAX_RANGE_MS) throw bad(`the range may cover at most ${MAX_RANGE_MS / DAY_MS} days`);
  const every = bucketWidth(from, to, parseEvery(q.get('every')));
  const out: ParsedSeriesQuery = { household, field: field as TelemetryField, from, to, every };
  if (device) out.device = device;
  return out;
}

export function registerTelemetryRoutes(router: Router, deps: TelemetryRouteDeps): void {
  const teamOf = (h: string) => deps.registry.teamOf(h);

  const checkHousehold = (req: ApiRequest, household: string): void => {
    if (!req.user || !canSeeHousehold(req.user, household, teamOf)) throw new ForbiddenError(`you may not see household ${household}`);
    if (!deps.registry.getHousehold(household)) throw new NotFoundError(`household ${household} does not exist`);
  };

  router.get(
    '/api/telemetry',
    async (req) => {
      const q = parseSeriesQuery(req.query, deps.clock.now());
      checkHousehold(req, q.household);
      if (q.device !== undefined) {
        const d = deps.registry.getDevice(q.device);
        if (!d || d.household !== q.household) throw new NotFoundError(`device ${q.device} is not a device of household ${q.household}`);
      }
      const store = deps.store();
      const series = await store.querySeries(q);
      return {
        body: {
          household: q.household,
          device: q.device ?? null,
          field: q.field,
          unit: TELEMETRY_FIELDS[q.field].unit,
          from: q.from,
          to: q.to,
          every: q.every,
          maxPoints: MAX_SERIES_POINTS,
          source: store.kind,
          series,
        },
      };
    },
    { schema: { summary: "One field's readings over time, bucketed, per device of a household", querystring: SeriesQuery, response: { 200: SeriesAnswer } } },
  );

  router.get(
    '/api/households/:id/telemetry/latest',
    async (req) => {
      const household = req.params.id ?? '';
      if (!isValidId(household)) throw bad('household is not a valid id');
      checkHousehold(req, household);
      const now = deps.clock.now();
      const store = deps.store();
      const devices = await store.latest(household, now, deps.latestLookbackMs);
      return { body: { household, at: now, source: store.kind, devices } };
    },
    { schema: { summary: 'The newest value of each field of each device of a household', params: HouseholdParams, response: { 200: LatestAnswer } } },
  );

  router.get(
    '/api/telemetry/events',
    async (req) => {
      for (const key of req.query.keys()) if (!['household', 'from', 'to', 'limit'].includes(key)) throw bad(`unknown parameter "${key.slice(0, 32)}"`);
      const household = req.query.get('household');
      if (!household) throw bad('household is required');
      if (!isValidId(household)) throw bad('household is not a valid id');
      const to = parseTime('to', req.query.get('to'), deps.clock.now());
      const from = parseTime('from', req.query.get('from'), to - DEFAULT_RANGE_MS);
      if (from >= to) throw bad('from must be before to');
      if (to - from > MAX_RANGE_MS) throw bad(`the range may cover at most ${MAX_RANGE_MS / DAY_MS} days`);
      const limitRaw = req.query.get('limit');
      const limit = limitRaw === null || limitRaw === '' ? 1000 : Number(limitRaw);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS) throw bad(`limit must be an integer between 1 and ${MAX_EVENTS}`);
      checkHousehold(req, household);
      const store = deps.store();
      const events = await store.queryEvents({ household, from, to, limit });
      return { body: { household, from, to, source: store.kind, events } };
    },
    {
      schema: {
        summary: 'Device events and alarm transitions stored with the telemetry (marks on the time axis)',
        querystring: EventsQuery,
        response: { 200: EventsAnswer },
      },
    },
  );
}
