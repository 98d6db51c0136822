/**
 * The telemetry handover policy (handover.ts) and the supervision mechanism's pure parts
 * (supervised-worker.ts: backoff, change signal): no thread, no timer of its own, a manual clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { PointBatchBuilder, type PointBatch } from '../../../hub/telemetry/point-batch.ts';
import type { Priority, StoredPoint } from '../../../hub/telemetry/point.ts';
import {
  ClockOffsetSync,
  COMMIT_ERROR_LOG_EVERY_MS,
  commitRetryMs,
  Handover,
  PendingQueue,
  POISON_CRASHES,
  RateGate,
} from '../../../hub/telemetry/handover.ts';
import { Backoff, ChangeSignal } from '../../../hub/telemetry/supervised-worker.ts';

const ref = { team: 't1', household: 't1-h1', device: 't1-h1-smoke', kind: 'smoke' as const };
const T = Date.UTC(2026, 0, 1);

function event(priority: Priority, id: string): StoredPoint {
  return { measurement: 'events', tags: { ...ref, type: 'smoke' }, fields: { id }, ts: T, priority };
}

/** A batch of `readings` readings followed by the given events. */
function batch(readings: number, events: StoredPoint[] = []): PointBatch {
  const b = new PointBatchBuilder(Math.max(1, readings));
  for (let i = 0; i < readings; i++) b.addReading(ref, { ts: T + i, values: { smoke: i } }, T);
  for (const e of events) b.addEvent(e);
  return b.take();
}

test('pending queue: one message takes the oldest batches that fit, and at least one', () => {
  const q = new PendingQueue(1000);
  q.push(batch(30));
  q.push(batch(30));
  q.push(batch(50));
  assert.equal(q.points, 110);
  const a = q.take(70)!;
  assert.equal(a.batches.length, 2);
  assert.equal(a.points, 60);
  assert.equal(q.points, 50);
  const b = q.take(10)!;
  assert.equal(b.points, 50, 'a batch larger than the message bound still goes, alone');
  assert.equal(q.take(10), null);
  assert.equal(q.length, 0);
});

