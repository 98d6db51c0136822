/** Graceful shutdown: stop() returns promptly with clients connected (even ones that keep reconnecting). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { startTestHub } from '../../helpers/hub-harness.ts';

test('stop() drains and closes with devices connected and reconnecting', async () => {
  const th = await startTestHub();
  const clients = await Promise.all(
    ['t1-h1-smoke', 't1-h2-smoke', 't2-h1-panic'].map((d) => {
      const c = th.device(d);
      return mqtt.connectAsync(th.mqttUrl, { clientId: c.device, username: c.device, password: c.secret, reconnectPeriod: 50, clean: false });
    }),
  );
  try {
    const t0 = Date.now();
    const outcome = await Promise.race([th.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 8000))]);
    assert.equal(outcome, 'stopped');
    assert.ok(Date.now() - t0 < 5000, `stop took ${Date.now() - t0} ms`);
    assert.equal(th.hub.ctx.db.open, false, 'the database is closed');
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
  }
});
