/**
 * The inbound handlers (hub/broker/handlers/*.ts) and the message router in front of them, with fake
 * ports (broker/ports.ts): a valid message reaches the alarm sink and the bus; an invalid one is
 * rejected with its error code, and — through the router — logged (rate-limited), counted in
 * smokehub_rejects_total and answered on the device's `error` topic, never thrown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { ManualClock } from '../../../hub/core/clock.ts';
import type { Principal } from '../../../hub/core/acl.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, SmokehubError } from '../../../hub/protocol/errors.ts';
import { topics } from '../../../hub/protocol/topics.ts';
import type { DeviceEvents, DeviceRef, InboundAlarmSink, PublishOptions } from '../../../hub/broker/ports.ts';
import type { DeviceMessage, InboundServices } from '../../../hub/broker/handlers/inbound.ts';
import { handleEvent } from '../../../hub/broker/handlers/event.ts';
import { handleTelemetry } from '../../../hub/broker/handlers/telemetry.ts';
import { handleStatus } from '../../../hub/broker/handlers/status.ts';
import { handleResponse } from '../../../hub/broker/handlers/response.ts';
import { MessageRouter } from '../../../hub/broker/message-router.ts';

const NOW = Date.UTC(2026, 10, 29, 8, 0, 0);
const smoke: DeviceRef = { team: 't1', household: 'h1', device: 'h1-smoke', kind: 'smoke' };
const panic: DeviceRef = { team: 't1', household: 'h1', device: 'h1-panic', kind: 'panic' };
const deviceOf = (ref: DeviceRef): Principal => ({ type: 'device', device: ref.device, household: ref.household, team: ref.team });
const phone: Principal = { type: 'user', username: 'lan', role: 'household', team: 't1', household: 'h1' };

type Logged = { level: string; obj: Record<string, unknown>; msg: string };
function fakeLogger(lines: Logged[]): Logger {
  const logger = {
    child: () => logger,
    ...Object.fromEntries(
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((level) => [
        level,
        (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg }),
      ]),
    ),
  };
  return logger as unknown as Logger;
}

/** Records what reaches the alarm sink; `respond` and the freshness of events can be set. */
function fakeAlarms(opts: { fresh?: boolean; respond?: () => void } = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const sink: InboundAlarmSink = {
    handleDeviceEvent: (src, event, at) => {
      calls.push(['event', src, event, at]);
      return opts.fresh ?? true;
    },
    handleTelemetry: (src, reading, at) => void calls.push(['telemetry', src, reading, at]),
    respond: (household, alarm, response, cause) => {
      calls.push(['respond', household, alarm, response, cause]);
      opts.respond?.();
    },
  };
  return { sink, calls };
}

function fakeBus() {
  const emitted: Array<[keyof DeviceEvents, ...unknown[]]> = [];
  return { bus: { emit: <K extends keyof DeviceEvents>(event: K, ...args: DeviceEvents[K]) => void emitted.push([event, ...args]) }, emitted };
}

function services(opts: Parameters<typeof fakeAlarms>[0] = {}) {
  const alarms = fakeAlarms(opts);
  const { bus, emitted } = fakeBus();
  const rejected: Array<{ codes: string[]; channel: string }> = [];
  const faults: Array<{ ref: DeviceRef; why: string }> = [];
  const logged: Logged[] = [];
  const s: InboundServices = {
    alarms: alarms.sink,
    bus,
    log: fakeLogger(logged),
    reject: (issues, channel) => void rejected.push({ codes: issues.map((i) => i.code), channel }),
    markFault: (ref, why) => void faults.push({ ref, why }),
  };
  return { s, calls: alarms.calls, emitted, rejected, faults, logged };
}

const msg = (ref: DeviceRef, payload: string | object): DeviceMessage => ({
  principal: deviceOf(ref),
  ref,
  payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  now: NOW,
});

