import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Client } from 'aedes';
import { IngressScheduler, isTelemetryPublish, type ReadLoop } from '../../../hub/broker/ingress-scheduler.ts';
import { readLoopOf } from '../../../hub/broker/aedes-internals.ts';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';

const telemetry = (n: number) => ({ cmd: 'publish', topic: 'smokehub/h/a/d/a-smoke/telemetry', n });
const event = (n: number) => ({ cmd: 'publish', topic: 'smokehub/h/b/d/b-smoke/event', n });

/**
 * Stands in for an Aedes client: its one 'packet' listener is Aedes' handler (counts a batch,
 * handles, completes), `_nextBatch` is Aedes' (reads the socket when the batch count falls to 0),
 * and it is the connection's 'readable' listener.
 */
class FakeClient {
  _parser = new EventEmitter();
  conn = new EventEmitter();
  _parsingBatch = 0;
  connackSent = true;
  closed = false;
  reads = 0;
  constructor(
    readonly name: string,
    handled: string[],
  ) {
    this._parser.on('packet', (p: { n: number }) => {
      this._parsingBatch++;
      handled.push(`${name}${p.n}`);
      this._nextBatch();
    });
    this.conn.on('readable', this._nextBatch);
  }
  _nextBatch = () => {
    this._parsingBatch--;
    if (this._parsingBatch <= 0) {
      this._parsingBatch = 0;
      this.reads++;
    }
  };
  send(p: unknown) {
    this._parser.emit('packet', p);
  }
  /** Its read loop, as aedes-internals.ts reads it from a real Aedes client. */
  get loop(): ReadLoop {
    return readLoopOf(this as unknown as Client)!;
  }
}

/** A scheduler whose turns the test runs by hand, with a clock that advances `perCall` ms per reading. */
function manual(opts: { sliceMs?: number; perCall?: number; perConnection?: number; total?: number } = {}) {
  const turns: Array<() => void> = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  let t = 0;
  const s = new IngressScheduler({
    sliceMs: opts.sliceMs ?? 2,
    perConnection: opts.perConnection,
    total: opts.total,
    now: () => (t += opts.perCall ?? 0),
    defer: (fn) => void turns.push(fn),
    later: (fn, ms) => void timers.push({ fn, ms }),
  });
  const runTurn = () => turns.shift()?.();
  const runAll = () => {
    while (turns.length > 0) runTurn();
  };
  return { s, turns, timers, runTurn, runAll };
}

test('telemetry waits; an event from another connection is handled at once, ahead of it', () => {
  const handled: string[] = [];
  const { s, runAll } = manual();
  const a = new FakeClient('a', handled);
  const b = new FakeClient('b', handled);
  assert.ok(s.attach(a.loop) && s.attach(b.loop));
  for (let i = 0; i < 5; i++) a.send(telemetry(i));
  b.send(event(0));
  assert.deepEqual(handled, ['b0'], 'the event was handled while telemetry waits');
  assert.equal(s.depth, 5);
  runAll();
  assert.deepEqual(handled, ['b0', 'a0', 'a1', 'a2', 'a3', 'a4']);
  assert.equal(s.depth, 0);
  assert.equal(a._parsingBatch, 0);
});

test("an event overtakes its own connection's waiting telemetry; telemetry keeps its order", () => {
  const handled: string[] = [];
  const { s, runAll } = manual();
  const a = new FakeClient('a', handled);
  s.attach(a.loop);
  a.send(telemetry(0));
  a.send(telemetry(1));
  a.send({ cmd: 'pingreq', n: 2 });
  a.send(event(3));
  assert.deepEqual(handled, ['a2', 'a3'], 'ping and event at once');
  a.send(telemetry(4));
  runAll();
  assert.deepEqual(handled, ['a2', 'a3', 'a0', 'a1', 'a4']);
});

