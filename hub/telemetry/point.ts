/**
 * Stored points, built from bus events. Pure and deterministic: the same event always gives the
 * same point (same measurement, tags, fields and millisecond timestamp), so a replay from the
 * outbox overwrites what InfluxDB already has instead of duplicating it.
 *
 * Schema (docs/telemetry.md):
 *   telemetry  tags team, household, device, kind           fields smoke, temperature, humidity, co, battery, rssi (floats)
 *   events     tags team, household, device, kind, type     fields id (string), level (float)        — device events
 *              tags team, household, device, kind, type, state  fields alarm (string), responders (float) — alarm transitions
 */
import { isAlarmKind, TELEMETRY_FIELD_NAMES, type AlarmView, type DeviceEvent, type TelemetryField, type TelemetryReading } from '../protocol/schema.ts';

export type Measurement = 'telemetry' | 'events';

/**
 * How long a point may wait when the outbox is full: the lowest priority is dropped first
 * (oldest first), alarm events and alarm transitions last of all.
 */
export const PRIORITY = { telemetry: 0, event: 1, alarm: 2 } as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

export interface TelemetryTags {
  team: string;
  household: string;
  device: string;
  kind: string;
  /** events only: device event type, or the alarm transition. */
  type?: string;
  /** events only, alarm transitions: the alarm's state after the transition. */
  state?: string;
}

/** The device a point is from: the fields of the hub's DeviceRef that telemetry keeps (no import from hub/app). */
export type PointSource = Pick<TelemetryTags, 'team' | 'household' | 'device' | 'kind'>;

export interface StoredPoint {
  measurement: Measurement;
  tags: TelemetryTags;
  fields: Record<string, number | string>;
  /** Milliseconds since the epoch (written with precision 'ms'). */
  ts: number;
  priority: Priority;
}

/**
 * The telemetry point of a validated reading: device time when it sent one (already checked sane),
 * else `receivedAt` — in the hub, the stamp ReadingStamper gave it (reading-stamps.ts).
 */
export function telemetryPoint(ref: PointSource, reading: TelemetryReading, receivedAt: number): StoredPoint | null {
  const fields: Record<string, number> = {};
  let n = 0;
  for (const name of TELEMETRY_FIELD_NAMES) {
    const v = reading.values[name];
    if (typeof v === 'number' && Number.isFinite(v)) {
      fields[name] = v;
      n++;
    }
  }
  if (n === 0) return null;
  return {
    measurement: 'telemetry',
    tags: { team: ref.team, household: ref.household, device: ref.device, kind: ref.kind },
    fields,
    ts: Math.trunc(reading.ts ?? receivedAt),
    priority: PRIORITY.telemetry,
  };
}

/**
 * The events point of a device event. A duplicate (an event id the hub has already handled,
 * re-sent by the device) gives no point: the first copy is already stored.
 */
export function deviceEventPoint(ref: PointSource, event: DeviceEvent, receivedAt: number, duplicate: boolean): StoredPoint | null {
  if (duplicate) return null;
  const fields: Record<string, number | string> = { id: event.id };
  if (typeof event.level === 'number' && Number.isFinite(event.level)) fields.level = event.level;
  return {
    measurement: 'events',
    tags: { team: ref.team, household: ref.household, device: ref.device, kind: ref.kind, type: event.type },
    fields,
    ts: Math.trunc(event.ts ?? receivedAt),
    priority: isAlarmKind(event.type) ? PRIORITY.alarm : PRIORITY.event,
  };
}

/** The events point of an alarm transition, at the alarm's `updatedAt` (the engine's clock). */
export function alarmTransitionPoint(view: AlarmView, transition: string): StoredPoint {
  const tags: TelemetryTags = {
    team: view.team,
    household: view.origin.household,
    device: view.origin.device,
    kind: view.kind,
    type: transition || 'changed',
    state: view.state,
  };
  return {
    measurement: 'events',
    tags,
    fields: { alarm: view.alarm, responders: view.responders.length },
    ts: Math.trunc(view.updatedAt),
    priority: PRIORITY.alarm,
  };
}

/** The series a point belongs to (measurement + tags), as InfluxDB identifies it. */
export function seriesKey(p: StoredPoint): string {
  const t = p.tags;
  return `${p.measurement}|${t.team}|${t.household}|${t.device}|${t.kind}|${t.type ?? ''}|${t.state ?? ''}`;
}

/**
 * Keeps two different events of one series from landing on the same millisecond (InfluxDB would
 * merge them into one point). Only `events` points go through it: their rate is low. It is fed in
 * bus order, so the same sequence of events always gives the same timestamps.
 */
