import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  alarmTransitionPoint,
  decodePoint,
  decodeStoredPoint,
  deviceEventPoint,
  encodePoint,
  EventTimeSeparator,
  linePoint,
  parseLinePoint,
  PRIORITY,
  telemetryPoint,
} from '../../../hub/telemetry/point.ts';
import { bucketWidth, MAX_SERIES_POINTS } from '../../../hub/telemetry/telemetry-store.ts';
import type { DeviceRef } from '../../../hub/app/context.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';

const ref: DeviceRef = { team: 't1', household: 'h1', device: 'd1', kind: 'smoke' };
const T = Date.UTC(2026, 0, 1, 8);

test('telemetry: device time when given, else the hub clock; only numeric fields; identical on replay', () => {
  const a = telemetryPoint(ref, { ts: T - 5000, values: { battery: 88, smoke: 3 } }, T)!;
  assert.deepEqual(a, {
    measurement: 'telemetry',
    tags: { team: 't1', household: 'h1', device: 'd1', kind: 'smoke' },
    fields: { smoke: 3, battery: 88 },
    ts: T - 5000,
    priority: PRIORITY.telemetry,
  });
  assert.equal(telemetryPoint(ref, { values: { co: 1 } }, T)!.ts, T);
  assert.equal(telemetryPoint(ref, { values: {} }, T), null);
  assert.equal(encodePoint(telemetryPoint(ref, { ts: T - 5000, values: { smoke: 3, battery: 88 } }, T + 99)!), encodePoint(a));
  assert.deepEqual(decodePoint(encodePoint(a)), a);
});

test('device events: alarm kinds rank highest, duplicates give no point', () => {
  const smoke = deviceEventPoint(ref, { id: 'e1', type: 'smoke', level: 700 }, T, false)!;
  assert.equal(smoke.priority, PRIORITY.alarm);
  assert.deepEqual(smoke.tags, { ...ref, type: 'smoke' });
  assert.deepEqual(smoke.fields, { id: 'e1', level: 700 });
  assert.equal(deviceEventPoint(ref, { id: 'e2', type: 'test' }, T, false)!.priority, PRIORITY.event);
  assert.equal(deviceEventPoint(ref, { id: 'e1', type: 'smoke' }, T, true), null);
});

test('alarm transitions: origin tags, state, updatedAt', () => {
  const view: AlarmView = {
    alarm: 'a1',
    state: 'escalated',
    kind: 'heat',
    team: 't2',
    origin: { household: 'h9', name: '', address: '', lat: null, lon: null, device: 'd9' },
    raisedAt: T,
    updatedAt: T + 120_000,
    responders: [{ household: 'h8', response: 'coming', at: T + 1 }],
  };
  assert.deepEqual(alarmTransitionPoint(view, 'escalated'), {
    measurement: 'events',
    tags: { team: 't2', household: 'h9', device: 'd9', kind: 'heat', type: 'escalated', state: 'escalated' },
    fields: { alarm: 'a1', responders: 1 },
    ts: T + 120_000,
    priority: PRIORITY.alarm,
  });
});

test('two events of one series in the same millisecond get distinct, deterministic times', () => {
  const run = () => {
    const sep = new EventTimeSeparator();
    const e1 = deviceEventPoint(ref, { id: 'a', type: 'test' }, T, false)!;
    const e2 = deviceEventPoint(ref, { id: 'b', type: 'test' }, T, false)!;
    const e3 = deviceEventPoint(ref, { id: 'c', type: 'fault' }, T, false)!;
    return [sep.separate(e1).ts, sep.separate(e2).ts, sep.separate(e3).ts];
  };
  assert.deepEqual(run(), [T, T + 1, T]);
  assert.deepEqual(run(), run());
  const sep = new EventTimeSeparator();
  const p = telemetryPoint(ref, { values: { battery: 1 } }, T)!;
  assert.equal(sep.separate(p), p);
  assert.equal(sep.separate(p), p, 'telemetry is never moved');
});

test('bucket width keeps a range within the bound and honours a wider request', () => {
  const day = 86_400_000;
  for (const span of [60_000, 3_600_000, day, 7 * day, 30 * day, 365 * day, 730 * day]) {
    const w = bucketWidth(0, span);
    assert.ok(Math.ceil(span / w) <= MAX_SERIES_POINTS, `span ${span}: ${w}`);
  }
  assert.equal(bucketWidth(0, day, 3_600_000), 3_600_000);
  assert.equal(bucketWidth(0, day, 1000), 120_000, 'a too-fine request is widened to the next nice width');
});

test('InfluxDB lines: sorted tags, float and string fields, ms time; read back exactly; earlier JSON rows still read', () => {
  const t = telemetryPoint(ref, { ts: T, values: { smoke: 3, temperature: 21.25, battery: 88 } }, T)!;
  assert.equal(linePoint(t), `telemetry,device=d1,household=h1,kind=smoke,team=t1 smoke=3,temperature=21.25,battery=88 ${T}`);
  assert.deepEqual(parseLinePoint(linePoint(t), PRIORITY.telemetry), t);
  const odd = deviceEventPoint(
    { team: 't 1', household: 'h,1', device: 'd=1', kind: 'smoke' },
    { id: 'say "hi" \\ now', type: 'test', level: 0.1 + 0.2 },
    T,
    false,
  )!;
  const line = linePoint(odd);
  assert.equal(line, `events,device=d\\=1,household=h\\,1,kind=smoke,team=t\\ 1,type=test id="say \\"hi\\" \\\\ now",level=0.30000000000000004 ${T}`);
  assert.deepEqual(parseLinePoint(line, odd.priority), odd);
  const transition = alarmTransitionPoint(
    {
      alarm: 'A1',
      team: 't1',
      kind: 'smoke',
      state: 'active',
      origin: { household: 'h1', device: 'd1' },
      responders: [],
      updatedAt: T,
    } as unknown as AlarmView,
    'activated',
  );
  assert.match(linePoint(transition), /^events,device=d1,household=h1,kind=smoke,state=active,team=t1,type=activated alarm="A1",responders=0 \d+$/);
  assert.deepEqual(decodeStoredPoint(encodePoint(t), PRIORITY.telemetry), t, 'an outbox row written as JSON by an earlier version');
  assert.deepEqual(decodeStoredPoint(linePoint(transition), PRIORITY.alarm), transition);
});
