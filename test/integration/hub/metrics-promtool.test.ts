/**
 * A live hub's /metrics passes Debian's `promtool check metrics` (Prometheus' own linter): types,
 * names, label rules — a summary's `quantile` label only on a summary. Traffic first, so that the
 * labelled families have series (logins refused, MQTT refusals, an alarm, telemetry).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ClientPool } from '../../helpers/mqtt-clients.ts';

const skip = spawnSync('promtool', ['--version']).error ? 'promtool is not installed (apt-get install -y prometheus)' : false;

test('promtool check metrics accepts /metrics of a live hub', { skip, timeout: 60_000 }, async (t) => {
  const th = await startTestHub({ loginRefusalFloorMs: 0 });
  const pool = new ClientPool();
  t.after(async () => {
    await pool.closeAll();
    await th.stop();
  });
  await fetch(`${th.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'wrong' }),
  });
  await assert.rejects(pool.connect(th.mqttUrl, { clientId: 'x', username: 'nobody', password: 'nothing-here' }));
  const dev = th.device('t1-h1-smoke');
  const c = await pool.device(th.mqttUrl, dev);
  await c.publishAsync(`smokehub/h/${dev.household}/d/${dev.device}/telemetry`, JSON.stringify({ smoke: 12, battery: 90 }), { qos: 1 });
  await c.publishAsync(`smokehub/h/${dev.household}/d/${dev.device}/event`, JSON.stringify({ id: 'e-promtool-1', type: 'smoke', level: 700 }), { qos: 1 });
  const text = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(text, /^smokehub_event_loop_delay_seconds_count \d+/m);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
});
