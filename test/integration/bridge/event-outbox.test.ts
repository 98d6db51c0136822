import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventOutbox } from '../../../firmware-bridge/event-outbox.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-outbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('entries survive a reopen, in order, with stable event ids', (t) => {
  const dir = tempDir(t);
  const a = new EventOutbox(dir);
  const e1 = a.addEvent('smoke', 1000, 412).event;
  a.addTelemetry({ smoke: 400, battery: 90 }, 1001);
  const e2 = a.addEvent('clear', 1002).event;
  assert.match(e1.id, /^[0-9a-f]{12}-1$/);
  assert.notEqual(e1.id, e2.id);
  a.close();
  const b = new EventOutbox(dir);
  t.after(() => b.close());
  const entries = b.after(0, 10);
  assert.deepEqual(
    entries.map((e) => e.channel),
    ['event', 'telemetry', 'event'],
  );
  assert.deepEqual(JSON.parse(entries[0]!.payload), { id: e1.id, type: 'smoke', ts: 1000, level: 412 });
  assert.deepEqual(JSON.parse(entries[1]!.payload), { ts: 1001, smoke: 400, battery: 90 });
  assert.equal(b.outboxId, e1.id.split('-')[0]);
  b.ack(entries[0]!.seq);
  assert.equal(b.size(), 2);
  // Sequence numbers are never reused: a new event after acks gets a fresh id.
  const e3 = b.addEvent('smoke', 1003).event;
  assert.ok(![e1.id, e2.id].includes(e3.id));
});

test('when full, telemetry goes first, then non-alarm events; alarm events are never dropped', (t) => {
  const dir = tempDir(t);
  const o = new EventOutbox(dir, { maxEntries: 5 });
  t.after(() => o.close());
  o.addEvent('smoke', 1);
  o.addTelemetry({ smoke: 1 }, 2);
  o.addEvent('test', 3);
  o.addTelemetry({ smoke: 2 }, 4);
  o.addEvent('panic', 5);
  assert.equal(o.addEvent('clear', 6).dropped, 1);
  assert.equal(o.addTelemetry({ smoke: 3 }, 7).dropped, 1);
  assert.deepEqual(o.droppedCounts(), { telemetry: 2, event: 0 });
  // Now: smoke, test, panic, clear, telemetry(7). Next alarm event drops the telemetry, then the test.
  o.addEvent('hush', 8);
  o.addEvent('heat', 9);
  assert.deepEqual(o.droppedCounts(), { telemetry: 3, event: 1 });
  const types = () => o.after(0, 100).map((e) => (e.channel === 'event' ? JSON.parse(e.payload).type : 'telemetry'));
  assert.deepEqual(types(), ['smoke', 'panic', 'clear', 'hush', 'heat']);
  // Full of alarm events only: the bound gives way rather than lose one.
  o.addEvent('co', 10);
  assert.equal(o.addTelemetry({ smoke: 9 }, 11).entry, null, 'telemetry gives way to alarm events');
  assert.equal(o.size(), 6);
  assert.deepEqual(types(), ['smoke', 'panic', 'clear', 'hush', 'heat', 'co']);
});
