import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterAttempt, expired, isHeld, LeaseKeeper, NOT_HELD, renewIntervalMs, type LeaseState } from '../../../hub/cluster/leases.ts';
import type { PgPool } from '../../../hub/cluster/pg-pool.ts';
import { ManualClock } from '../../../hub/core/clock.ts';

const TTL = 3000;
const held = (fence: number, validUntil: number): LeaseState => ({ held: true, fence, validUntil });

test('renewals every ttl/3', () => {
  assert.equal(renewIntervalMs(3000), 1000);
  assert.equal(renewIntervalMs(1), 1, 'never a zero interval');
});

test('an answer with a fence takes the lease until the attempt start + ttl, not its end', () => {
  const r = afterAttempt(NOT_HELD, 7, 1000, 1900, TTL);
  assert.deepEqual(r, { state: held(7, 4000), event: 'acquired' });
  assert.ok(isHeld(r.state, 3999));
  assert.ok(!isHeld(r.state, 4000));
});

test('a renewal extends silently; another holder or an expired answer is a loss', () => {
  assert.deepEqual(afterAttempt(held(7, 4000), 7, 2000, 2100, TTL), { state: held(7, 5000), event: null });
  assert.deepEqual(afterAttempt(held(7, 4000), null, 2000, 2100, TTL), { state: NOT_HELD, event: 'lost' });
  assert.deepEqual(afterAttempt(NOT_HELD, null, 2000, 2100, TTL), { state: NOT_HELD, event: null });
  // The answer arrived after the lease it renewed had run out: not acted on.
  assert.deepEqual(afterAttempt(held(7, 4000), 7, 2000, 5000, TTL), { state: NOT_HELD, event: 'lost' });
  assert.deepEqual(afterAttempt(NOT_HELD, 7, 2000, 5000, TTL), { state: NOT_HELD, event: null });
});

test('a failed renewal keeps the lease until it expires by the own clock, then it is lost', () => {
  const s = held(7, 4000);
  assert.deepEqual(afterAttempt(s, 'error', 2000, 3500, TTL), { state: s, event: null });
  assert.ok(!expired(s, 3999));
  assert.ok(expired(s, 4000));
  assert.ok(!expired(NOT_HELD, 4000));
  // The failure's answer came after the expiry, before the expiry timer fired: lost now.
  assert.deepEqual(afterAttempt(s, 'error', 2000, 4100, TTL), { state: NOT_HELD, event: 'lost' });
  assert.deepEqual(afterAttempt(NOT_HELD, 'error', 2000, 2100, TTL), { state: NOT_HELD, event: null });
});

test('a renewal that lands after a local expiry (timer late) keeps it without a new event', () => {
  assert.deepEqual(afterAttempt(held(7, 4000), 7, 3900, 4050, TTL), { state: held(7, 6900), event: null });
});

test('a new fence while held is announced', () => {
  assert.deepEqual(afterAttempt(held(7, 4000), 9, 2000, 2100, TTL), { state: held(9, 5000), event: 'acquired' });
});

test('the keeper gives a lease up at its expiry while a renewal hangs, and acts on no late answer', async () => {
  const clock = new ManualClock(0);
  const answers: Array<(rows: Array<{ fence: number }>) => void> = [];
  const pool = {
    withTransaction: (fn: (tx: unknown) => Promise<unknown>) =>
      fn({
        query: (sql: string) =>
          sql.startsWith('DELETE') ? Promise.resolve({ rows: [] }) : new Promise((resolve) => answers.push((rows) => resolve({ rows }))),
      }),
  } as unknown as PgPool;
  const keeper = new LeaseKeeper({ pool, clock, node: 'n1' });
  const events: string[] = [];
  keeper.keep('cron', { ttlMs: TTL, onAcquired: (f) => events.push(`acquired ${f}`), onLost: () => events.push('lost') });
  const tick = () => new Promise((r) => setImmediate(r));
  answers.shift()!([{ fence: 3 }]);
  await tick();
  assert.deepEqual(events, ['acquired 3']);
  assert.equal(keeper.fence('cron'), 3);
  clock.advance(1000); // the renewal starts at 1000 and hangs
  await tick();
  assert.equal(answers.length, 1);
  clock.advance(1999);
  assert.ok(keeper.holds('cron'), 'until 3000, the first attempt start + ttl');
  clock.advance(1);
  assert.ok(!keeper.holds('cron'));
  assert.deepEqual(events, ['acquired 3', 'lost']);
  clock.advance(1500); // 4500: the renewal's answer, for a lease that ran out at 4000
  answers.shift()!([{ fence: 3 }]);
  await tick();
  assert.ok(!keeper.holds('cron'));
  assert.deepEqual(events, ['acquired 3', 'lost'], 'a late answer is not acted on');
  await keeper.stop();
});
