/**
 * What the hub itself publishes matches docs/asyncapi.yaml: alarm views and commands from the
 * real alarm engine, the retained open-alarm state from RetainedAlarmState, notices from
 * NoticePublisher and error reports from MessageRouter — each payload checked against its
 * channel's JSON Schema (and the receiver's parse* validator where there is one), each publish
 * against its channel's topic, QoS and retain flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { AlarmEngine, type Cause, type Directory, type Effect } from '../../../hub/core/alarm-engine.ts';
import { ManualClock } from '../../../hub/core/clock.ts';
import type { Principal } from '../../../hub/core/acl.ts';
import type { HubBus, MqttPublisher, PublishOptions } from '../../../hub/app/context.ts';
import type { AlarmService } from '../../../hub/app/alarm-service.ts';
import { RetainedAlarmState } from '../../../hub/app/retained-alarm-state.ts';
import { MessageRouter } from '../../../hub/broker/message-router.ts';
import { NoticePublisher } from '../../../hub/supervision/notice-publisher.ts';
import type { NoticeStore } from '../../../hub/supervision/notice-store.ts';
import type { RegistryStore } from '../../../hub/store/registry-types.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { NotFoundError } from '../../../hub/protocol/errors.ts';
import { channelOfTopic, type ChannelSpec } from '../../../hub/protocol/mqtt-channels.ts';
import { MQTT_SCHEMAS } from '../../../hub/protocol/mqtt-schemas.ts';
import { ALARM_STATES, type AlarmView, parseAlarmView, parseCommand, parseOpenAlarmsState } from '../../../hub/protocol/schema.ts';
import { parseTopic } from '../../../hub/protocol/topics.ts';

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0);

interface Published {
  topic: string;
  payload: string;
  opts: PublishOptions;
}
function recorder(): MqttPublisher & { sent: Published[] } {
  const sent: Published[] = [];
  return { sent, publish: (topic, payload, opts = {}, done) => (sent.push({ topic, payload: payload.toString(), opts }), done?.(null)) };
}
const bus = { emit: () => {}, on: () => () => {}, removeOwner: () => {} } as HubBus;

/** The channel of a concrete topic, from the table. */
function specOf(topic: string): ChannelSpec {
  assert.ok(parseTopic(topic), `${topic} is a topic of the contract`);
  const spec = channelOfTopic(topic);
  assert.ok(spec, `${topic} has a channel`);
  return spec;
}
/** A publish of the hub agrees with its channel: the hub's to send, QoS, retain, payload schema. */
function checkPublish(p: Published): ChannelSpec {
  const spec = specOf(p.topic);
  assert.equal(spec.direction, 'from-hub', `${p.topic}: the hub publishes it`);
  assert.equal(p.opts.qos ?? 0, spec.qos, `${p.topic}: QoS`);
  assert.equal(p.opts.retain ?? false, spec.retained, `${p.topic}: retained`);
  const value = JSON.parse(p.payload);
  const errors = [...Value.Errors(MQTT_SCHEMAS[spec.schema], value)].map((e) => `${e.instancePath} ${e.message}`);
  assert.deepEqual(errors, [], `${p.topic}: ${p.payload}`);
  return spec;
}

// Team t1 (t1-h1, t1-h2, t1-h3); t2-h1 of team t2 is near t1-h1.
const HOUSEHOLDS = ['t1-h1', 't1-h2', 't1-h3', 't2-h1'];
const directory: Directory = {
  household: (id) =>
    HOUSEHOLDS.includes(id)
      ? { id, team: id.slice(0, 2), name: `Nhà ${id}`, address: `${id} Lê Lợi`, lat: id === 't1-h3' ? null : 20.95, lon: id === 't1-h3' ? null : 107.08 }
      : undefined,
  householdsOfTeam: (team) => HOUSEHOLDS.filter((h) => h.startsWith(`${team}-`)),
  nearbyHouseholds: (h) => (h === 't1-h1' ? ['t2-h1'] : []),
};
const src = (household: string, device = `${household}-smoke`) => ({ team: household.slice(0, 2), household, device });
let seq = 0;
const ev = (type: string) => ({ id: `${type}-${++seq}`, type: type as never });
const user = (id: string, role = 'household'): Cause => ({ by: { kind: 'user', id, role }, via: 'mqtt' });
const station: Cause = { by: { kind: 'user', id: 'chief', role: 'station' }, via: 'http' };