test('pending queue bound: the oldest telemetry goes first, then device events, alarm events last', () => {
  const q = new PendingQueue(10);
  q.push(batch(6, [event(1, 'e1'), event(2, 'a1')]));
  q.push(batch(6, [event(1, 'e2'), event(2, 'a2')]));
  assert.deepEqual(q.trim(), [[6, 0, 0]], 'the oldest batch loses its readings, just enough');
  assert.equal(q.points, 10);
  q.push(batch(3));
  assert.deepEqual(q.trim(), [[6, 0, 0]], 'then the next oldest readings, before any event');
  assert.equal(q.points, 7, 'events and the newest readings kept');
  assert.deepEqual(q.trim(), [], 'within the bound: nothing more');

  const small = new PendingQueue(1);
  small.push(batch(0, [event(1, 'e1'), event(2, 'a1')]));
  small.push(batch(0, [event(2, 'a2'), event(1, 'e2')]));
  assert.deepEqual(small.trim(), [
    [0, 1, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  const left = small.take(100)!;
  assert.deepEqual(
    left.batches.flatMap((b) => b.events.map((e) => e.point.fields.id)),
    ['a2'],
    'the newest alarm event is the last thing kept',
  );
  assert.equal(left.batches.length, 1, 'emptied batches are removed');
});

test('handover: a confirmation settles only the message in flight; a mark covering it settles it too', () => {
  const h = new Handover('run-a');
  const f = h.open([batch(3)], 3);
  assert.equal(h.points, 3);
  assert.deepEqual(h.posted(f, 1), { run: 'run-a', seq: 1 });
  assert.equal(h.confirm(0), false, "an earlier worker's late confirmation");
  assert.equal(h.inFlight, f);
  assert.equal(h.confirm(1), true);
  assert.equal(h.inFlight, null);
  assert.equal(h.points, 0);

  const g = h.open([batch(2)], 2);
  assert.equal(g.seq, 2);
  h.settleByMark({ run: 'run-b', seq: 9 });
  assert.equal(h.inFlight, g, "another hub process's mark says nothing about this message");
  h.settleByMark({ run: 'run-a', seq: 1 });
  assert.equal(h.inFlight, g, 'a mark before the message');
  h.settleByMark(null);
  assert.equal(h.inFlight, g);
  h.settleByMark({ run: 'run-a', seq: 2 });
  assert.equal(h.inFlight, null, 'committed before the crash: not sent again');
});

test('poison rule: only failures of a worker the message was posted to count; the third sets it aside', () => {
  assert.equal(POISON_CRASHES, 3);
  const h = new Handover('r');
  const f = h.open([batch(4)], 4);
  h.posted(f, 1);
  assert.equal(h.workerDied(1, false), null, 'ended from outside: not the batch');
  assert.equal(f.crashes, 0);
  assert.equal(h.workerDied(7, true), null, 'a worker it was not posted to');
  assert.equal(f.crashes, 0);
  for (let gen = 2; gen < 20; gen++) {
    // Killed from outside again and again (a loaded hub being restarted): never set aside.
    h.posted(f, gen);
    assert.equal(h.workerDied(gen, false), null);
  }
  h.posted(f, 20);
  assert.equal(h.workerDied(20, true), null);
  h.posted(f, 21);
  assert.equal(h.workerDied(21, true), null);
  assert.equal(f.crashes, 2);
  h.posted(f, 22);
  assert.equal(h.workerDied(22, true), f, 'third failure with the same batch');
  assert.equal(h.inFlight, null);
  assert.equal(h.workerDied(23, true), null, 'nothing in flight');
  const next = h.open([batch(1)], 1);
  assert.equal(next.crashes, 0, 'the next message starts with a clean record');
});

test('commit failures: logged at most every 10 s of the injected clock; retried after max(flushMs, 1 s)', () => {
  const clock = new ManualClock(T);
  const gate = new RateGate(COMMIT_ERROR_LOG_EVERY_MS);
  assert.equal(gate.allow(clock.now()), true);
  clock.advance(9_999);
  assert.equal(gate.allow(clock.now()), false);
  clock.advance(1);
  assert.equal(gate.allow(clock.now()), false, 'exactly 10 s: not yet');
  clock.advance(1);
  assert.equal(gate.allow(clock.now()), true);
  assert.equal(gate.allow(clock.now()), false);
  assert.equal(commitRetryMs(100), 1000);
  assert.equal(commitRetryMs(2500), 2500);
});

test('clock offset: told at start, then again only when it moved by more than a second', () => {
  let offset = 500;
  const sync = new ClockOffsetSync(() => offset);
  assert.equal(sync.atStart(), 500);
  offset = 1500;
  assert.equal(sync.changed(), null);
  offset = 1501;
  assert.equal(sync.changed(), 1501);
  assert.equal(sync.changed(), null);
  offset = -10_000;
  assert.equal(sync.changed(), -10_000);
});

test('restart backoff: doubling from min to max, back to min once work went through', () => {
  const b = new Backoff(100, 5000);
  assert.deepEqual(
    Array.from({ length: 8 }, () => b.next()),
    [100, 200, 400, 800, 1600, 3200, 5000, 5000],
  );
  b.reset();
  assert.equal(b.next(), 100);
  const tiny = new Backoff(1, Number.MAX_SAFE_INTEGER);
  const delays = Array.from({ length: 14 }, () => tiny.next());
  assert.equal(delays[10], 1024);
  assert.equal(delays[13], 1024, 'the exponent stops at 10');
});

test('change signal: a waiter wakes at the next change, or at its timeout on the injected clock', async () => {
  const clock = new ManualClock(T);
  const signal = new ChangeSignal(clock);
  let woke = 0;
  const a = signal.wait(50).then(() => woke++);
  signal.notify();
  await a;
  assert.equal(woke, 1);
  assert.equal(clock.pending(), 0, 'its timer is cancelled');
  const b = signal.wait(50).then(() => woke++);
  clock.advance(49);
  await Promise.resolve();
  assert.equal(woke, 1);
  clock.advance(1);
  await b;
  assert.equal(woke, 2);
});
