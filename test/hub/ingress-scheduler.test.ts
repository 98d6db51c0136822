import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { IngressScheduler, isTelemetryPublish, type SchedulableClient } from '../../hub/broker/ingress-scheduler.ts';
import { startTestHub } from '../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../helpers/mqtt-clients.ts';

const telemetry = (n: number) => ({ cmd: 'publish', topic: 'smokehub/h/a/d/a-smoke/telemetry', n });
const event = (n: number) => ({ cmd: 'publish', topic: 'smokehub/h/b/d/b-smoke/event', n });

/** Stands in for an Aedes client: its one 'packet' listener is Aedes' handler (counts a batch, handles, releases). */
class FakeClient implements SchedulableClient {
  _parser = new EventEmitter();
  _parsingBatch = 0;
  connackSent = true;
  closed = false;
  constructor(readonly name: string, handled: string[]) {
    this._parser.on('packet', (p: { n: number }) => {
      this._parsingBatch++;
      handled.push(`${name}${p.n}`);
      this._nextBatch();
    });
  }
  _nextBatch = () => {
    this._parsingBatch--;
  };
  send(p: unknown) {
    this._parser.emit('packet', p);
  }
}

/** A scheduler whose turns the test runs by hand, with a clock that advances `perCall` ms per reading. */
function manual(sliceMs = 2, perCall = 0) {
  const turns: Array<() => void> = [];
  let t = 0;
  const s = new IngressScheduler({ sliceMs, now: () => (t += perCall), defer: (fn) => void turns.push(fn) });
  const runTurn = () => turns.shift()?.();
  const runAll = () => {
    while (turns.length > 0) runTurn();
  };
  return { s, turns, runTurn, runAll };
}

test('telemetry waits; an event from another connection is handled at once, ahead of it', () => {
  const handled: string[] = [];
  const { s, runAll } = manual();
  const a = new FakeClient('a', handled);
  const b = new FakeClient('b', handled);
  assert.ok(s.attach(a) && s.attach(b));
  for (let i = 0; i < 5; i++) a.send(telemetry(i));
  b.send(event(0));
  assert.deepEqual(handled, ['b0'], 'the event was handled while telemetry waits');
  assert.equal(s.depth, 5);
  assert.equal(a._parsingBatch, 5, 'each waiting packet holds its connection (no further reads)');
  runAll();
  assert.deepEqual(handled, ['b0', 'a0', 'a1', 'a2', 'a3', 'a4']);
  assert.equal(a._parsingBatch, 0, 'every hold released');
  assert.equal(s.depth, 0);
});

test("a connection's packets keep their order: an event after its own telemetry waits behind it", () => {
  const handled: string[] = [];
  const { s, runAll } = manual();
  const a = new FakeClient('a', handled);
  s.attach(a);
  a.send(telemetry(0));
  a.send(telemetry(1));
  a.send({ cmd: 'puback', n: 2 });
  a.send(event(3));
  assert.deepEqual(handled, []);
  runAll();
  assert.deepEqual(handled, ['a0', 'a1', 'a2', 'a3']);
  // Nothing waiting any more: the next event is handled at once again.
  a.send(event(4));
  assert.deepEqual(handled.at(-1), 'a4');
});

test('the queue is handled in slices of bounded time, and each slice yields to the event loop', () => {
  const handled: string[] = [];
  const { s, turns, runTurn } = manual(2, 0.1); // the clock moves 0.1 ms each time it is read (every 8 packets)
  const a = new FakeClient('a', handled);
  s.attach(a);
  for (let i = 0; i < 1000; i++) a.send(telemetry(i));
  assert.equal(turns.length, 1, 'one turn scheduled, not one per packet');
  runTurn();
  const first = handled.length;
  assert.ok(first > 0 && first < 1000, `one slice handled ${first}`);
  assert.equal(turns.length, 1, 'the rest is left for a later turn');
  let slices = 1;
  while (turns.length > 0) {
    runTurn();
    slices++;
  }
  assert.equal(handled.length, 1000);
  assert.ok(slices > 5, `${slices} slices`);
  assert.deepEqual(handled.slice(0, 3), ['a0', 'a1', 'a2']);
  assert.equal(handled.at(-1), 'a999');
});