/** Alarms through every state, as the hub's engine builds them; each step's effects and the retained state. */
function engineRun(): { effects: Effect[]; concerning: AlarmView[]; retained: Published[] } {
  let n = 0;
  const e = new AlarmEngine({ verifyWindowMs: 20_000, escalateAfterMs: 120_000, resolveQuietMs: 60_000, hushPeriodMs: 300_000 }, directory, () => `A${++n}`);
  const clock = new ClockAt(T0);
  const mqtt = recorder();
  const retained = new RetainedAlarmState({ engine: e, mqtt, clock });
  const effects: Effect[] = [];
  const concerning: AlarmView[] = [];
  const step = (t: number, fx: Effect[] | { ok: boolean; effects?: Effect[] }) => {
    clock.set(t);
    const list = Array.isArray(fx) ? fx : fx.ok ? fx.effects! : assert.fail(`step at ${t} refused: ${JSON.stringify(fx)}`);
    effects.push(...list);
    for (const h of HOUSEHOLDS) concerning.push(...e.alarmsConcerning(h));
    retained.publish(HOUSEHOLDS);
  };
  const idOf = (household: string) => e.openAlarmOf(household)!.id;
  // t1-h1: smoke, verified, answered (a user, an SMS), escalated, seen and dispatched, silenced, resolved.
  step(T0, e.handleDeviceEvent(src('t1-h1'), ev('smoke'), T0));
  step(T0 + 20_000, e.tick(T0 + 20_000));
  const a1 = idOf('t1-h1');
  step(T0 + 25_000, e.handleResponse('t1-h2', a1, 'coming', T0 + 25_000, user('lan')));
  step(T0 + 26_000, e.handleResponse('t1-h3', a1, 'need-help', T0 + 26_000, { by: { kind: 'sms', phone: '+84901234567' }, via: 'sms' }));
  step(T0 + 27_000, e.dispatchByStation(a1, 'acknowledged', {}, T0 + 27_000, station));
  step(T0 + 28_000, e.dispatchByStation(a1, 'dispatched', { etaMin: 7, note: 'truck 2' }, T0 + 28_000, station));
  step(T0 + 29_000, e.handleDeviceEvent(src('t1-h1'), ev('hush'), T0 + 29_000));
  // t1-h2 alarms meanwhile: multiple households.
  step(T0 + 30_000, e.handleDeviceEvent(src('t1-h2'), ev('smoke'), T0 + 30_000));
  // t2-h1 (the other team): hushed in its pre-alarm, all clear, cancelled.
  step(T0 + 31_000, e.handleDeviceEvent(src('t2-h1'), ev('smoke'), T0 + 31_000));
  step(T0 + 32_000, e.handleDeviceEvent(src('t2-h1'), ev('hush'), T0 + 32_000));
  step(T0 + 33_000, e.handleDeviceEvent(src('t2-h1'), ev('clear'), T0 + 33_000));
  step(T0 + 100_000, e.tick(T0 + 100_000));
  step(T0 + 105_000, e.resolveByStation(idOf('t1-h2'), T0 + 105_000, station));
  step(T0 + 110_000, e.resolveByStation(a1, T0 + 110_000, station));
  // A drill, resolved by the station.
  const drill = e.startDrill('t1-h3', T0 + 120_000, station);
  step(T0 + 120_000, drill);
  const drillView = drill.ok ? drill.effects.find((fx) => fx.type === 'announce')?.view : undefined;
  assert.ok(drillView, 'the drill started');
  step(T0 + 130_000, e.resolveByStation(drillView.alarm, T0 + 130_000, station));
  return { effects, concerning, retained: mqtt.sent };
}
class ClockAt extends ManualClock {
  private at: number;
  constructor(t: number) {
    super(t);
    this.at = t;
  }
  set(t: number): void {
    this.at = t;
  }
  override now(): number {
    return this.at;
  }
}

test('alarm views and commands from the real engine match the alert / station alarm / cmd schemas', () => {
  const { effects, concerning } = engineRun();
  const views: AlarmView[] = [...concerning];
  let commands = 0;
  for (const fx of effects) {
    if (fx.type === 'announce') {
      views.push(fx.view);
      // alarm-service.ts sends nearby households the same view, marked.
      if (fx.nearby.length > 0) views.push({ ...fx.view, nearby: true });
    }
    if (fx.type === 'command') {
      commands++;
      const payload = JSON.stringify(fx.command);
      assert.ok(Value.Check(MQTT_SCHEMAS.DeviceCommand, fx.command), payload);
      assert.ok(parseCommand(payload).ok, payload);
    }
  }
  assert.ok(commands > 0, 'the engine silenced sounders');
  const states = new Set(views.map((v) => v.state));
  assert.deepEqual([...states].sort(), [...ALARM_STATES].sort(), 'views of every state were checked');
  assert.ok(views.some((v) => v.nearby) && views.some((v) => v.kind === 'drill') && views.some((v) => v.dispatch?.etaMin === 7));
  assert.ok(views.some((v) => v.escalation === 'neighbour-need-help') && views.some((v) => v.silencedAt !== null && v.silencedAt !== undefined));
  assert.ok(views.some((v) => v.responders.some((r) => r.by?.kind === 'sms')));
  for (const v of views) {
    const payload = JSON.stringify(v);
    checkPublish({ topic: 'smokehub/h/t1-h2/alert', payload, opts: { qos: 1 } });
    checkPublish({ topic: 'smokehub/station/alarm', payload, opts: { qos: 1 } });
    assert.ok(parseAlarmView(payload).ok, payload);
  }
});