const GARBAGE = ['', 'not json', '[]', 'null', '42', '"smoke"', '{', '{"id":', '\u0000\u0001', '{"__proto__":{"x":1}}', 'x'.repeat(2000)];

// ---- event ----------------------------------------------------------------------------------

test('event: a valid smoke event reaches the alarm sink, then the bus, and may be forwarded', () => {
  const t = services();
  assert.equal(handleEvent(t.s, msg(smoke, { id: 'e1', type: 'smoke', level: 3 })), 'forward');
  assert.deepEqual(t.calls, [['event', smoke, { id: 'e1', type: 'smoke', level: 3 }, NOW]]);
  assert.deepEqual(t.emitted, [['device-event', smoke, { id: 'e1', type: 'smoke', level: 3 }, NOW, false]]);
  assert.deepEqual(t.rejected, []);
  assert.deepEqual(t.faults, []);
});

test('event: a duplicate (the sink has seen it) is told to the bus as a duplicate and not forwarded again', () => {
  const t = services({ fresh: false });
  assert.equal(handleEvent(t.s, msg(smoke, { id: 'e1', type: 'smoke' })), 'drop');
  assert.equal(t.calls.length, 1);
  assert.deepEqual(t.emitted, [['device-event', smoke, { id: 'e1', type: 'smoke' }, NOW, true]]);
});

test('event: a bad ts is dropped and reported, the event itself still raises the alarm', () => {
  const t = services();
  assert.equal(handleEvent(t.s, msg(smoke, { id: 'e2', type: 'smoke', ts: 'yesterday' })), 'forward');
  assert.deepEqual(t.calls, [['event', smoke, { id: 'e2', type: 'smoke' }, NOW]]);
  assert.deepEqual(t.rejected, [{ codes: [ERROR_CODES.BAD_FIELD], channel: 'event' }]);
});

test('event: malformed from a detector is rejected with its code and marks the detector faulty; nothing reaches the sink', () => {
  const cases: Array<[string | object, string]> = [
    ['not json', ERROR_CODES.BAD_JSON],
    [{ id: 'e3', type: 'fire' }, ERROR_CODES.UNKNOWN_TYPE],
    [{ id: '', type: 'smoke' }, ERROR_CODES.BAD_FIELD],
    [{ id: 'e4', type: 'smoke', colour: 'red' }, ERROR_CODES.UNKNOWN_FIELD],
  ];
  for (const [payload, code] of cases) {
    const t = services();
    assert.equal(handleEvent(t.s, msg(smoke, payload)), 'drop');
    assert.equal(t.rejected[0]?.codes[0], code, JSON.stringify(payload));
    assert.equal(t.rejected[0]?.channel, 'event');
    assert.equal(t.faults.length, 1, 'a detector sending garbage may be failing');
    assert.equal(t.faults[0]!.ref, smoke);
    assert.deepEqual(t.calls, [], 'never taken as an event (least of all as a clear)');
    assert.deepEqual(t.emitted, []);
  }
});

test('event: malformed from a panic button is rejected but does not mark it faulty (not a detector)', () => {
  const t = services();
  assert.equal(handleEvent(t.s, msg(panic, { id: 'e5', type: 'boom' })), 'drop');
  assert.deepEqual(t.rejected, [{ codes: [ERROR_CODES.UNKNOWN_TYPE], channel: 'event' }]);
  assert.deepEqual(t.faults, []);
});

// ---- telemetry ------------------------------------------------------------------------------

test('telemetry: valid readings reach the alarm sink (fire evidence) before the bus (storage)', () => {
  const t = services();
  const order: string[] = [];
  t.s.alarms.handleTelemetry = () => void order.push('alarms');
  const bus = t.s.bus;
  t.s.bus = {
    emit: <K extends keyof DeviceEvents>(event: K, ...args: DeviceEvents[K]) => {
      order.push('bus');
      bus.emit(event, ...args);
    },
  };
  assert.equal(handleTelemetry(t.s, msg(smoke, { temperature: 31.5, smoke: 12 })), 'forward');
  assert.deepEqual(order, ['alarms', 'bus']);
  assert.deepEqual(t.emitted, [['telemetry', smoke, { values: { temperature: 31.5, smoke: 12 } }, NOW]]);
  assert.deepEqual(t.rejected, []);
});