test('the queue is handled in slices of bounded time, and each slice yields to the event loop', () => {
  const handled: string[] = [];
  const { s, turns, runTurn } = manual({ perCall: 0.1, perConnection: 10_000 }); // the clock moves 0.1 ms per reading (every 8 packets)
  const a = new FakeClient('a', handled);
  s.attach(a.loop);
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

test('a connection with too much waiting is not read until it is handled; others are still read', () => {
  const handled: string[] = [];
  const { s, runAll } = manual({ perConnection: 4 });
  const a = new FakeClient('a', handled);
  const b = new FakeClient('b', handled);
  s.attach(a.loop);
  s.attach(b.loop);
  for (let i = 0; i < 3; i++) a.send(telemetry(i));
  assert.equal(s.held, 0);
  a.send(telemetry(3));
  assert.equal(s.held, 1, 'held at its 4th waiting packet');
  assert.equal(a._parsingBatch, 1, 'Aedes will not read it on completion');
  a.conn.emit('readable');
  assert.equal(a.reads, 0, "a 'readable' event does not make Aedes read a held connection");
  b.send(telemetry(0));
  b.conn.emit('readable');
  assert.equal(b.reads, 1, 'another connection is read as usual');
  runAll();
  assert.deepEqual(handled, ['a0', 'a1', 'a2', 'a3', 'b0']);
  assert.equal(s.held, 0);
  assert.equal(a._parsingBatch, 0);
  assert.equal(a.reads, 1, 'released: it reads what arrived meanwhile');
});

test('past the total bound every connection adding a packet is held', () => {
  const handled: string[] = [];
  const { s, runAll } = manual({ perConnection: 100, total: 5 });
  const clients = Array.from({ length: 6 }, (_, i) => new FakeClient(`c${i}-`, handled));
  for (const c of clients) s.attach(c.loop);
  for (const c of clients) c.send(telemetry(0));
  assert.equal(s.held, 2, 'the 5th and 6th connections are held');
  runAll();
  assert.equal(s.held, 0);
  assert.equal(handled.length, 6);
});

test('holdWhile: telemetry waits unacknowledged while storage is full, then flows; events are never held', () => {
  const handled: string[] = [];
  const { s, turns, timers, runAll } = manual({ perConnection: 3 });
  let full = true;
  s.holdWhile(() => full);
  const a = new FakeClient('a', handled);
  s.attach(a.loop);
  for (let i = 0; i < 5; i++) a.send(telemetry(i));
  runAll();
  assert.deepEqual(handled, [], 'nothing handled (so nothing acknowledged) while full');
  assert.equal(s.paused, true);
  assert.equal(s.held, 1, 'the connection fills to its bound and is no longer read');
  assert.equal(timers.length, 1, 'retried on a timer, not in a busy loop');
  a.send(event(9));
  assert.deepEqual(handled, ['a9'], 'an event goes through while telemetry is held');
  timers.shift()!.fn();
  assert.equal(timers.length, 1, 'still full: retried again');
  full = false;
  timers.shift()!.fn();
  while (turns.length > 0) runAll();
  assert.deepEqual(handled, ['a9', 'a0', 'a1', 'a2', 'a3', 'a4']);
  assert.equal(s.held, 0);

  // Held back while its connection closes (the hub stopping): what waits is dropped, no timer left.
  full = true;
  a.send(telemetry(5));
  a.send(telemetry(6));
  runAll();
  assert.equal(timers.length, 1);
  a.closed = true;
  timers.shift()!.fn();
  assert.equal(s.depth, 0, 'nothing kept for a closed connection');
  assert.equal(timers.length, 0, 'no retry once nothing waits');
});

test("packets before CONNACK go straight to Aedes; a closed connection's waiting packets are dropped unacknowledged", () => {
  const handled: string[] = [];
  const { s, runAll } = manual({ perConnection: 2 });
  const a = new FakeClient('a', handled);
  s.attach(a.loop);
  a.connackSent = false;
  a.send(telemetry(0));
  assert.deepEqual(handled, ['a0']);
  a.connackSent = true;
  a.send(telemetry(1));
  a.send(telemetry(2));
  assert.equal(s.held, 1);
  a.closed = true;
  runAll();
  assert.deepEqual(handled, ['a0'], 'nothing handled for a closed connection (the device resends QoS 1)');
  assert.equal(s.depth, 0);
  assert.equal(s.held, 0);
});

test('attach() refuses a client whose internals are not the expected ones', () => {
  const s = new IngressScheduler();
  assert.equal(readLoopOf({} as Client), null, 'no read loop without the internals');
  const c = new FakeClient('c', []);
  c._parser.on('packet', () => {}); // two listeners: not the layout this hook knows
  assert.equal(s.attach(c.loop), false);
  const d = new FakeClient('d', []);
  d.conn.removeAllListeners('readable');
  assert.equal(s.attach(d.loop), false, "the connection's 'readable' listener is not Aedes' _nextBatch");
  assert.equal(isTelemetryPublish(telemetry(0)), true);
  assert.equal(isTelemetryPublish(event(0)), false);
  assert.equal(isTelemetryPublish({ cmd: 'pingreq' }), false);
});

test('real broker: an alarm overtakes a telemetry flood from another device; nothing is lost and readings keep their order', { timeout: 60_000 }, async (t) => {
  const th = await startTestHub({ extensions: [] });
  const pool = new ClientPool();
  t.after(async () => {
    await pool.closeAll();
    await th.stop();
  });
  const N = 3000;
  const smokeSeen: number[] = [];
  th.hub.ctx.bus.on('test', 'telemetry', (_ref, r) => smokeSeen.push(r.values.smoke!));
  const atEvent = new Map<string, { depth: number; telemetry: number }>();
  th.hub.ctx.bus.on('test', 'device-event', (ref, e) =>
    atEvent.set(`${ref.device}:${e.type}`, { depth: th.hub.broker.ingressDepth, telemetry: smokeSeen.length }),
  );

  const flooder = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const origin = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  const neighbour = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  await neighbour.subscribeAsync('smokehub/h/t1-h3/alert', { qos: 1 });
  const inbox = new Inbox(neighbour);

  const acks: Array<Promise<unknown>> = [];
  for (let i = 0; i < N; i++)
    acks.push(flooder.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify({ battery: 80, smoke: i }), { qos: 1 }));
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
  assert.ok(
    smoke.depth > 0 && smoke.telemetry < N,
    `the smoke event went ahead of waiting telemetry (waiting ${smoke.depth}, handled ${smoke.telemetry} of ${N})`,
  );

  await Promise.all(acks);
  assert.equal(smokeSeen.length, N, 'every reading handled once');
  assert.deepEqual(
    smokeSeen,
    Array.from({ length: N }, (_, i) => i),
    'in the order the device sent them',
  );
  assert.ok(atEvent.get('t1-h1-smoke:clear'), "the flooder's own event was handled");
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  const deferred = Number(/^smokehub_ingress_deferred_total (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(deferred >= 1 && deferred <= N + 1, `deferred ${deferred}`);
  assert.match(metrics, /^smokehub_ingress_queue_depth 0$/m);
});
