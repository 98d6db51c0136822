/**
 * The login rules without ports: attempts count while in flight, per address and per user name; a
 * success clears only its user name; password checks are bounded; refusals keep their floor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginGuard } from '../../../hub/core/login-guard.ts';
import { LoginThrottle } from '../../../hub/core/login-throttle.ts';
import { LoginChecker } from '../../../hub/auth/login-checker.ts';
import { CheckGate } from '../../../hub/auth/check-gate.ts';
import { ManualClock } from '../../../hub/core/clock.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import type { User } from '../../../hub/store/registry-types.ts';

test('attempts count from their start: 60 at once are not 60 free guesses', () => {
  const g = new LoginGuard({ address: { freeFailures: 10 }, user: { freeFailures: 5 } });
  const now = 1_000_000;
  const admitted = Array.from({ length: 60 }, () => g.admit('10.0.0.9', 'admin', now)).filter((a) => a.admitted).length;
  assert.equal(admitted, 5, 'the user name allows five in flight');
  const refused = g.admit('10.0.0.9', 'admin', now);
  assert.ok(!refused.admitted && refused.by === 'user' && refused.retryAfterMs >= 1000);
  for (let i = 0; i < 5; i++) g.settle('10.0.0.9', 'admin', false, now + 100);
  const blocked = g.admit('10.0.0.9', 'ADMIN', now + 200);
  assert.deepEqual(blocked, { admitted: false, retryAfterMs: 900, by: 'user' }, 'names are compared case-insensitively');
});

test('past the free attempts, one at a time, each failure doubling the block', () => {
  const th = new LoginThrottle({ freeFailures: 2, baseDelayMs: 1000 });
  let now = 0;
  for (let i = 0; i < 2; i++) {
    th.start('k', now);
    th.fail('k', now);
  }
  now += 1000;
  assert.deepEqual(th.check('k', now), { allowed: true });
  th.start('k', now);
  assert.deepEqual(
    th.check('k', now),
    { allowed: false, retryAfterMs: 2000 },
    'one in flight past the free ones: the next waits as long as its failure would block',
  );
  assert.equal(th.fail('k', now), 2000);
  assert.equal(th.inFlight('k'), 0);
});

test("a success clears only its user name: the attacker's own login does not buy guesses from the address", () => {
  const g = new LoginGuard({ address: { freeFailures: 10 }, user: { freeFailures: 5 } });
  const now = 5_000_000;
  let checked = 0;
  for (let i = 0; i < 50; i++) {
    const own = i % 5 === 4;
    const name = own ? 'home11' : `guess-${i}`;
    const a = g.admit('10.0.0.7', name, now + i);
    if (!a.admitted) continue;
    if (!own) checked++;
    g.settle('10.0.0.7', name, own, now + i);
  }
  assert.equal(checked, 10, 'ten guesses, then the address is blocked whatever the valid logins');
  assert.equal(g.failuresFrom('10.0.0.7', now + 50), 10);
  // The user name's own record is cleared by its success.
  for (let i = 0; i < 4; i++) {
    g.admit('10.0.0.8', 'home12', now);
    g.settle('10.0.0.8', 'home12', false, now);
  }
  g.admit('10.0.0.8', 'home12', now);
  g.settle('10.0.0.8', 'home12', true, now);
  assert.equal(g.user.failures('home12', now), 0);
  assert.equal(g.failuresFrom('10.0.0.8', now), 4, 'the address keeps its failures');
});

test('the check gate runs a bounded number at once and refuses beyond its queue', async () => {
  const gate = new CheckGate(2, 3);
  const entered = Array.from({ length: 7 }, () => gate.enter());
  assert.equal(entered.filter((e) => e === null).length, 2, 'two run, three wait, two refused');
  assert.equal(gate.active, 2);
  assert.equal(gate.queued, 3);
  const leaves = await Promise.all(entered.slice(0, 2).map((e) => e!));
  leaves[0]!();
  leaves[0]!(); // leaving twice frees one slot only
  assert.equal(gate.active, 2);
  assert.equal(gate.queued, 2);
  const third = await entered[2]!;
  third();
  leaves[1]!();
  for (const e of entered.slice(3, 5)) (await e!)();
  assert.equal(gate.active, 0);
  assert.equal(gate.queued, 0);
});

function admin(): User {
  return { username: 'admin', role: 'station', team: null, household: null };
}

test('the checker: unchecked refusals for a full queue are not failures; every refusal waits for its floor', async () => {
  const clock = new ManualClock(1_000_000);
  let running = 0;
  let most = 0;
  const verifyPassword = async (u: string, p: string) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 30));
    running--;
    return u === 'admin' && p === 'right' ? admin() : null;
  };
  const metrics = new MetricsRegistry();
  const c = new LoginChecker({
    verifyPassword,
    clock,
    logger: silentLogger(),
    metrics,
    maxConcurrentChecks: 2,
    maxQueuedChecks: 2,
    refusalFloorMs: 150,
    guard: { address: { freeFailures: 100 }, user: { freeFailures: 100 } },
  });
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => c.checkPassword('http', `10.0.1.${i}`, `user${i}`, 'wrong')));
  assert.equal(most, 2, 'never more than two checks at once');
  const reasons = results.map((r) => (r.ok ? 'ok' : r.reason)).sort();
  assert.deepEqual(reasons, ['bad_credentials', 'bad_credentials', 'bad_credentials', 'bad_credentials', 'busy', 'busy', 'busy', 'busy']);
  assert.ok(performance.now() - t0 >= 145, 'refusals keep their floor');
  assert.equal(
    c.guard.failuresFrom('10.0.1.7', clock.now()) +
      c.guard.failuresFrom('10.0.1.6', clock.now()) +
      c.guard.failuresFrom('10.0.1.5', clock.now()) +
      c.guard.failuresFrom('10.0.1.4', clock.now()),
    0,
    'busy attempts are not failures',
  );
  assert.match(await metrics.render(), /smokehub_login_refusals_total\{protocol="http",reason="busy"\} 4/);
  const ok = performance.now();
  const r = await c.checkPassword('http', '10.0.1.1', 'admin', 'right');
  assert.ok(r.ok, 'a right password is let in');
  assert.ok(performance.now() - ok < 145, 'successes do not wait for the refusal floor');
  const dev = await c.refuseDevice('mqtt', '10.0.1.9', 't1-h1-smoke');
  assert.deepEqual(dev, { ok: false, reason: 'bad_credentials', retryAfterMs: 0 });
  assert.equal(c.guard.failuresFrom('10.0.1.9', clock.now()), 1, 'a wrong device secret counts like a wrong password');
});
