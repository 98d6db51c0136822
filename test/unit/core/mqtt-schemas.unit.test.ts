/**
 * The JSON Schemas of docs/asyncapi.yaml (hub/protocol/mqtt-schemas.ts) agree with the hub's
 * hand-written validators (hub/protocol/schema.ts): valid samples pass both, invalid ones fail
 * both. Where the validator is deliberately more tolerant (a bad `ts` dropped with a warning,
 * telemetry kept field by field) or a JSON Schema cannot say what it checks, the difference is
 * pinned here, so that a change on either side is noticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import {
  DeviceCommandSchema,
  DeviceEventSchema,
  DeviceStatusSchema,
  ErrorReportSchema,
  ESCALATION_REASONS,
  HouseholdResponseSchema,
  AlarmViewSchema,
  OpenAlarmsStateSchema,
  TelemetryReadingSchema,
} from '../../../hub/protocol/mqtt-schemas.ts';
import {
  EVENT_TYPES,
  MAX_EVENT_ID_LENGTH,
  MAX_TS_FUTURE_MS,
  MAX_TS_PAST_MS,
  parseAlarmView,
  parseCommand,
  parseDeviceEvent,
  parseOpenAlarmsState,
  parseResponse,
  parseStatus,
  parseTelemetry,
  RESPONSES,
  TELEMETRY_FIELD_NAMES,
  TELEMETRY_FIELDS,
} from '../../../hub/protocol/schema.ts';
import type { EscalationReason } from '../../../hub/core/alarm-record.ts';

const NOW = Date.UTC(2026, 10, 29, 8, 0, 0);

/** What a validator says of a raw payload: refused, accepted, or accepted with warnings (a field dropped). */
type Verdict = 'refused' | 'accepted' | 'warned';
type Parser = (raw: string) => { ok: boolean; warnings?: unknown[] };
const verdict = (parse: Parser, raw: string): Verdict => {
  const r = parse(raw);
  return !r.ok ? 'refused' : (r.warnings?.length ?? 0) > 0 ? 'warned' : 'accepted';
};
const raw = (p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p));

interface Cases {
  /** Both accept (the validator without a warning). */
  valid: unknown[];
  /** Both refuse. */
  invalid: unknown[];
  /** The schema refuses; the validator accepts, dropping the bad part with a warning on the error topic. */
  warned?: unknown[];
  /** Known differences the schema describes in words: [sample, the validator's verdict, the schema's]. */
  differences?: Array<[unknown, Verdict, boolean]>;
}

function check(name: string, schema: TSchema, parse: Parser, cases: Cases, asValue: (p: unknown) => unknown = (p) => p): void {
  for (const p of cases.valid) {
    assert.equal(verdict(parse, raw(p)), 'accepted', `${name}: the validator accepts ${raw(p)}`);
    assert.ok(Value.Check(schema, asValue(p)), `${name}: the schema accepts ${raw(p)}`);
  }
  for (const p of cases.invalid) {
    assert.equal(verdict(parse, raw(p)), 'refused', `${name}: the validator refuses ${raw(p)}`);
    assert.ok(!Value.Check(schema, asValue(p)), `${name}: the schema refuses ${raw(p)}`);
  }
  for (const p of cases.warned ?? []) {
    assert.equal(verdict(parse, raw(p)), 'warned', `${name}: the validator accepts ${raw(p)} with a warning`);
    assert.ok(!Value.Check(schema, asValue(p)), `${name}: the schema refuses ${raw(p)}`);
  }
  for (const [p, v, s] of cases.differences ?? []) {
    assert.equal(verdict(parse, raw(p)), v, `${name}: the validator's verdict on ${raw(p)}`);
    assert.equal(Value.Check(schema, asValue(p)), s, `${name}: the schema's verdict on ${raw(p)}`);
  }
}

const parseEvent: Parser = (r) => parseDeviceEvent(r, NOW);
const parseTele: Parser = (r) => parseTelemetry(r, NOW);