export class EventTimeSeparator {
  private last = new Map<string, number>();
  constructor(private readonly maxSeries = 10_000) {}

  separate(p: StoredPoint): StoredPoint {
    if (p.measurement !== 'events') return p;
    const key = seriesKey(p);
    const prev = this.last.get(key);
    let ts = p.ts;
    if (prev !== undefined && ts <= prev && prev - ts < 1000) ts = prev + 1;
    this.last.delete(key);
    this.last.set(key, Math.max(ts, prev ?? ts));
    if (this.last.size > this.maxSeries) {
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
    return ts === p.ts ? p : { ...p, ts };
  }
}

export function isTelemetryField(name: string): name is TelemetryField {
  return (TELEMETRY_FIELD_NAMES as string[]).includes(name);
}

/** JSON form kept in the outbox: compact and lossless. */
export function encodePoint(p: StoredPoint): string {
  return JSON.stringify([p.measurement, p.tags, p.fields, p.ts, p.priority]);
}

export function decodePoint(text: string): StoredPoint {
  const [measurement, tags, fields, ts, priority] = JSON.parse(text) as [Measurement, TelemetryTags, Record<string, number | string>, number, Priority];
  return { measurement, tags, fields, ts, priority };
}

const TAG_SPECIAL = /[,= \\]/;
const TAG_SPECIAL_ALL = /[,= \\]/g;
function escapeKey(s: string): string {
  return TAG_SPECIAL.test(s) ? s.replace(TAG_SPECIAL_ALL, (c) => `\\${c}`) : s;
}
function fieldValue(v: number | string): string {
  if (typeof v === 'number') return String(v);
  return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The point as one InfluxDB line (ms precision): tags sorted by key, numbers as floats, strings
 * quoted. This is what the outbox keeps, so a replay sends the very same bytes.
 */
export function linePoint(p: StoredPoint): string {
  const t = p.tags;
  // Sorted tag keys: device, household, kind, state?, team, type?
  let line = `${p.measurement},device=${escapeKey(t.device)},household=${escapeKey(t.household)},kind=${escapeKey(t.kind)}`;
  if (t.state) line += `,state=${escapeKey(t.state)}`;
  line += `,team=${escapeKey(t.team)}`;
  if (t.type) line += `,type=${escapeKey(t.type)}`;
  let sep = ' ';
  for (const k in p.fields) {
    const v = p.fields[k]!;
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    line += `${sep}${escapeKey(k)}=${fieldValue(v)}`;
    sep = ',';
  }
  return `${line} ${Math.trunc(p.ts)}`;
}

/** Splits on `sep` outside backslash escapes and (for fields) double quotes. */
function splitEscaped(s: string, sep: string, quotes: boolean): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (quotes && c === '"') {
      inQuote = !inQuote;
      cur += c;
    } else if (c === sep && !inQuote) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
const unescapeLine = (s: string) => s.replace(/\\(.)/g, '$1');

/** Reads back a line written by `linePoint` (outbox inspection and tests). */
export function parseLinePoint(line: string, priority: Priority): StoredPoint {
  const [head, fieldPart, tsPart] = splitEscaped(line, ' ', true);
  const [measurement, ...tagPairs] = splitEscaped(head!, ',', false);
  const tags: Record<string, string> = {};
  for (const pair of tagPairs) {
    const [k, v] = splitEscaped(pair, '=', false);
    tags[unescapeLine(k!)] = unescapeLine(v ?? '');
  }
  const fields: Record<string, number | string> = {};
  for (const pair of splitEscaped(fieldPart ?? '', ',', true)) {
    const [k, v] = splitEscaped(pair, '=', true);
    const raw = v ?? '';
    fields[unescapeLine(k!)] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(["\\])/g, '$1') : Number(raw);
  }
  const t: TelemetryTags = { team: tags.team ?? '', household: tags.household ?? '', device: tags.device ?? '', kind: tags.kind ?? '' };
  if (tags.type !== undefined) t.type = tags.type;
  if (tags.state !== undefined) t.state = tags.state;
  return { measurement: unescapeLine(measurement!) as Measurement, tags: t, fields, ts: Number(tsPart), priority };
}

/** A stored outbox row back to its point: a line (current) or the JSON form of earlier versions. */
export function decodeStoredPoint(text: string, priority: Priority): StoredPoint {
  return text.startsWith('[') ? decodePoint(text) : parseLinePoint(text, priority);
}
