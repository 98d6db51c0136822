/**
 * The durable outbox against a real SQLite file and a scripted sink: ordering, batch bounds,
 * retries while the sink fails, durability across reopen, the size bound with drop-oldest-telemetry
 * first (alarm points last), and identical replays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '../../../hub/telemetry/outbox.ts';
import { PRIORITY, telemetryPoint, deviceEventPoint, alarmTransitionPoint, encodePoint, type StoredPoint } from '../../../hub/telemetry/point.ts';
import { StoreWriteError } from '../../../hub/telemetry/telemetry-store.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import type { DeviceRef } from '../../../hub/app/context.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';

const ref: DeviceRef = { team: 't1', household: 'h1', device: 'd1', kind: 'smoke' };
const T0 = Date.UTC(2026, 0, 1);
const tele = (i: number): StoredPoint => telemetryPoint(ref, { ts: T0 + i, values: { battery: i % 100 } }, T0)!;
const alarm = (i: number): StoredPoint => {
  const view: AlarmView = {
    alarm: `a${i}`,
    state: 'active',
    kind: 'smoke',
    team: 't1',
    origin: { household: 'h1', name: '', address: '', lat: null, lon: null, device: 'd1' },
    raisedAt: T0,
    updatedAt: T0 + i,
    responders: [],
  };
  return alarmTransitionPoint(view, 'activated');
};
const event = (i: number): StoredPoint => deviceEventPoint(ref, { id: `e${i}`, type: 'test', ts: T0 + i }, T0, false)!;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-outbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A sink that records batches and can be made to fail. */
class ScriptedSink {
  batches: StoredPoint[][] = [];
  failing = false;
  rejectNext = false;
  attempts = 0;
  async write(points: StoredPoint[]): Promise<void> {
    this.attempts++;
    if (this.rejectNext) {
      this.rejectNext = false;
      throw new StoreWriteError('partial write: points beyond retention policy dropped=1', false, 'rejected');
    }
    if (this.failing) throw new StoreWriteError('connect ECONNREFUSED', true, 'unreachable');
    this.batches.push(points);
  }
  get written(): StoredPoint[] {
    return this.batches.flat();
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('drains in order, in batches bounded by size, and deletes only what was written', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({ dataDir: dir, maxPoints: 100_000, batchSize: 300, lingerMs: 20, logger: silentLogger() });
  t.after(() => outbox.close());
  const sink = new ScriptedSink();
  outbox.start(sink);
  const points = Array.from({ length: 1000 }, (_, i) => tele(i));
  for (let i = 0; i < 1000; i += 100) outbox.append(points.slice(i, i + 100));
  await until(() => outbox.depth() === 0);
  assert.deepEqual(
    sink.written.map((p) => p.ts),
    points.map((p) => p.ts),
  );
  assert.ok(
    sink.batches.every((b) => b.length <= 300),
    `batch sizes ${sink.batches.map((b) => b.length)}`,
  );
});

test('a partial batch is written after the linger time, not before', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({ dataDir: dir, maxPoints: 10_000, batchSize: 5000, lingerMs: 300, logger: silentLogger() });
  t.after(() => outbox.close());
  const sink = new ScriptedSink();
  outbox.start(sink);
  const started = Date.now();
  outbox.append([tele(1), tele(2)]);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sink.batches.length, 0, 'written before the linger time');
  await until(() => sink.batches.length === 1, 3000);
  assert.ok(Date.now() - started >= 290);
  assert.equal(sink.written.length, 2);
});

test('keeps points while the store fails, retries with backoff, then drains everything once', async (t) => {
  const dir = tempDir(t);
  const failures: string[] = [];
  const outbox = new Outbox({
    dataDir: dir,
    maxPoints: 100_000,
    batchSize: 500,
    lingerMs: 10,
    retryMinMs: 20,
    retryMaxMs: 100,
    logger: silentLogger(),
    observer: { writeFailed: (reason) => failures.push(reason) },
  });
  t.after(() => outbox.close());
  const sink = new ScriptedSink();
  sink.failing = true;
  outbox.start(sink);
  const points = Array.from({ length: 2000 }, (_, i) => tele(i));
  for (let i = 0; i < 2000; i += 200) {
    outbox.append(points.slice(i, i + 200));
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => sink.attempts >= 4);
  assert.equal(outbox.depth(), 2000);
  assert.equal(sink.written.length, 0);
  assert.ok(failures.every((f) => f === 'unreachable') && failures.length >= 4);
  sink.failing = false;
  await until(() => outbox.depth() === 0);
  assert.deepEqual(
    sink.written.map((p) => p.ts),
    points.map((p) => p.ts),
  );
});

