/**
 * LeaseGate over a fake keeper: leases are kept lazily (first `holds` or `watch`), watchers are told
 * the current state at once, then each acquisition and loss; a new fence while held is a loss and a
 * new acquisition; a throwing watcher does not keep the others from hearing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseGate, watcherCalls, type GateKeeper } from '../../../hub/cluster/lease-gate.ts';
import type { LeaseHandlers } from '../../../hub/cluster/leases.ts';

class FakeKeeper implements GateKeeper {
  readonly kept = new Map<string, { h: LeaseHandlers; fence: number | undefined }>();
  stopped = false;
  keep(name: string, h: LeaseHandlers): void {
    assert.ok(!this.kept.has(name), `${name} kept twice`);
    this.kept.set(name, { h, fence: undefined });
  }
  holds(name: string): boolean {
    return this.kept.get(name)?.fence !== undefined;
  }
  fence(name: string): number | undefined {
    return this.kept.get(name)?.fence;
  }
  async stop(): Promise<void> {
    this.stopped = true;
    for (const [name, k] of this.kept) if (k.fence !== undefined) this.lose(name);
  }
  acquire(name: string, fence: number): void {
    const k = this.kept.get(name)!;
    k.fence = fence;
    k.h.onAcquired(fence);
  }
  lose(name: string): void {
    const k = this.kept.get(name)!;
    k.fence = undefined;
    k.h.onLost();
  }
}

test('watcherCalls: what the watchers hear', () => {
  assert.deepEqual(watcherCalls(false, 'acquired'), [true]);
  assert.deepEqual(watcherCalls(true, 'lost'), [false]);
  assert.deepEqual(watcherCalls(false, 'lost'), []);
  assert.deepEqual(watcherCalls(true, 'acquired'), [false, true], 'a new fence: start again');
});

test('LeaseGate: lazy leases, watchers told at once and on every change, stop gives up', async () => {
  const keeper = new FakeKeeper();
  const gate = new LeaseGate({ keeper, ttlMs: 1000 });
  assert.equal(keeper.kept.size, 0, 'nothing kept before asked');
  assert.equal(gate.holds('jobs'), false);
  assert.deepEqual([...keeper.kept.keys()], ['jobs']);
  assert.equal(keeper.kept.get('jobs')!.h.ttlMs, 1000);

  const heard: boolean[] = [];
  const alsoHeard: boolean[] = [];
  gate.watch('sms', () => {
    throw new Error('a bad watcher');
  });
  const unwatch = gate.watch('sms', (h) => heard.push(h));
  gate.watch('sms', (h) => alsoHeard.push(h));
  assert.deepEqual(heard, [false], 'told the current state at once');
  assert.equal(keeper.kept.size, 2);

  keeper.acquire('sms', 7);
  assert.equal(gate.holds('sms'), true);
  assert.equal(gate.fence('sms'), 7);
  assert.deepEqual(heard, [false, true]);
  const late: boolean[] = [];
  gate.watch('sms', (h) => late.push(h));
  assert.deepEqual(late, [true], 'a late watcher is told it is held');

  keeper.acquire('sms', 9); // taken over and back between two renewals
  assert.deepEqual(heard, [false, true, false, true]);
  keeper.lose('sms');
  assert.deepEqual(heard, [false, true, false, true, false]);
  assert.deepEqual(alsoHeard, heard, 'the throwing watcher did not stop the others');

  unwatch();
  keeper.acquire('sms', 11);
  assert.deepEqual(heard, [false, true, false, true, false], 'unsubscribed');
  await gate.stop();
  assert.ok(keeper.stopped);
  assert.deepEqual(late, [true, false, true, false, true, false]);
  assert.equal(gate.holds('sms'), false);
});
