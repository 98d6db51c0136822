/**
 * The one payload schema shared by hub, firmware bridge and dashboard (MQTT contract v1).
 * Pure and browser-safe: validators return values or typed issues, they never throw on input.
 */
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { isValidId } from './topics.ts';

/** Largest MQTT payload the hub accepts from a device or household (bytes). */
export const MAX_PAYLOAD_BYTES = 1024;
/** Longest event id. */
export const MAX_EVENT_ID_LENGTH = 64;

/**
 * Kinds of device. `gas`: an LPG / natural-gas detector (gas cylinders are in most Vietnamese
 * kitchens); `siren`: a sounder the hub rings (Zigbee sirens); `zigbee2mqtt`: a household's
 * Zigbee2MQTT gateway (docs/zigbee2mqtt.md), whose Zigbee devices the hub enrols itself.
 */
export const DEVICE_KINDS = ['smoke', 'heat', 'co', 'gas', 'panic', 'siren', 'bridge', 'zigbee2mqtt'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const EVENT_TYPES = ['smoke', 'heat', 'co', 'gas', 'panic', 'clear', 'test', 'hush', 'fault', 'tamper'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** Event types that raise an alarm (`gas` alarms like `co`). */
export const DEVICE_ALARM_KINDS = ['smoke', 'heat', 'co', 'gas', 'panic'] as const;
export type DeviceAlarmKind = (typeof DEVICE_ALARM_KINDS)[number];
export function isAlarmKind(t: string): t is DeviceAlarmKind {
  return (DEVICE_ALARM_KINDS as readonly string[]).includes(t);
}
/** Kinds of alarm: what a device raises, or `drill` (started by the station or a team leader). */
export const ALARM_KINDS = [...DEVICE_ALARM_KINDS, 'drill'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

export const RESPONSES = ['coming', 'unable', 'need-help', 'false-alarm'] as const;
export type ResponseKind = (typeof RESPONSES)[number];

/** Why an alarm is escalated (AlarmView.escalation); the test checks it against the engine's EscalationReason. */
export const ESCALATION_REASONS = ['neighbour-need-help', 'multiple-households', 'not-cancelled-in-time'] as const;

export const ALARM_STATES = ['pre-alarm', 'active', 'escalated', 'hushed', 'cancelled', 'resolved'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];
/** `hushed`: the origin household silenced it; the hub still watches it and re-raises it on fire evidence. */
export const OPEN_ALARM_STATES: readonly AlarmState[] = ['pre-alarm', 'active', 'escalated', 'hushed'];
export const CLOSED_ALARM_STATES: readonly AlarmState[] = ['cancelled', 'resolved'];
export function isOpenState(s: AlarmState): boolean {
  return OPEN_ALARM_STATES.includes(s);
}

export const COMMANDS = ['sound', 'silence', 'test'] as const;
export type CommandName = (typeof COMMANDS)[number];

export const DEVICE_STATUSES = ['online', 'offline'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** Telemetry fields with their accepted ranges and units. */
export const TELEMETRY_FIELDS = {
  smoke: { min: 0, max: 100000, unit: 'raw/ppm' },
  temperature: { min: -50, max: 200, unit: '°C' },
  humidity: { min: 0, max: 100, unit: '%' },
  co: { min: 0, max: 10000, unit: 'ppm' },
  battery: { min: 0, max: 100, unit: '%' },
  rssi: { min: -150, max: 0, unit: 'dBm' },
} as const;
export type TelemetryField = keyof typeof TELEMETRY_FIELDS;
export const TELEMETRY_FIELD_NAMES = Object.keys(TELEMETRY_FIELDS) as TelemetryField[];

/** A device timestamp is "sane" within this window around the hub clock (bridges buffer offline). */
export const MAX_TS_PAST_MS = 30 * 24 * 3600 * 1000;
export const MAX_TS_FUTURE_MS = 10 * 60 * 1000;

export interface DeviceEvent {
  id: string;
  type: EventType;
  ts?: number;
  level?: number;
}
export interface TelemetryReading {
  ts?: number;
  values: Partial<Record<TelemetryField, number>>;
}
export interface HouseholdResponse {
  alarm: string;
  response: ResponseKind;
}
export interface DeviceCommand {
  cmd: CommandName;
  alarm?: string;
  kind?: AlarmKind;
  origin?: string;
  [extra: string]: unknown;
}

export interface AlarmOrigin {
  household: string;
  name: string;
  address: string;
  lat: number | null;
  lon: number | null;
  device: string;
}
/** Who did something to an alarm (journal entries, timeline items, responders). */
export type Actor =
  | { kind: 'device'; id: string }
  | { kind: 'user'; id: string; role: string }
  | { kind: 'hub'; reason: string }
  | { kind: 'sms'; phone: string };
/** The channel an action came through. */
export const VIAS = ['mqtt', 'http', 'timer', 'sms'] as const;
export type Via = (typeof VIAS)[number];

export interface Responder {
  household: string;
  response: ResponseKind;
  at: number;
  /** Who answered for the household (its device, its user, the station on its behalf). */
  by?: Actor;
  via?: Via;
}
/** The alarm view published on `alert` and `station/alarm` topics and returned by the API. */
export interface AlarmView {
  alarm: string;
  state: AlarmState;
  kind: AlarmKind;
  team: string;
  origin: AlarmOrigin;
  raisedAt: number;
  updatedAt: number;
  responders: Responder[];
  /** Why the alarm is escalated, when it is. */
  escalation?: string | null;
  /** Households of the team with devices alarming now: the origin (while its devices still report) and any other household of the team whose own alarm is open. */
  households?: string[];
  /** When the origin household silenced its own sounders during a confirmed alarm (`hush` in active/escalated). */
  silencedAt?: number | null;
  /** While `hushed`: when the hush was given and when the watch ends. */
  hushedAt?: number | null;
  hushUntil?: number | null;
  /** The origin household said "false alarm" while the alarm could not be cancelled (escalated): shown to the station. */
  originSaysFalseAlarm?: boolean;
  /** The fire station's side: it has seen the alarm, or a truck is on its way. */
  dispatch?: Dispatch | null;
  /** Set in the copy sent to a household of another team within the nearby radius: told, not counted on. */
  nearby?: boolean;
  /** Households of other teams within the nearby radius that were alerted. */
  nearbyHouseholds?: string[];
}

export const DISPATCH_STATES = ['acknowledged', 'dispatched'] as const;
export type DispatchState = (typeof DISPATCH_STATES)[number];
export interface Dispatch {
  state: DispatchState;
  at: number;
  /** The station user. */
  by: string;
  etaMin?: number;
  note?: string;
}

/** Retained on `smokehub/h/H/alarms` (every open alarm that concerns H) and `smokehub/station/alarms` (all open alarms). */
export interface OpenAlarmsState {
  open: AlarmView[];
  at: number;
}

export const NOTICE_SEVERITIES = ['info', 'warning', 'trouble'] as const;
export type NoticeSeverity = (typeof NOTICE_SEVERITIES)[number];
/** Hub → people notices (supervision, self-tests, reminders). Never alarm severity. */
export interface Notice {
  notice: string;
  severity: NoticeSeverity;
  household: string | null;
  device: string | null;
  /** English text, the fallback for clients that do not know `notice` (new clients render notice + params). */
  text: string;
  /** What a client needs to say it in its own language (device kind, reason, percent, days, …). */
  params?: NoticeParams;
  at: number;
}
/** Parameters of a notice: ids, kinds, reason codes, numbers, ISO dates (never English words). */
export type NoticeParams = Record<string, string | number>;

/** One reason a payload or one of its fields was refused. */
export interface Issue {
  code: ErrorCode;
  field?: string;
  message: string;
}
export type Result<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

const fail = <T>(code: ErrorCode, message: string, field?: string): Result<T> => ({
  ok: false,
  issues: [field === undefined ? { code, message } : { code, field, message }],
});

/** Decodes a raw payload into a JSON object, enforcing size and shape. */
export function decodeJsonObject(payload: Uint8Array | string): Result<Record<string, unknown>> {
  const size = typeof payload === 'string' ? new TextEncoder().encode(payload).length : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) return fail(ERROR_CODES.OVERSIZE, `payload is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES}`);
  const text = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: false }).decode(payload);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail(ERROR_CODES.BAD_JSON, 'payload is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return fail(ERROR_CODES.BAD_PAYLOAD, 'payload must be a JSON object');
  }
  return { ok: true, value: parsed as Record<string, unknown> };
}

function checkTs(ts: unknown, now: number): Issue | null {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || !Number.isInteger(ts)) {
    return { code: ERROR_CODES.BAD_FIELD, field: 'ts', message: 'ts must be an integer of milliseconds since the epoch' };
  }
  if (ts > now + MAX_TS_FUTURE_MS) return { code: ERROR_CODES.BAD_FIELD, field: 'ts', message: 'ts is too far in the future' };
  if (ts < now - MAX_TS_PAST_MS) return { code: ERROR_CODES.BAD_FIELD, field: 'ts', message: 'ts is too far in the past' };
  return null;
}