test('telemetry: invalid fields are reported and dropped, the valid ones kept', () => {
  const t = services();
  assert.equal(handleTelemetry(t.s, msg(smoke, { temperature: 900, humidity: 40, wind: 3 })), 'forward');
  assert.deepEqual(t.calls, [['telemetry', smoke, { values: { humidity: 40 } }, NOW]]);
  assert.deepEqual(t.rejected, [{ codes: [ERROR_CODES.BAD_FIELD, ERROR_CODES.UNKNOWN_FIELD], channel: 'telemetry' }]);
});

test('telemetry: nothing storable is rejected with its code; neither the sink nor the bus hears it', () => {
  for (const [payload, codes] of [
    ['{', [ERROR_CODES.BAD_JSON]],
    [{}, [ERROR_CODES.BAD_PAYLOAD]],
    [{ temperature: 'hot' }, [ERROR_CODES.BAD_FIELD]],
  ] as Array<[string | object, string[]]>) {
    const t = services();
    assert.equal(handleTelemetry(t.s, msg(smoke, payload)), 'drop');
    assert.deepEqual(t.rejected, [{ codes, channel: 'telemetry' }], JSON.stringify(payload));
    assert.deepEqual(t.calls, []);
    assert.deepEqual(t.emitted, []);
    assert.deepEqual(t.faults, [], 'bad telemetry does not mark a detector faulty');
  }
});

// ---- status ---------------------------------------------------------------------------------

test('status: online/offline go to the bus (supervision); anything else is rejected', () => {
  const t = services();
  assert.equal(handleStatus(t.s, msg(smoke, 'offline')), 'forward');
  assert.equal(handleStatus(t.s, msg(smoke, ' online\n')), 'forward');
  assert.deepEqual(t.emitted, [
    ['device-status', smoke, 'offline', NOW],
    ['device-status', smoke, 'online', NOW],
  ]);
  assert.equal(handleStatus(t.s, msg(smoke, 'asleep')), 'drop');
  assert.deepEqual(t.rejected, [{ codes: [ERROR_CODES.BAD_PAYLOAD], channel: 'status' }]);
  assert.equal(t.emitted.length, 2);
  assert.deepEqual(t.calls, []);
});

// ---- response -------------------------------------------------------------------------------

test('response: a valid answer reaches the alarm sink with who gave it, is logged and forwarded', () => {
  const t = services();
  const body = Buffer.from(JSON.stringify({ alarm: 'A1', response: 'coming' }));
  assert.equal(handleResponse(t.s, phone, 'h1', body), 'forward');
  assert.equal(handleResponse(t.s, deviceOf(panic), 'h1', body), 'forward');
  assert.deepEqual(t.calls, [
    ['respond', 'h1', 'A1', 'coming', { by: { kind: 'user', id: 'lan', role: 'household' }, via: 'mqtt' }],
    ['respond', 'h1', 'A1', 'coming', { by: { kind: 'device', id: 'h1-panic' }, via: 'mqtt' }],
  ]);
  assert.deepEqual(
    t.logged.map((l) => [l.level, l.msg, l.obj.user ?? l.obj.device, l.obj.alarm]),
    [
      ['info', 'response recorded', 'lan', 'A1'],
      ['info', 'response recorded', 'h1-panic', 'A1'],
    ],
  );
});

