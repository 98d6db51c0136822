/**
 * End to end through a real hub with the embedded store (no --influx): devices publish over MQTT,
 * invalid fields are refused one by one while the valid ones are stored, the query API serves
 * series, latest values and events, scoped per user, and /metrics shows the pipeline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';

let th: TestHub;
const pool = new ClientPool();
const tokens: Record<string, string> = {};

before(async () => {
  th = await startTestHub();
  await th.hub.registry.addUser({ username: 'leader2', role: 'team-leader', team: 't2', password: 'leader-password-2' });
  await th.hub.registry.addUser({ username: 'leader1', role: 'team-leader', team: 't1', password: 'leader-password-1' });
  await th.hub.registry.addUser({ username: 'home11', role: 'household', household: 't1-h1', password: 'household-password' });
  await th.hub.registry.addUser({ username: 'home12', role: 'household', household: 't1-h2', password: 'household-password' });
  for (const [u, p] of [
    ['admin', th.adminPassword],
    ['leader1', 'leader-password-1'],
    ['leader2', 'leader-password-2'],
    ['home11', 'household-password'],
    ['home12', 'household-password'],
  ] as const) {
    const r = await fetch(`${th.httpUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: u, password: p }),
    });
    assert.equal(r.status, 200, `login ${u}`);
    tokens[u] = (await r.json()).token;
  }
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

async function api(user: string, path: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${th.httpUrl}${path}`, { headers: { authorization: `Bearer ${tokens[user]}` } });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function eventually<T>(fn: () => Promise<T | undefined>, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('valid fields are stored and served; invalid ones are refused on the error topic, field by field', async () => {
  const dev = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const errors = new Inbox(dev);
  await dev.subscribeAsync('smokehub/h/t1-h1/d/t1-h1-smoke/error', { qos: 1 });
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < 60; i++) {
    await dev.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify({ ts: t0 + i * 1000, temperature: 20 + (i % 10), battery: 90 }), {
      qos: 1,
    });
  }
  await dev.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify({ ts: t0 + 60_000, battery: 150, smoke: 'x', humidity: 55 }), { qos: 1 });
  const err = await errors.next(() => true, 3000, 'error topic message');
  assert.match(err.payload, /battery/);
  assert.match(err.payload, /smoke/);

  const from = t0 - 1;
  const body = await eventually(
    async () => {
      const r = await api('admin', `/api/telemetry?household=t1-h1&device=t1-h1-smoke&field=temperature&from=${from}&to=${t0 + 61_000}&every=10s`);
      assert.equal(r.status, 200);
      return r.body.series.length === 1 && r.body.series[0].points.length >= 6 ? r.body : undefined;
    },
    5000,
    'stored telemetry',
  );
  assert.equal(body.source, 'embedded');
  assert.equal(body.unit, '°C');
  assert.equal(body.every, 10_000);
  const all = body.series[0].points;
  assert.equal(Math.min(...all.map((p: any) => p.min)), 20);
  assert.equal(Math.max(...all.map((p: any) => p.max)), 29);

  const latest = await eventually(
    async () => {
      const r = await api('home11', '/api/households/t1-h1/telemetry/latest');
      assert.equal(r.status, 200);
      const d = r.body.devices.find((x: any) => x.device === 't1-h1-smoke');
      return d?.values.humidity ? d : undefined;
    },
    5000,
    'latest humidity',
  );
  // The valid field of the half-bad message is stored; its refused battery (150) is not.
  assert.deepEqual(latest.values.humidity, { value: 55, at: t0 + 60_000 });
  assert.deepEqual(latest.values.battery, { value: 90, at: t0 + 59_000 });
  assert.equal(latest.values.smoke, undefined);
});

test('queries are scoped per user', async () => {
  const q = '/api/telemetry?household=t1-h1&field=battery';
  assert.equal((await api('admin', q)).status, 200);
  assert.equal((await api('leader1', q)).status, 200);
  assert.equal((await api('home11', q)).status, 200);
  const other = await api('home12', q);
  assert.equal(other.status, 403);
  assert.equal(other.body.error, 'forbidden');
  assert.equal((await api('leader2', q)).status, 403);
  assert.equal((await api('leader2', '/api/households/t1-h1/telemetry/latest')).status, 403);
  assert.equal((await api('home12', '/api/telemetry/events?household=t1-h1')).status, 403);
  const anon = await fetch(`${th.httpUrl}${q}`);
  assert.equal(anon.status, 401);
});

test('bad query parameters are refused with the reason', async () => {
  const cases: Array<[string, RegExp]> = [
    ['/api/telemetry?field=battery', /household is required/],
    ['/api/telemetry?household=t1-h1', /field is required/],
    ['/api/telemetry?household=t1-h1&field=pressure', /unknown field/],
    ['/api/telemetry?household=t1-h1&field=battery&from=yesterday', /from must be/],
    ['/api/telemetry?household=t1-h1&field=battery&from=2000&to=1000', /from must be before to/],
    ['/api/telemetry?household=t1-h1&field=battery&every=fast', /every must be a duration/],
    ['/api/telemetry?household=t1-h1&field=battery&from=0&to=99999999999', /at most/],
    ['/api/telemetry?household=t1-h1&field=battery&colour=red', /unknown parameter/],
    ['/api/telemetry?household=..%2F&field=battery', /not a valid id/],
  ];
  for (const [path, reason] of cases) {
    const r = await api('admin', path);
    assert.equal(r.status, 400, path);
    assert.equal(r.body.error, 'bad_request', path);
    assert.match(r.body.message, reason, path);
  }
  assert.equal((await api('admin', '/api/telemetry?household=nowhere&field=battery')).status, 404);
  assert.equal((await api('admin', '/api/telemetry?household=t1-h1&device=t1-h2-smoke&field=battery')).status, 404);
});

test('a long range is downsampled server-side to at most 1,000 buckets', async () => {
  const to = Date.now();
  const r = await api('admin', `/api/telemetry?household=t1-h1&field=temperature&from=${to - 7 * 86_400_000}&to=${to}&every=1s`);
  assert.equal(r.status, 200);
  assert.ok(Math.ceil((7 * 86_400_000) / r.body.every) <= 1000, `every ${r.body.every}`);
  for (const s of r.body.series) assert.ok(s.points.length <= 1000);
});

test('device events and alarm transitions are kept as events', async () => {
  const dev = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  await dev.publishAsync('smokehub/h/t1-h3/d/t1-h3-smoke/event', JSON.stringify({ id: 'tele-e2e-1', type: 'smoke', level: 900 }), { qos: 1 });
  const events = await eventually(
    async () => {
      const r = await api('admin', '/api/telemetry/events?household=t1-h3');
      assert.equal(r.status, 200);
      return r.body.events.some((e: any) => e.state) ? r.body.events : undefined;
    },
    5000,
    'events',
  );
  const device = events.find((e: any) => e.type === 'smoke' && e.state === null);
  assert.ok(device, JSON.stringify(events));
  assert.deepEqual(device.fields, { id: 'tele-e2e-1', level: 900 });
  const transition = events.find((e: any) => e.state !== null);
  assert.equal(transition.device, 't1-h3-smoke');
  assert.equal(typeof transition.fields.alarm, 'string');
});

test('/metrics shows the telemetry pipeline', async () => {
  const text = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(text, /^smokehub_outbox_depth \d+$/m);
  assert.match(text, /^smokehub_telemetry_batch_size_count \d+$/m);
  assert.match(text, /^smokehub_telemetry_write_seconds_count [1-9]\d*$/m);
  assert.match(text, /^smokehub_telemetry_write_errors_total 0$/m);
  assert.match(text, /^smokehub_telemetry_points_total\{measurement="telemetry"\} 6[01]$/m);
  assert.match(text, /^smokehub_telemetry_store_up 1$/m);
});
