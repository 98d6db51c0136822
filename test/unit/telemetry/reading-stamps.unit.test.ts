/** The timestamp rule for telemetry readings (pure): one point per reading, per device. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadingStamper } from '../../../hub/telemetry/reading-stamps.ts';

const T = 1_790_000_000_000;

test('readings without ts arriving in one millisecond get strictly increasing stamps, per device', () => {
  const s = new ReadingStamper();
  const got: Array<[string, number]> = [];
  for (let i = 0; i < 5; i++) {
    const outcome = s.stamp('a', { values: { smoke: i } }, T + 0.4);
    got.push([outcome, s.ts]);
  }
  assert.deepEqual(got, [
    ['new', T],
    ['moved', T + 1],
    ['moved', T + 2],
    ['moved', T + 3],
    ['moved', T + 4],
  ]);
  // Another device has its own timeline.
  assert.equal(s.stamp('b', { values: { smoke: 1 } }, T), 'new');
  assert.equal(s.ts, T);
  // Once the clock has passed the stamps, arrival time is used again.
  assert.equal(s.stamp('a', { values: { smoke: 9 } }, T + 10), 'new');
  assert.equal(s.ts, T + 10);
  // A clock stepped back (NTP) never gives a device an earlier or equal stamp.
  assert.equal(s.stamp('a', { values: { smoke: 9 } }, T - 60_000), 'moved');
  assert.equal(s.ts, T + 11);
});

test('a stamp never lands on a timestamp the device sent itself', () => {
  const s = new ReadingStamper();
  assert.equal(s.stamp('a', { ts: T + 5, values: { battery: 90 } }, T), 'new');
  assert.equal(s.stamp('a', { values: { battery: 91 } }, T), 'moved');
  assert.equal(s.ts, T + 6);
  // Old device timestamps (a replayed queue) do not hold the stamps back.
  assert.equal(s.stamp('a', { ts: T - 3_600_000, values: { battery: 80 } }, T + 100), 'new');
  assert.equal(s.stamp('a', { values: { battery: 92 } }, T + 100), 'new');
  assert.equal(s.ts, T + 100);
});

test('an equal explicit ts: duplicate, merged, or conflict', () => {
  const s = new ReadingStamper();
  assert.equal(s.stamp('a', { ts: T, values: { smoke: 3, battery: 50 } }, T + 1), 'new');
  assert.equal(s.stamp('a', { ts: T + 1000, values: { smoke: 4 } }, T + 1001), 'new');
  // Same values again (QoS 1 redelivery, bridge replay), also as a subset of what is there.
  assert.equal(s.stamp('a', { ts: T, values: { smoke: 3, battery: 50 } }, T + 2000), 'duplicate');
  assert.equal(s.ts, T);
  assert.equal(s.stamp('a', { ts: T, values: { battery: 50 } }, T + 2000), 'duplicate');
  // New fields of the same instant merge; then they count as there.
  assert.equal(s.stamp('a', { ts: T, values: { rssi: -70, battery: 50 } }, T + 2000), 'merged');
  assert.equal(s.stamp('a', { ts: T, values: { rssi: -70 } }, T + 2000), 'duplicate');
  // A different value for a field already there: conflict, with the fields named.
  assert.equal(s.stamp('a', { ts: T, values: { battery: 60, rssi: -70, humidity: 40 } }, T + 2000), 'conflict');
  assert.deepEqual(s.conflictFields, ['battery']);
  assert.equal(s.stamp('a', { ts: T, values: { smoke: 4, rssi: -71 } }, T + 2000), 'conflict');
  assert.deepEqual(s.conflictFields, ['smoke', 'rssi']);
  // A refused reading is not recorded: its new field (humidity) is still new, the first values stand.
  assert.equal(s.stamp('a', { ts: T, values: { humidity: 41 } }, T + 2000), 'merged');
  assert.equal(s.stamp('a', { ts: T, values: { smoke: 3, battery: 50, rssi: -70, humidity: 41 } }, T + 2000), 'duplicate');
  // The same ts on another device is unrelated.
  assert.equal(s.stamp('b', { ts: T, values: { battery: 60 } }, T + 2000), 'new');
});

test('an equal ts is compared with what the hub stamped too, and out-of-order readings are remembered', () => {
  const s = new ReadingStamper();
  assert.equal(s.stamp('a', { ts: T - 10, values: { smoke: 1 } }, T), 'new');
  assert.equal(s.stamp('a', { values: { smoke: 2 } }, T), 'new');
  assert.equal(s.ts, T);
  assert.equal(s.stamp('a', { ts: T, values: { smoke: 5 } }, T + 1), 'conflict');
  // Older than the latest, not seen: new; sent again: a duplicate.
  assert.equal(s.stamp('a', { ts: T - 500, values: { smoke: 7 } }, T + 1), 'new');
  assert.equal(s.stamp('a', { ts: T - 500, values: { smoke: 7 } }, T + 1), 'duplicate');
});

test('each device remembers its last `depth` timestamps, and at most `maxDevices` devices are kept', () => {
  const s = new ReadingStamper({ depth: 4, maxDevices: 3 });
  for (let i = 0; i < 5; i++) assert.equal(s.stamp('a', { ts: T + i, values: { smoke: i } }, T + 10), 'new');
  // T + 0 fell out of the 4 remembered: not recognised any more (the store's merge applies, docs).
  assert.equal(s.stamp('a', { ts: T, values: { smoke: 99 } }, T + 10), 'new');
  // The last four are (T+2, T+3, T+4, T+0 again).
  assert.equal(s.stamp('a', { ts: T + 2, values: { smoke: 99 } }, T + 10), 'conflict');
  assert.equal(s.stamp('a', { ts: T + 4, values: { smoke: 4 } }, T + 10), 'duplicate');
  for (const d of ['b', 'c', 'd', 'e']) s.stamp(d, { values: { smoke: 1 } }, T);
  assert.equal(s.size, 3);
  // 'd' took the place (and emptied ring) of 'a': a's timestamps mean nothing for 'd'.
  assert.equal(s.stamp('d', { ts: T + 10, values: { smoke: 1 } }, T + 10), 'new');
  assert.equal(s.stamp('d', { ts: T + 2, values: { smoke: 1 } }, T + 10), 'new');
  // 'a' (the oldest) was forgotten: its timestamps are new again.
  assert.equal(s.stamp('a', { ts: T + 4, values: { smoke: 5 } }, T + 10), 'new');
  assert.equal(s.size, 3);
});