test('response: a malformed answer is rejected with its code and never reaches the sink', () => {
  for (const [payload, code] of [
    ['nope', ERROR_CODES.BAD_JSON],
    [{ alarm: 'A1', response: 'maybe' }, ERROR_CODES.BAD_FIELD],
    [{ response: 'coming' }, ERROR_CODES.BAD_FIELD],
  ] as Array<[string | object, string]>) {
    const t = services();
    const body = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    assert.equal(handleResponse(t.s, phone, 'h1', body), 'drop');
    assert.equal(t.rejected[0]?.codes[0], code, JSON.stringify(payload));
    assert.equal(t.rejected[0]?.channel, 'response');
    assert.deepEqual(t.calls, []);
  }
});

test('response: a refusal by the alarm side (typed error) is rejected with its code, not thrown', () => {
  for (const [err, code] of [
    [new NotFoundError('no alarm A9'), ERROR_CODES.NOT_FOUND],
    [new ForbiddenError('not your alarm'), ERROR_CODES.FORBIDDEN],
    [new SmokehubError(ERROR_CODES.CONFLICT, 'already resolved'), ERROR_CODES.CONFLICT],
  ] as const) {
    const t = services({
      respond: () => {
        throw err;
      },
    });
    assert.equal(handleResponse(t.s, phone, 'h1', Buffer.from('{"alarm":"A9","response":"coming"}')), 'drop');
    assert.deepEqual(t.rejected, [{ codes: [code], channel: 'response' }]);
    assert.deepEqual(t.logged, [], 'not logged as recorded');
  }
});

test('response: an unexpected failure of the alarm side is not disguised as a refusal (the broker counts it as internal)', () => {
  const t = services({
    respond: () => {
      throw new TypeError('bug');
    },
  });
  assert.throws(() => handleResponse(t.s, phone, 'h1', Buffer.from('{"alarm":"A1","response":"coming"}')), TypeError);
  assert.deepEqual(t.rejected, []);
});

test('no handler throws on garbage', () => {
  for (const g of GARBAGE) {
    const t = services();
    assert.equal(handleEvent(t.s, msg(smoke, g)), 'drop', `event ${JSON.stringify(g.slice(0, 20))}`);
    assert.equal(handleTelemetry(t.s, msg(smoke, g)), 'drop');
    assert.equal(handleStatus(t.s, msg(smoke, g)), 'drop');
    assert.equal(handleResponse(t.s, phone, 'h1', Buffer.from(g)), 'drop');
    assert.equal(t.rejected.length, 4, 'each is rejected');
    assert.deepEqual(t.calls, []);
    assert.deepEqual(t.emitted, []);
  }
});

// ---- the router: logged, counted, answered ---------------------------------------------------

function router(opts: Parameters<typeof fakeAlarms>[0] = {}) {
  const alarms = fakeAlarms(opts);
  const { bus, emitted } = fakeBus();
  const published: Array<{ topic: string; body: Record<string, unknown>; opts?: PublishOptions }> = [];
  const logged: Logged[] = [];
  const metrics = new MetricsRegistry();
  const clock = new ManualClock(NOW);
  const devices = new Map([smoke, panic].map((r) => [r.device, { id: r.device, household: r.household, team: r.team, kind: r.kind, enrolledAt: 0 }]));
  const r = new MessageRouter({
    registry: { getDevice: (id) => devices.get(id) },
    alarms: alarms.sink,
    bus,
    mqtt: { publish: (topic, payload, o) => void published.push({ topic, body: JSON.parse(String(payload)), opts: o }) },
    clock,
    logger: fakeLogger(logged),
    metrics,
  });
  const rejects = (reason: string, channel: string) => metrics.counter('smokehub_rejects_total', '').get({ reason, channel });
  const messagesIn = (channel: string) => metrics.counter('smokehub_messages_in_total', '').get({ channel });
  return { r, calls: alarms.calls, emitted, published, logged, clock, rejects, messagesIn };
}
const eventTopic = (ref: DeviceRef) => topics.device(ref.household, ref.device, 'event');