test('device event: the schema and parseDeviceEvent agree', () => {
  const id64 = 'e'.repeat(MAX_EVENT_ID_LENGTH);
  check('event', DeviceEventSchema, parseEvent, {
    valid: [
      ...EVENT_TYPES.map((type) => ({ id: `${type}-1`, type })),
      { id: '42', type: 'smoke', ts: NOW, level: 712 },
      { id: id64, type: 'heat', ts: NOW - MAX_TS_PAST_MS, level: -3.5 },
      { id: 'x', type: 'panic', ts: NOW + MAX_TS_FUTURE_MS },
      { id: 'Ünïcödé événement', type: 'co' },
    ],
    invalid: [
      { type: 'smoke' },
      { id: 'e1' },
      { id: '', type: 'smoke' },
      { id: `${id64}e`, type: 'smoke' },
      { id: 'e\n1', type: 'smoke' },
      { id: 'e\u00011', type: 'smoke' },
      { id: 7, type: 'smoke' },
      { id: 'e1', type: 'fire' },
      { id: 'e1', type: 'SMOKE' },
      { id: 'e1', type: 3 },
      { id: 'e1', type: 'smoke', level: '5' },
      { id: 'e1', type: 'smoke', level: null },
      { id: 'e1', type: 'smoke', extra: true },
      [],
      'smoke',
      null,
    ],
    // A bad ts is dropped (the hub's clock is used) and reported; the event still counts.
    warned: [
      { id: 'e1', type: 'smoke', ts: 'yesterday' },
      { id: 'e1', type: 'smoke', ts: NOW + 0.5 },
      { id: 'e1', type: 'smoke', ts: -1 },
    ],
    differences: [
      // A ts outside the window is a valid integer to the schema; the hub drops it with a warning.
      [{ id: 'e1', type: 'smoke', ts: NOW + MAX_TS_FUTURE_MS + 1 }, 'warned', true],
      [{ id: 'e1', type: 'smoke', ts: NOW - MAX_TS_PAST_MS - 1 }, 'warned', true],
      // JSON Schema counts code points, the hub UTF-16 code units: 33 emoji are 66 units (the description says so).
      [{ id: '🔥'.repeat(33), type: 'smoke' }, 'refused', true],
      [{ id: '🔥'.repeat(32), type: 'smoke' }, 'accepted', true],
    ],
  });
});

test('telemetry: the schema and parseTelemetry agree', () => {
  const all = Object.fromEntries(TELEMETRY_FIELD_NAMES.map((f) => [f, TELEMETRY_FIELDS[f].min]));
  const allMax = Object.fromEntries(TELEMETRY_FIELD_NAMES.map((f) => [f, TELEMETRY_FIELDS[f].max]));
  check('telemetry', TelemetryReadingSchema, parseTele, {
    valid: [
      ...TELEMETRY_FIELD_NAMES.map((f) => ({ [f]: (TELEMETRY_FIELDS[f].min + TELEMETRY_FIELDS[f].max) / 2 })),
      { ts: NOW, ...all },
      allMax,
      { smoke: 12.5, temperature: 21.3, humidity: 40, co: 0, battery: 97, rssi: -61 },
    ],
    invalid: [{}, { ts: NOW }, { smoke: -1 }, { temperature: 200.01 }, { rssi: 1 }, { battery: '97' }, { humidity: null }, { colour: 'red' }, [], '42'],
    // Field by field: the valid fields are stored, each bad one is reported.
    warned: [
      { smoke: 5, colour: 'red' },
      { smoke: 5, battery: 101 },
      { smoke: 5, co: 'high' },
      { smoke: 5, ts: 'now' },
      { smoke: 5, ts: 1.5 },
    ],
    differences: [[{ smoke: 5, ts: NOW + MAX_TS_FUTURE_MS + 1 }, 'warned', true]],
  });
});

test('device status: the schema and parseStatus agree (plain text, not JSON)', () => {
  check(
    'status',
    DeviceStatusSchema,
    parseStatus,
    {
      valid: ['online', 'offline'],
      invalid: ['', 'on', 'ONLINE', '"online"', '{"status":"online"}', 'online offline'],
      // The validator trims white space; the schema names the two words (its description says white space is ignored).
      differences: [['online\n', 'accepted', false]],
    },
    (p) => p,
  );
});

test('household response: the schema and parseResponse agree', () => {
  check('response', HouseholdResponseSchema, (r) => parseResponse(r), {
    valid: [
      ...RESPONSES.map((response) => ({ alarm: 'Amiabc12', response })),
      { alarm: 'a'.repeat(64), response: 'coming' },
      // Other fields are ignored by the hub (and allowed by the schema).
      { alarm: 'A1', response: 'unable', note: 'on my way later' },
    ],
    invalid: [
      { response: 'coming' },
      { alarm: 'A1' },
      { alarm: '', response: 'coming' },
      { alarm: 'a'.repeat(65), response: 'coming' },
      { alarm: 17, response: 'coming' },
      { alarm: 'A1', response: 'yes' },
      { alarm: 'A1', response: 'Coming' },
      [],
      'coming',
    ],
  });
});

