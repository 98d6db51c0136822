/** The pure supervision state machine with injected time: silent, dropped, flapping, restart continuity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SupervisionTracker, type SupervisionOptions } from '../../../hub/supervision/supervision-tracker.ts';

const T0 = Date.UTC(2026, 5, 1, 3, 0, 0);
const dev = (id: string, household = 'h1') => ({ device: id, household, team: 't1', kind: 'smoke' as const });
const opts: SupervisionOptions = { windowMs: 200_000, disconnectGraceMs: 5000, flapCycles: 4, flapWindowMs: 3600_000 };

test('a device heard every 60 s stays online; one silent for the window goes offline once, then is restored', () => {
  const tr = new SupervisionTracker(opts);
  tr.track(dev('a'), T0);
  tr.track(dev('b'), T0);
  for (let t = 0; t <= 600_000; t += 60_000) {
    tr.heard(dev('a'), T0 + t);
    if (t <= 60_000) tr.heard(dev('b'), T0 + t);
    const out = tr.sweep(T0 + t + 1000);
    if (t === 300_000) {
      assert.equal(out.length, 1);
      assert.equal(out[0]!.device, 'b');
      assert.equal(out[0]!.transition, 'offline');
      assert.equal(out[0]!.reason, 'silent');
      assert.equal(out[0]!.since, T0 + 60_000, 'offline since it was last heard');
    } else {
      assert.deepEqual(out, [], `no transition at t=${t}`);
    }
  }
  assert.equal(tr.view('b')!.status, 'offline');
  assert.equal(tr.countDown(), 1);
  tr.heard(dev('b'), T0 + 700_000);
  const back = tr.sweep(T0 + 700_500);
  assert.deepEqual(
    back.map((x) => [x.device, x.transition, x.since]),
    [['b', 'restored', T0 + 60_000]],
  );
  assert.equal(tr.view('b')!.status, 'online');
});

test('a device just at the edge of the window is not yet offline (window is inclusive at its end)', () => {
  const tr = new SupervisionTracker(opts);
  tr.heard(dev('a'), T0);
  assert.deepEqual(tr.sweep(T0 + 199_999), []);
  assert.equal(tr.sweep(T0 + 200_000)[0]?.transition, 'offline');
});

test('a dropped connection is offline after the grace; a reconnect within the grace reports nothing', () => {
  const tr = new SupervisionTracker(opts);
  tr.connected(dev('a'), T0);
  tr.disconnected(dev('a'), T0 + 1000);
  assert.deepEqual(tr.sweep(T0 + 3000), [], 'within the grace');
  tr.connected(dev('a'), T0 + 4000);
  assert.deepEqual(tr.sweep(T0 + 10_000), [], 'came back within the grace: no notice');
  tr.disconnected(dev('a'), T0 + 20_000);
  const out = tr.sweep(T0 + 25_000);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.transition, 'offline');
  assert.equal(out[0]!.reason, 'disconnected');
  assert.equal(out[0]!.since, T0 + 20_000);
  // messages relayed while the connection is down do not bring it back (its last will, say)
  tr.heard(dev('a'), T0 + 26_000);
  assert.deepEqual(tr.sweep(T0 + 27_000), []);
  tr.connected(dev('a'), T0 + 30_000);
  assert.equal(tr.sweep(T0 + 30_001)[0]?.transition, 'restored');
});

test('a device reporting `offline` (its last will) is offline; `online` brings it back', () => {
  const tr = new SupervisionTracker(opts);
  tr.heard(dev('a'), T0);
  tr.statusReported(dev('a'), 'offline', T0 + 1000);
  assert.equal(tr.sweep(T0 + 7000)[0]?.reason, 'reported-offline');
  tr.statusReported(dev('a'), 'online', T0 + 8000);
  assert.equal(tr.sweep(T0 + 8001)[0]?.transition, 'restored');
});

test('a flapping device is reported once as flapping, then once when stable again', () => {
  const tr = new SupervisionTracker(opts);
  const kinds: string[] = [];
  let t = T0;
  tr.connected(dev('a'), t);
  for (let cycle = 0; cycle < 8; cycle++) {
    t += 60_000;
    tr.disconnected(dev('a'), t);
    t += 6000;
    kinds.push(...tr.sweep(t).map((x) => x.transition));
    t += 1000;
    tr.connected(dev('a'), t);
    kinds.push(...tr.sweep(t + 1).map((x) => x.transition));
  }
  assert.deepEqual(kinds, ['offline', 'restored', 'offline', 'restored', 'offline', 'restored', 'flapping']);
  assert.equal(tr.view('a')!.flapping, true);
  assert.equal(tr.countFlapping(), 1);
  // keeps being heard, no further drops: after a whole flap window it is stable again, reported once
  let stable: string[] = [];
  for (let k = 0; k < 70; k++) {
    t += 60_000;
    tr.heard(dev('a'), t);
    stable.push(...tr.sweep(t).map((x) => `${x.transition}:${x.down}`));
  }
  assert.deepEqual(stable, ['stable:false']);
  assert.equal(tr.view('a')!.flapping, false);
  // a later single drop is an ordinary offline again
  tr.disconnected(dev('a'), t + 1000);
  assert.equal(tr.sweep(t + 7000)[0]?.transition, 'offline');
});

test('cycles spread over more than the flap window are not flapping', () => {
  const tr = new SupervisionTracker(opts);
  let t = T0;
  const kinds: string[] = [];
  tr.connected(dev('a'), t);
  for (let cycle = 0; cycle < 6; cycle++) {
    t += 20 * 60_000; // one drop every 20 min: 3 per hour
    tr.disconnected(dev('a'), t);
    kinds.push(...tr.sweep(t + 6000).map((x) => x.transition));
    tr.connected(dev('a'), t + 7000);
    kinds.push(...tr.sweep(t + 7001).map((x) => x.transition));
  }
  assert.ok(!kinds.includes('flapping'), kinds.join(','));
  assert.equal(kinds.filter((k) => k === 'offline').length, 6);
});

test('a flapping device that stays down is reported offline once it stops flapping', () => {
  const tr = new SupervisionTracker({ ...opts, flapCycles: 2 });
  tr.connected(dev('a'), T0);
  tr.disconnected(dev('a'), T0 + 1000);
  assert.equal(tr.sweep(T0 + 7000)[0]?.transition, 'offline');
  tr.connected(dev('a'), T0 + 8000);
  tr.sweep(T0 + 8001);
  tr.disconnected(dev('a'), T0 + 9000);
  assert.equal(tr.sweep(T0 + 15_000)[0]?.transition, 'flapping');
  const later = tr.sweep(T0 + 15_000 + 3600_000);
  assert.deepEqual(
    later.map((x) => [x.transition, x.down, x.reason]),
    [['stable', true, 'disconnected']],
  );
});

test('state saved before a restart continues: no second offline notice, restored when heard', () => {
  const tr = new SupervisionTracker(opts);
  tr.heard(dev('a'), T0);
  tr.sweep(T0 + 300_000);
  const saved = tr.takeDirty();
  assert.equal(saved.length, 1);
  assert.equal(saved[0]!.state.down, true);
  assert.deepEqual(tr.takeDirty(), [], 'nothing changed since');

  const after = new SupervisionTracker(opts);
  after.track(dev('a'), T0 + 400_000, saved[0]!.state);
  assert.equal(after.view('a')!.status, 'offline');
  assert.deepEqual(after.sweep(T0 + 700_000), [], 'already reported before the restart');
  after.heard(dev('a'), T0 + 701_000);
  assert.equal(after.sweep(T0 + 701_001)[0]?.transition, 'restored');
});

test('a device down before a restart is not restored by its fresh window, only by being heard', () => {
  const tr = new SupervisionTracker(opts);
  tr.heard(dev('a'), T0);
  tr.sweep(T0 + 300_000);
  const saved = tr.takeDirty()[0]!.state;
  const after = new SupervisionTracker(opts);
  after.track(dev('a'), T0 + 400_000, saved);
  assert.deepEqual(after.sweep(T0 + 405_000), [], 'no false restored within the new window');
  assert.equal(after.view('a')!.status, 'offline');
  assert.equal(after.liveView('a', T0 + 405_000)!.supervision, 'offline');
  assert.deepEqual(after.sweep(T0 + 700_000), []);
  after.connected(dev('a'), T0 + 701_000);
  assert.equal(after.sweep(T0 + 701_001)[0]?.transition, 'restored');
  assert.deepEqual(after.liveView('a', T0 + 701_001), { online: true, lastHeardAt: T0 + 701_000, supervision: 'ok' });
});

test('a device enrolled but never heard gets one window from when tracking began', () => {
  const tr = new SupervisionTracker(opts);
  tr.track(dev('new'), T0);
  assert.deepEqual(tr.sweep(T0 + 100_000), []);
  const out = tr.sweep(T0 + 200_000);
  assert.equal(out[0]?.transition, 'offline');
  assert.equal(tr.view('new')!.lastHeardAt, null);
});

test('cluster: a device that moved nodes, its old node’s disconnect heard after the new connect, stays online', () => {
  const tr = new SupervisionTracker(opts);
  tr.track(dev('a'), T0);
  tr.connected(dev('a'), T0 + 1000);
  // It moved at T0 + 60 s: node 2's connect is relayed first, node 1's disconnect (earlier) after it.
  tr.connected(dev('a'), T0 + 60_100);
  tr.disconnected(dev('a'), T0 + 60_000);
  assert.deepEqual(tr.sweep(T0 + 60_000 + opts.disconnectGraceMs + 1000), [], 'not offline: the newer connection stands');
  assert.equal(tr.view('a')!.status, 'online');
  // A disconnect after the newer connect still counts.
  tr.disconnected(dev('a'), T0 + 70_000);
  const out = tr.sweep(T0 + 70_000 + opts.disconnectGraceMs + 1000);
  assert.deepEqual(
    out.map((x) => [x.device, x.transition]),
    [['a', 'offline']],
  );
});
