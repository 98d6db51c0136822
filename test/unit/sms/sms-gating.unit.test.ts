/**
 * SMS under `ctx.singleton` (a gate the test toggles): while `sms` is not held the modem's port is
 * not opened and nothing is sent, though texts are still queued; on acquiring it the modem starts
 * and the queue is sent; on losing it the modem is stopped (no modem-trouble notice) and sending
 * stops, until it is held again. Waits poll conditions; no fixed sleeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../hub/core/clock.ts';
import { OutboundQueue } from '../../../hub/sms/outbound-queue.ts';
import { LEASE_SMS, smsExtension } from '../../../hub/sms/sms-extension.ts';
import { FakeModem } from '../../helpers/fake-modem.ts';
import { fakeHubContext } from '../../helpers/fake-hub-context.ts';
import { waitFor } from '../../helpers/cluster-kit.ts';

test('sms: nothing opened nor sent while "sms" is not held; held: the queue is sent; lost: the modem is stopped and sending stops', async (t) => {
  const hub = fakeHubContext({ clock: systemClock });
  const modem = new FakeModem();
  const ext = smsExtension(hub.ctx.config, { modems: [{ name: 'fake', modem }] });
  t.after(async () => {
    await ext.stop();
    hub.close();
  });
  await ext.start(hub.ctx);
  assert.ok(hub.gate.asked.has(LEASE_SMS));
  assert.equal(modem.starts, 0, 'the port is not opened on a node that does not hold sms');

  // What any node queues (its alarm changes) waits in its queue.
  const queue = new OutboundQueue(hub.ctx.db);
  const first = queue.enqueue({ kind: 'sms', to: '+84901234567', text: 'first', priority: 1, dedupeKey: 'k1' }, Date.now()).item;
  assert.equal(queue.get(first.id)!.state, 'queued');
  assert.equal(modem.sent.length, 0);

  hub.gate.set(LEASE_SMS, true);
  await waitFor(() => queue.get(first.id)!.state === 'sent', 5000, 'the first text sent once held');
  assert.equal(modem.starts, 1);
  assert.deepEqual(modem.sent, [{ to: '+84901234567', text: 'first' }]);

  hub.gate.set(LEASE_SMS, false);
  await waitFor(() => modem.stops === 1, 5000, 'the modem stopped on losing the lease');
  const second = queue.enqueue({ kind: 'sms', to: '+84901234568', text: 'second', priority: 1, dedupeKey: 'k2' }, Date.now()).item;
  // No sender runs any more and the port is closed: it stays queued.
  assert.equal(queue.get(second.id)!.state, 'queued');
  assert.equal(modem.sent.length, 1);
  assert.deepEqual(
    hub.published.filter((p) => p.payload.includes('modem-trouble')),
    [],
    'losing the lease is not a modem trouble',
  );

  hub.gate.set(LEASE_SMS, true);
  await waitFor(() => queue.get(second.id)!.state === 'sent', 5000, 'the second text sent once held again');
  assert.equal(modem.starts, 2);
  assert.deepEqual(
    modem.sent.map((s) => s.text),
    ['first', 'second'],
  );
});