test('device command: the schema and parseCommand agree on what the hub sends', () => {
  check('cmd', DeviceCommandSchema, (r) => parseCommand(r), {
    valid: [
      { cmd: 'silence', alarm: 'A1' },
      { cmd: 'test', round: 'STmiabc' },
      { cmd: 'sound', alarm: 'A1', kind: 'smoke', origin: 't1-h1' },
      { cmd: 'sound', extra: 1 },
    ],
    invalid: [{}, { cmd: 'explode' }, { cmd: 3 }, { alarm: 'A1' }, [], 'silence'],
    // parseCommand checks only `cmd`: the bridge gets the rest as it is.
    differences: [
      [{ cmd: 'sound', kind: 'lava' }, 'accepted', false],
      [{ cmd: 'silence', alarm: 7 }, 'accepted', false],
    ],
  });
});

const view = {
  alarm: 'Amiabc12',
  state: 'active',
  kind: 'smoke',
  team: 't1',
  origin: { household: 't1-h1', name: 'Nhà Nguyễn', address: '12 Lê Lợi', lat: 20.951, lon: 107.081, device: 't1-h1-smoke' },
  raisedAt: NOW,
  updatedAt: NOW + 20_000,
  responders: [{ household: 't1-h2', response: 'coming', at: NOW + 26_000, by: { kind: 'user', id: 'lan', role: 'household' }, via: 'mqtt' }],
  escalation: null,
  households: ['t1-h1'],
  silencedAt: null,
  hushedAt: null,
  hushUntil: null,
  originSaysFalseAlarm: false,
};
const without = (k: string) => Object.fromEntries(Object.entries(view).filter(([key]) => key !== k));

test('alarm view: the schema and parseAlarmView agree (the docs example included)', () => {
  check('alarm view', AlarmViewSchema, (r) => parseAlarmView(r), {
    valid: [
      view,
      { ...view, state: 'escalated', escalation: 'neighbour-need-help', dispatch: { state: 'dispatched', at: NOW, by: 'chief', etaMin: 7, note: 'truck 2' } },
      { ...view, state: 'hushed', hushedAt: NOW, hushUntil: NOW + 300_000, nearby: true, nearbyHouseholds: ['t2-h1'] },
      { ...view, kind: 'drill', origin: { ...view.origin, lat: null, lon: null, device: '' }, responders: [] },
      { ...view, responders: [{ household: 't1-h3', response: 'need-help', at: NOW, by: { kind: 'sms', phone: '+84901234567' }, via: 'sms' }] },
    ],
    invalid: [
      { ...view, state: 'burning' },
      { ...view, kind: 'lava' },
      { ...view, alarm: 12 },
      { ...view, team: null },
      without('origin'),
      { ...view, origin: { ...view.origin, household: 5 } },
      { ...view, responders: {} },
      without('responders'),
      'null',
      '[]',
    ],
    // parseAlarmView is a receiver's check of the fields it acts on; the schema says all the hub sends.
    differences: [
      [without('raisedAt'), 'accepted', false],
      [{ ...view, escalation: 'because' }, 'accepted', false],
      [{ ...view, responders: [{ household: 't1-h2' }] }, 'accepted', false],
      [{ ...view, colour: 'red' }, 'accepted', false],
    ],
  });
});

test('open-alarm state: the schema and parseOpenAlarmsState agree', () => {
  check('open alarms', OpenAlarmsStateSchema, (r) => parseOpenAlarmsState(r), {
    valid: [
      { open: [], at: NOW },
      { open: [view, { ...view, alarm: 'B2', state: 'pre-alarm' }], at: NOW },
    ],
    invalid: [{ open: [] }, { at: NOW }, { open: {}, at: NOW }, { open: [], at: 'now' }, { open: [{ ...view, state: 'burning' }], at: NOW }, '[]', 'null'],
    differences: [[{ open: [], at: NOW + 0.5 }, 'accepted', false]],
  });
});

test("the schema's escalation reasons are exactly the engine's", () => {
  type Missing = Exclude<EscalationReason, (typeof ESCALATION_REASONS)[number]>;
  type Extra = Exclude<(typeof ESCALATION_REASONS)[number], EscalationReason>;
  const none: [Missing, Extra] extends [never, never] ? true : false = true;
  assert.ok(none);
  for (const escalation of ESCALATION_REASONS) assert.ok(Value.Check(AlarmViewSchema, { ...view, state: 'escalated', escalation }), escalation);
});

test("docs/mqtt-api.md's examples (the alarm view, an error report) match the schemas", () => {
  const md = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'mqtt-api.md'), 'utf8');
  const examples = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
  assert.equal(examples.length, 2);
  const [alarmView, errorReport] = examples;
  assert.deepEqual([...Value.Errors(AlarmViewSchema, alarmView)], []);
  assert.ok(parseAlarmView(JSON.stringify(alarmView)).ok);
  assert.deepEqual([...Value.Errors(ErrorReportSchema, errorReport)], []);
});