test('packets before CONNACK go straight to Aedes; a closed connection\'s waiting packets are dropped unacknowledged', () => {
  const handled: string[] = [];
  const { s, runAll } = manual();
  const a = new FakeClient('a', handled);
  s.attach(a);
  a.connackSent = false;
  a.send(telemetry(0));
  assert.deepEqual(handled, ['a0']);
  a.connackSent = true;
  a.send(telemetry(1));
  a.send(telemetry(2));
  a.closed = true;
  runAll();
  assert.deepEqual(handled, ['a0'], 'nothing handled for a closed connection (the device resends QoS 1)');
  assert.equal(s.depth, 0);
});

test('attach() refuses a client whose internals are not the expected ones', () => {
  const s = new IngressScheduler();
  assert.equal(s.attach({} as SchedulableClient), false);
  const c = new FakeClient('c', []);
  c._parser.on('packet', () => {}); // two listeners: not the layout this hook knows
  assert.equal(s.attach(c), false);
  assert.equal(isTelemetryPublish(telemetry(0)), true);
  assert.equal(isTelemetryPublish(event(0)), false);
  assert.equal(isTelemetryPublish({ cmd: 'pingreq' }), false);
});

test('real broker: an alarm overtakes a telemetry flood from another device; nothing is lost and each device keeps its order', { timeout: 60_000 }, async (t) => {
  const th = await startTestHub({ extensions: [] });
  const pool = new ClientPool();
  t.after(async () => {
    await pool.closeAll();
    await th.stop();
  });
  const N = 3000;
  const smokeSeen: number[] = [];
  th.hub.ctx.bus.on('telemetry', (_ref, r) => smokeSeen.push(r.values.smoke!));
  const atEvent = new Map<string, { depth: number; telemetry: number }>();
  th.hub.ctx.bus.on('device-event', (ref, e) => atEvent.set(`${ref.device}:${e.type}`, { depth: th.hub.broker.ingressDepth, telemetry: smokeSeen.length }));

  const flooder = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const origin = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  const neighbour = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  await neighbour.subscribeAsync('smokehub/h/t1-h3/alert', { qos: 1 });
  const inbox = new Inbox(neighbour);

  const acks: Array<Promise<unknown>> = [];
  for (let i = 0; i < N; i++) acks.push(flooder.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify({ battery: 80, smoke: i }), { qos: 1 }));
  acks.push(flooder.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'flood-end', type: 'clear' }), { qos: 1 }));
  // Once telemetry is waiting in the hub, another household's detector sends smoke.
  const deadline = Date.now() + 10_000;
  while (th.hub.broker.ingressDepth === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.ok(th.hub.broker.ingressDepth > 0, 'telemetry is waiting in the hub');
  await origin.publishAsync('smokehub/h/t1-h2/d/t1-h2-smoke/event', JSON.stringify({ id: 'fire-1', type: 'smoke' }), { qos: 1 });
  const alert = await inbox.next((m) => m.json().state === 'active', 5000, 'active alert');
  assert.equal(alert.json().origin.household, 't1-h2');

  const smoke = atEvent.get('t1-h2-smoke:smoke');
  assert.ok(smoke, 'the smoke event reached the alarm service');
  assert.ok(smoke.depth > 0 && smoke.telemetry < N, `the smoke event went ahead of waiting telemetry (waiting ${smoke.depth}, handled ${smoke.telemetry} of ${N})`);

  await Promise.all(acks);
  assert.equal(smokeSeen.length, N, 'every reading handled once');
  assert.deepEqual(smokeSeen, Array.from({ length: N }, (_, i) => i), 'in the order the device sent them');
  assert.deepEqual(atEvent.get('t1-h1-smoke:clear'), { depth: 0, telemetry: N }, "the flooder's own event came after all its readings");
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  const deferred = Number(/^smokehub_ingress_deferred_total (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(deferred >= 1 && deferred <= N + 1, `deferred ${deferred}`);
  assert.match(metrics, /^smokehub_ingress_queue_depth 0$/m);
});