test('points survive a restart: the outbox reopens with them and replays them identically', async (t) => {
  const dir = tempDir(t);
  const first = new Outbox({ dataDir: dir, maxPoints: 10_000, logger: silentLogger() });
  const points = [tele(1), event(2), alarm(3), tele(4)];
  first.append(points);
  await first.close();
  const second = new Outbox({ dataDir: dir, maxPoints: 10_000, lingerMs: 0, logger: silentLogger() });
  t.after(() => second.close());
  assert.equal(second.depth(), 4);
  const sink = new ScriptedSink();
  second.start(sink);
  await until(() => second.depth() === 0);
  assert.deepEqual(sink.written.map(encodePoint), points.map(encodePoint));
});

test('a batch the store refuses for good is removed, the rest goes on', async (t) => {
  const dir = tempDir(t);
  let rejected = 0;
  const outbox = new Outbox({
    dataDir: dir,
    maxPoints: 10_000,
    batchSize: 2,
    lingerMs: 0,
    logger: silentLogger(),
    observer: { rejected: (n) => (rejected += n) },
  });
  t.after(() => outbox.close());
  const sink = new ScriptedSink();
  sink.rejectNext = true;
  outbox.start(sink);
  outbox.append([tele(1), tele(2), tele(3)]);
  await until(() => outbox.depth() === 0);
  assert.equal(rejected, 2);
  assert.deepEqual(
    sink.written.map((p) => p.ts),
    [T0 + 3],
  );
});

test('when full it drops the oldest telemetry first, then events, and alarm points last', async (t) => {
  const dir = tempDir(t);
  const drops: Array<[number, number]> = [];
  const outbox = new Outbox({ dataDir: dir, maxPoints: 1000, logger: silentLogger(), observer: { dropped: (n, p) => drops.push([n, p]) } });
  t.after(() => outbox.close());
  // No writer: the store is "down". 700 telemetry + 100 events + 100 alarms.
  outbox.append(Array.from({ length: 700 }, (_, i) => tele(i)));
  outbox.append(Array.from({ length: 100 }, (_, i) => event(i)));
  outbox.append(Array.from({ length: 100 }, (_, i) => alarm(i)));
  assert.equal(outbox.depth(), 900);
  assert.equal(outbox.nearlyFull, true, '80 % warning');
  // 300 more telemetry: 200 over the bound → the 200 oldest telemetry go.
  outbox.append(Array.from({ length: 300 }, (_, i) => tele(1000 + i)));
  assert.equal(outbox.depth(), 1000);
  assert.deepEqual(drops, [[200, PRIORITY.telemetry]]);
  const c = outbox.countsByPriority();
  assert.deepEqual([c[0], c[1], c[2]], [800, 100, 100]);
  assert.equal(outbox.peek(1)[0]!.ts, T0 + 200, 'oldest telemetry left is #200');
  // 900 alarm points: all telemetry (800) and then 100 events go; no alarm point is dropped.
  outbox.append(Array.from({ length: 900 }, (_, i) => alarm(1000 + i)));
  const c2 = outbox.countsByPriority();
  assert.deepEqual([c2[0], c2[1], c2[2]], [0, 0, 1000]);
  // Only alarm points left and more arrive: now the oldest alarm points go (the bound holds).
  outbox.append([alarm(5000)]);
  assert.equal(outbox.depth(), 1000);
  const next = outbox.peek(1000);
  assert.equal(next[0]!.ts, T0 + 1, 'oldest alarm point dropped');
  assert.equal(next[999]!.ts, T0 + 5000);
});

test('incoming telemetry is dropped before stored alarm points when the outbox holds only alarms', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({ dataDir: dir, maxPoints: 1000, logger: silentLogger() });
  t.after(() => outbox.close());
  outbox.append(Array.from({ length: 1000 }, (_, i) => alarm(i)));
  outbox.append([tele(1), tele(2)]);
  const c = outbox.countsByPriority();
  assert.deepEqual([c[0], c[1], c[2]], [0, 0, 1000]);
});

test('flush drains within the deadline and leaves the rest when the store is down', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({ dataDir: dir, maxPoints: 10_000, lingerMs: 5000, logger: silentLogger() });
  const sink = new ScriptedSink();
  outbox.start(sink);
  outbox.append([tele(1), tele(2)]);
  assert.equal(await outbox.flush(2000), true);
  assert.equal(sink.written.length, 2);
  sink.failing = true;
  outbox.append([tele(3)]);
  const started = Date.now();
  assert.equal(await outbox.flush(300), false);
  assert.ok(Date.now() - started < 1500);
  await outbox.close();
  const again = new Outbox({ dataDir: dir, maxPoints: 10_000, logger: silentLogger() });
  t.after(() => again.close());
  assert.equal(again.depth(), 1);
});
