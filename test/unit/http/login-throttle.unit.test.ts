import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle } from '../../../hub/core/login-throttle.ts';

test('five failures are free, then each failure doubles the block, capped', () => {
  const th = new LoginThrottle({ freeFailures: 5, windowMs: 15 * 60_000, baseDelayMs: 1000, maxDelayMs: 8000 });
  let now = 1_000_000;
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(th.check('ip', now), { allowed: true });
    assert.equal(th.fail('ip', now), 0);
  }
  assert.equal(th.fail('ip', now), 1000, '5th failure: blocked 1 s');
  assert.deepEqual(th.check('ip', now + 400), { allowed: false, retryAfterMs: 600 });
  assert.deepEqual(th.check('other', now), { allowed: true }, 'keys are independent');
  now += 1000;
  assert.deepEqual(th.check('ip', now), { allowed: true });
  assert.equal(th.fail('ip', now), 2000);
  now += 2000;
  assert.equal(th.fail('ip', now), 4000);
  now += 4000;
  assert.equal(th.fail('ip', now), 8000);
  now += 8000;
  assert.equal(th.fail('ip', now), 8000, 'capped');
  assert.equal(th.failures('ip', now), 9);
  th.succeed('ip');
  assert.deepEqual(th.check('ip', now), { allowed: true });
  assert.equal(th.failures('ip', now), 0);
});

test('failures older than the window are forgotten', () => {
  const th = new LoginThrottle({ freeFailures: 3, windowMs: 60_000, baseDelayMs: 1000 });
  const t0 = 0;
  th.fail('k', t0);
  th.fail('k', t0 + 1);
  th.fail('k', t0 + 70_000); // the first two expired
  assert.equal(th.failures('k', t0 + 70_000), 1);
  assert.deepEqual(th.check('k', t0 + 70_000), { allowed: true });
});

test('memory is bounded: the least recently failed key is dropped first', () => {
  const th = new LoginThrottle({ maxKeys: 3 });
  th.fail('a', 1);
  th.fail('b', 2);
  th.fail('c', 3);
  th.fail('a', 4); // a is now the most recent
  th.fail('d', 5);
  assert.equal(th.size, 3);
  assert.equal(th.failures('b', 5), 0, 'b dropped');
  assert.equal(th.failures('a', 5), 2);
});