/**
 * Validates a device `event`. The whole event is refused on any issue except a bad `ts`,
 * which is dropped (the hub's clock is used) and reported as a warning in `issues`.
 */
export function parseDeviceEvent(
  payload: Uint8Array | string,
  now: number,
): { ok: true; value: DeviceEvent; warnings: Issue[] } | { ok: false; issues: Issue[] } {
  const decoded = decodeJsonObject(payload);
  if (!decoded.ok) return decoded;
  const o = decoded.value;
  const issues: Issue[] = [];
  if (typeof o.id !== 'string' || o.id.length === 0 || o.id.length > MAX_EVENT_ID_LENGTH || /[\u0000-\u001f]/.test(o.id)) {
    issues.push({ code: ERROR_CODES.BAD_FIELD, field: 'id', message: `id must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters` });
  }
  if (typeof o.type !== 'string') {
    issues.push({ code: ERROR_CODES.BAD_FIELD, field: 'type', message: 'type must be a string' });
  } else if (!(EVENT_TYPES as readonly string[]).includes(o.type)) {
    issues.push({
      code: ERROR_CODES.UNKNOWN_TYPE,
      field: 'type',
      message: `unknown event type "${o.type.slice(0, 32)}"; expected one of ${EVENT_TYPES.join(', ')}`,
    });
  }
  if (o.level !== undefined && (typeof o.level !== 'number' || !Number.isFinite(o.level))) {
    issues.push({ code: ERROR_CODES.BAD_FIELD, field: 'level', message: 'level must be a finite number' });
  }
  for (const key of Object.keys(o)) {
    if (!['id', 'type', 'ts', 'level'].includes(key)) {
      issues.push({ code: ERROR_CODES.UNKNOWN_FIELD, field: key.slice(0, 32), message: `unknown field "${key.slice(0, 32)}"` });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  const warnings: Issue[] = [];
  const value: DeviceEvent = { id: o.id as string, type: o.type as EventType };
  if (o.ts !== undefined) {
    const tsIssue = checkTs(o.ts, now);
    if (tsIssue) warnings.push(tsIssue);
    else value.ts = o.ts as number;
  }
  if (o.level !== undefined) value.level = o.level as number;
  return { ok: true, value, warnings };
}

/**
 * Validates telemetry field by field: valid fields are kept, each invalid one is reported.
 * `ok` is false only when nothing at all can be stored.
 */
export function parseTelemetry(
  payload: Uint8Array | string,
  now: number,
): { ok: true; value: TelemetryReading; warnings: Issue[] } | { ok: false; issues: Issue[] } {
  const decoded = decodeJsonObject(payload);
  if (!decoded.ok) return decoded;
  return validateTelemetryObject(decoded.value, now);
}

/** Field-by-field telemetry validation of an already-decoded object (also used by the serial bridge). */
export function validateTelemetryObject(
  o: Record<string, unknown>,
  now: number,
): { ok: true; value: TelemetryReading; warnings: Issue[] } | { ok: false; issues: Issue[] } {
  const warnings: Issue[] = [];
  const values: Partial<Record<TelemetryField, number>> = {};
  let ts: number | undefined;
  for (const [key, raw] of Object.entries(o)) {
    if (key === 'ts') {
      const issue = checkTs(raw, now);
      if (issue) warnings.push(issue);
      else ts = raw as number;
      continue;
    }
    const spec = (TELEMETRY_FIELDS as Record<string, { min: number; max: number }>)[key];
    if (!spec) {
      warnings.push({ code: ERROR_CODES.UNKNOWN_FIELD, field: key.slice(0, 32), message: `unknown telemetry field "${key.slice(0, 32)}"` });
      continue;
    }
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      warnings.push({ code: ERROR_CODES.BAD_FIELD, field: key, message: `${key} must be a finite number` });
      continue;
    }
    if (raw < spec.min || raw > spec.max) {
      warnings.push({ code: ERROR_CODES.BAD_FIELD, field: key, message: `${key} must be between ${spec.min} and ${spec.max}` });
      continue;
    }
    values[key as TelemetryField] = raw;
  }
  if (Object.keys(values).length === 0) {
    const issues = warnings.length > 0 ? warnings : [{ code: ERROR_CODES.BAD_PAYLOAD, message: 'telemetry has no fields' } as Issue];
    return { ok: false, issues };
  }
  return { ok: true, value: ts === undefined ? { values } : { ts, values }, warnings };
}

/** Validates a household `response`. */
export function parseResponse(payload: Uint8Array | string): Result<HouseholdResponse> {
  const decoded = decodeJsonObject(payload);
  if (!decoded.ok) return decoded;
  const o = decoded.value;
  if (typeof o.alarm !== 'string' || o.alarm.length === 0 || o.alarm.length > 64) {
    return fail(ERROR_CODES.BAD_FIELD, 'alarm must be an alarm id', 'alarm');
  }
  if (typeof o.response !== 'string' || !(RESPONSES as readonly string[]).includes(o.response)) {
    return fail(ERROR_CODES.BAD_FIELD, `response must be one of ${RESPONSES.join(', ')}`, 'response');
  }
  return { ok: true, value: { alarm: o.alarm, response: o.response as ResponseKind } };
}

/** Validates a retained `status` payload. */
export function parseStatus(payload: Uint8Array | string): Result<DeviceStatus> {
  const text = (typeof payload === 'string' ? payload : new TextDecoder().decode(payload)).trim();
  if (text === 'online' || text === 'offline') return { ok: true, value: text };
  return fail(ERROR_CODES.BAD_PAYLOAD, 'status must be "online" or "offline"');
}

/** Validates a hub → device command (the bridge uses this on what it receives). */
export function parseCommand(payload: Uint8Array | string): Result<DeviceCommand> {
  const decoded = decodeJsonObject(payload);
  if (!decoded.ok) return decoded;
  const o = decoded.value;
  if (typeof o.cmd !== 'string' || !(COMMANDS as readonly string[]).includes(o.cmd)) {
    return fail(ERROR_CODES.BAD_FIELD, `cmd must be one of ${COMMANDS.join(', ')}`, 'cmd');
  }
  return { ok: true, value: o as DeviceCommand };
}

/** Validates an alarm view received by a household, bridge or dashboard. */
export function parseAlarmView(payload: Uint8Array | string): Result<AlarmView> {
  const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return fail(ERROR_CODES.BAD_JSON, 'alarm view is not valid JSON');
  }
  const v = o as Partial<AlarmView> | null;
  if (
    !v ||
    typeof v !== 'object' ||
    typeof v.alarm !== 'string' ||
    !(ALARM_STATES as readonly string[]).includes(v.state as string) ||
    !(ALARM_KINDS as readonly string[]).includes(v.kind as string) ||
    typeof v.team !== 'string' ||
    !v.origin ||
    typeof v.origin.household !== 'string' ||
    !Array.isArray(v.responders)
  ) {
    return fail(ERROR_CODES.BAD_PAYLOAD, 'not an alarm view');
  }
  return { ok: true, value: v as AlarmView };
}

export { isValidId };

/** Validates the retained open-alarm state (`smokehub/h/H/alarms`, `smokehub/station/alarms`). */
export function parseOpenAlarmsState(payload: Uint8Array | string): Result<OpenAlarmsState> {
  const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return fail(ERROR_CODES.BAD_JSON, 'open-alarm state is not valid JSON');
  }
  const v = o as Partial<OpenAlarmsState> | null;
  if (!v || typeof v !== 'object' || !Array.isArray(v.open) || typeof v.at !== 'number') {
    return fail(ERROR_CODES.BAD_PAYLOAD, 'not an open-alarm state');
  }
  const open: AlarmView[] = [];
  for (const item of v.open) {
    const r = parseAlarmView(JSON.stringify(item));
    if (!r.ok) return r;
    open.push(r.value);
  }
  return { ok: true, value: { open, at: v.at } };
}