test('router: a valid event reaches the alarm sink; the device is heard first; counted in, nothing rejected', () => {
  const t = router();
  assert.equal(t.r.route(deviceOf(smoke), 'c1', eventTopic(smoke), Buffer.from('{"id":"e1","type":"smoke"}')), 'forward');
  assert.deepEqual(
    t.emitted.map((e) => e[0]),
    ['device-heard', 'device-event'],
  );
  assert.deepEqual(t.calls, [['event', smoke, { id: 'e1', type: 'smoke' }, NOW]]);
  assert.equal(t.messagesIn('event'), 1);
  assert.deepEqual(t.published, []);
  assert.deepEqual(t.logged, []);
});

test('router: a malformed event is counted, logged, answered on the device error topic and marks the detector faulty', () => {
  const t = router();
  assert.equal(t.r.route(deviceOf(smoke), 'c1', eventTopic(smoke), Buffer.from('{"id":"e1","type":"fire"}')), 'drop');
  assert.equal(t.rejects(ERROR_CODES.UNKNOWN_TYPE, 'event'), 1);
  assert.deepEqual(t.calls, []);
  const [answer] = t.published;
  assert.equal(answer?.topic, topics.device('h1', 'h1-smoke', 'error'));
  assert.equal(answer?.body.error, ERROR_CODES.UNKNOWN_TYPE);
  assert.equal(answer?.body.topic, eventTopic(smoke));
  assert.deepEqual(answer?.opts, { qos: 0 });
  assert.ok(t.logged.some((l) => l.level === 'warn' && l.msg === 'rejected input' && l.obj.device === 'h1-smoke'));
  const fault = t.emitted.find((e) => e[0] === 'device-event');
  assert.equal((fault?.[2] as { type: string } | undefined)?.type, 'fault', 'reported as a fault, never as a clear');
});

test('router: every rejection is counted, the log line once a minute per sender and reason', () => {
  const t = router();
  for (let i = 0; i < 5; i++) t.r.route(deviceOf(smoke), 'c1', eventTopic(smoke), Buffer.from('garbage'));
  assert.equal(t.rejects(ERROR_CODES.BAD_JSON, 'event'), 5);
  assert.equal(t.published.length, 5, 'each one answered');
  assert.equal(t.logged.filter((l) => l.msg === 'rejected input').length, 1);
  t.clock.advance(60_000);
  t.r.route(deviceOf(smoke), 'c1', eventTopic(smoke), Buffer.from('garbage'));
  const lines = t.logged.filter((l) => l.msg === 'rejected input');
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.obj.repeatsHeldBack, 4);
});

test('router: publishing outside its own topics is forbidden (acl), an oversize payload is refused before any handler', () => {
  const t = router();
  assert.equal(t.r.route(deviceOf(smoke), 'c1', topics.device('h2', 'h2-smoke', 'event'), Buffer.from('{"id":"e1","type":"smoke"}')), 'drop');
  assert.equal(t.rejects(ERROR_CODES.FORBIDDEN, 'acl'), 1);
  assert.equal(t.r.route(deviceOf(smoke), 'c1', eventTopic(smoke), Buffer.alloc(5000, 0x20)), 'drop');
  assert.equal(t.rejects(ERROR_CODES.OVERSIZE, 'event'), 1);
  assert.deepEqual(t.calls, []);
  assert.deepEqual(
    t.published.map((p) => p.body.error),
    [ERROR_CODES.FORBIDDEN, ERROR_CODES.OVERSIZE],
  );
});

test('router: a person is never answered on a device topic; a refused response is counted and logged', () => {
  const t = router({
    respond: () => {
      throw new NotFoundError('no alarm A9');
    },
  });
  assert.equal(t.r.route(phone, 'p1', topics.household('h1', 'response'), Buffer.from('{"alarm":"A9","response":"coming"}')), 'drop');
  assert.equal(t.rejects(ERROR_CODES.NOT_FOUND, 'response'), 1);
  assert.deepEqual(t.published, []);
  assert.ok(t.logged.some((l) => l.msg === 'rejected input' && l.obj.user === 'lan'));
});