test('the retained open-alarm state (RetainedAlarmState) matches the alarms channels: QoS 1, retained, schema', () => {
  const { retained } = engineRun();
  const channels = new Set<string>();
  let nonEmpty = 0;
  for (const p of retained) {
    channels.add(checkPublish(p).id);
    const r = parseOpenAlarmsState(p.payload);
    assert.ok(r.ok, p.payload);
    if (r.value.open.length > 0) nonEmpty++;
  }
  assert.deepEqual([...channels].sort(), ['householdAlarms', 'stationAlarms']);
  assert.ok(nonEmpty > 10, 'states with open alarms were checked');
});

test('notices (NoticePublisher) match the notice channels', () => {
  const mqtt = recorder();
  const store = { insertMany: (items) => items.map((n, i) => ({ ...n, id: i + 1 })) } as Pick<NoticeStore, 'insertMany'> as NoticeStore;
  const publisher = new NoticePublisher({ store, mqtt, bus, clock: new ManualClock(T0), logger: silentLogger(), metrics: new MetricsRegistry() });
  publisher.publishNow(
    [
      { notice: 'device-offline', severity: 'warning', team: 't1', household: 't1-h1', device: 't1-h1-smoke', text: 'Đầu báo khói t1-h1-smoke mất kết nối.' },
      {
        notice: 'self-test-failed',
        severity: 'trouble',
        team: 't1',
        household: 't1-h2',
        device: 't1-h2-smoke',
        text: 'The detector did not answer its self-test.',
      },
      { notice: 'hub-journal-failing', severity: 'trouble', team: null, household: null, device: null, text: 'The hub cannot write its alarm journal.' },
      { notice: 'odd', severity: 'alarm' as never, team: null, household: 't1-h3', device: null, text: 'an unexpected severity becomes trouble' },
    ],
    { station: true },
  );
  assert.deepEqual(new Set(mqtt.sent.map((p) => checkPublish(p).id)), new Set(['householdNotice', 'stationNotice']));
  assert.equal(mqtt.sent.length, 7);
  // A notice is refused by the schema at alarm severity or without its household field.
  const n = JSON.parse(mqtt.sent[0]!.payload);
  assert.ok(!Value.Check(MQTT_SCHEMAS.Notice, { ...n, severity: 'alarm' }));
  assert.ok(!Value.Check(MQTT_SCHEMAS.Notice, { ...n, household: undefined }));
});

test("error reports (MessageRouter) match the device's error channel: QoS 0, schema", () => {
  const mqtt = recorder();
  const registry = {
    getDevice: (id: string) => (id.startsWith('t1-h1-') ? { id, team: 't1', household: 't1-h1', kind: 'smoke' } : undefined),
  } as unknown as RegistryStore;
  const alarms = {
    handleDeviceEvent: () => true,
    handleTelemetry: () => {},
    respond: () => {
      throw new NotFoundError('no open alarm A404');
    },
  } as unknown as AlarmService;
  const router = new MessageRouter({ registry, alarms, bus, mqtt, clock: new ManualClock(T0), logger: silentLogger(), metrics: new MetricsRegistry() });
  const dev: Principal = { type: 'device', device: 't1-h1-smoke', household: 't1-h1', team: 't1' };
  const send = (topic: string, payload: string) => router.route(dev, dev.device, topic, Buffer.from(payload));
  const ev = 'smokehub/h/t1-h1/d/t1-h1-smoke/event';
  send(ev, '{"id":');
  send(ev, '{"id":"e1","type":"fire"}');
  send(ev, '{"id":"e1","type":"smoke","colour":"red","level":"x"}');
  send(ev, JSON.stringify({ id: 'e2', type: 'smoke', ts: 'yesterday' }));
  send(ev, JSON.stringify({ id: 'e3', type: 'smoke', pad: 'x'.repeat(2000) }));
  send('smokehub/h/t1-h1/d/t1-h1-other/event', '{"id":"e4","type":"smoke"}');
  send(`smokehub/h/t1-h1/d/t1-h1-smoke/telemetry`, JSON.stringify({ smoke: 5, battery: 120, ['k'.repeat(40)]: 1 }));
  send(`smokehub/h/t1-h1/d/t1-h1-smoke/status`, 'maybe');
  send('smokehub/h/t1-h1/response', '{"alarm":"A404","response":"coming"}');
  send('smokehub/h/t1-h1/response', '{"alarm":"A1","response":"yes"}');
  const codes = new Set<string>();
  for (const p of mqtt.sent) {
    assert.equal(checkPublish(p).id, 'deviceError');
    assert.equal(p.topic, 'smokehub/h/t1-h1/d/t1-h1-smoke/error');
    const report = JSON.parse(p.payload) as { error: string; issues: Array<{ code: string }> };
    assert.equal(report.error, report.issues[0]!.code);
    for (const i of report.issues) codes.add(i.code);
  }
  assert.deepEqual([...codes].sort(), ['bad_field', 'bad_json', 'bad_payload', 'forbidden', 'not_found', 'oversize', 'unknown_field', 'unknown_type']);
});
