/** A self-test round as a pure value: who answered in time, late, twice, unexpectedly, or was offline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelfTestRound } from '../../../hub/supervision/self-test-round.ts';

const T0 = Date.UTC(2026, 5, 7, 2, 0, 0);
const d = (device: string, offlineAtStart = false) => ({ device, household: `h-${device}`, team: 't1', kind: 'smoke' as const, offlineAtStart });

test('answers before the deadline pass; silent detectors fail with the reason; extra answers are classified', () => {
  const r = new SelfTestRound('ST1', T0, T0 + 300_000, [d('a'), d('b'), d('c', true)]);
  assert.equal(r.expectedCount, 3);
  assert.equal(r.answer('a', T0 + 2000), 'accepted');
  assert.equal(r.answer('a', T0 + 3000), 'duplicate');
  assert.equal(r.answer('zz', T0 + 3000), 'unexpected');
  assert.equal(r.answer('b', T0 + 300_001), 'late');
  assert.equal(r.isDue(T0 + 299_999), false);
  assert.equal(r.isDue(T0 + 300_000), true);
  const res = r.results();
  assert.deepEqual(
    res.map((x) => [x.device, x.outcome, x.reason, x.answeredAt]),
    [
      ['a', 'passed', null, T0 + 2000],
      ['b', 'failed', 'no-answer', null],
      ['c', 'failed', 'offline', null],
    ],
  );
  assert.deepEqual(r.summary(), { expected: 3, passed: 1, failed: 2 });
});

test('a round is complete (due early) once every detector answered; an empty round is complete at once', () => {
  const r = new SelfTestRound('ST2', T0, T0 + 300_000, [d('a'), d('b')]);
  r.answer('b', T0 + 1);
  assert.equal(r.isComplete(), false);
  r.answer('a', T0 + 2);
  assert.equal(r.isComplete(), true);
  assert.equal(r.isDue(T0 + 3), true);
  assert.equal(new SelfTestRound('ST3', T0, T0 + 1, []).isComplete(), true);
  assert.throws(() => new SelfTestRound('ST4', T0, T0 - 1, []), RangeError);
});
