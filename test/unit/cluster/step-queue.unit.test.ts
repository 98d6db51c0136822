import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepQueue, StepQueueStopped } from '../../../hub/cluster/step-queue.ts';
import type { StepResult } from '../../../hub/cluster/team-stepper.ts';

/** A stepper whose steps finish when the test says (or fail while `down`). */
function fakeStepper() {
  const waiting: Array<{ team: string; finish: () => void; fail: (e: Error) => void }> = [];
  let down = false;
  return {
    waiting,
    setDown: (v: boolean) => {
      down = v;
    },
    step: (team: string) =>
      new Promise<StepResult>((resolve, reject) => {
        if (down) return reject(new Error('connect ECONNREFUSED'));
        waiting.push({ team, finish: () => resolve({ kind: 'duplicate' }), fail: reject });
      }),
  };
}
const tick = () => new Promise((r) => setImmediate(r));
const none = () => [];

test('whenDurable calls back once every step enqueued before it has committed, across teams', async () => {
  const s = fakeStepper();
  const q = new StepQueue({ stepper: s });
  const calls: string[] = [];
  q.whenDurable(() => calls.push('empty'));
  assert.deepEqual(calls, ['empty'], 'nothing pending: at once');
  void q.enqueue('t1', none, { now: 0 });
  void q.enqueue('t2', none, { now: 0 });
  q.whenDurable(() => calls.push('after-2'));
  void q.enqueue('t1', none, { now: 0 });
  q.whenDurable(() => calls.push('after-3'));
  await tick();
  assert.deepEqual(
    s.waiting.map((w) => w.team),
    ['t1', 't2'],
    'one step at a time per team',
  );
  s.waiting.splice(1, 1)[0]!.finish(); // t2 first
  await tick();
  assert.deepEqual(calls, ['empty'], 't1’s first step still pending');
  s.waiting.shift()!.finish();
  await tick();
  assert.deepEqual(calls, ['empty', 'after-2']);
  assert.equal(s.waiting.length, 1, 't1’s second step runs next');
  s.waiting.shift()!.finish();
  await tick();
  assert.deepEqual(calls, ['empty', 'after-2', 'after-3']);
  assert.equal(q.backlog, 0);
});

test('a failing step is retried until it commits; health is degraded meanwhile', async () => {
  const s = fakeStepper();
  const health: Array<string | null> = [];
  const q = new StepQueue({ stepper: s, retryMaxMs: 20, onHealth: (p) => health.push(p) });
  s.setDown(true);
  const done = q.enqueue('t1', none, { now: 0 });
  let acked = false;
  q.whenDurable(() => {
    acked = true;
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(acked, false);
  assert.equal(health.length, 1);
  assert.notEqual(health[0], null);
  s.setDown(false);
  while (s.waiting.length === 0) await new Promise((r) => setTimeout(r, 5));
  s.waiting.shift()!.finish();
  assert.equal((await done).kind, 'duplicate');
  assert.equal(acked, true);
  assert.deepEqual(health.slice(1), [null]);
});

test('stop rejects the steps not yet committed (never acknowledged)', async () => {
  const s = fakeStepper();
  s.setDown(true);
  const q = new StepQueue({ stepper: s, retryMaxMs: 10 });
  const p = q.enqueue('t1', none, { now: 0 });
  let acked = false;
  q.whenDurable(() => {
    acked = true;
  });
  q.stop();
  await assert.rejects(p, StepQueueStopped);
  assert.equal(acked, false, 'no PUBACK for a step that never committed');
  await assert.rejects(q.enqueue('t1', none, { now: 0 }), StepQueueStopped);
});
