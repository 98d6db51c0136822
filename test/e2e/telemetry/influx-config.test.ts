/**
 * InfluxDB start-up against a real influxd with authentication: wrong credentials, a URL without a
 * database, a server that is not InfluxDB → one clear ConfigError and the hub does not start;
 * right credentials → database, retention policies and continuous queries, idempotently;
 * InfluxDB unreachable at start → the hub runs and delivers once InfluxDB appears.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../hub/protocol/errors.ts';
import { InfluxTelemetryStore, parseInfluxUrl } from '../../../hub/telemetry/influx-store.ts';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, sleep } from '../../helpers/mqtt-clients.ts';
import { startInfluxd } from '../../helpers/influxd.ts';
import { freePort } from '../../helpers/ports.ts';

const ADMIN = { username: 'smokeadmin', password: 'pa ss:w@rd' };

function storeFor(url: string, user: string | null = null, password: string | null = null): InfluxTelemetryStore {
  return new InfluxTelemetryStore({
    target: parseInfluxUrl(url, user, password),
    rawRetentionDays: 30,
    rollupRetentionDays: 730,
    requestTimeoutMs: 2000,
    now: () => Date.now(),
  });
}

test('URL parsing: user and password from the URL or the separate settings, database required', () => {
  const t = parseInfluxUrl('http://u%40x:p%3Aw@db.local:9999/prefix/smoke');
  assert.deepEqual(
    { host: t.host, port: t.port, path: t.path, database: t.database, username: t.username, password: t.password },
    { host: 'db.local', port: 9999, path: '/prefix', database: 'smoke', username: 'u@x', password: 'p:w' },
  );
  assert.ok(!t.display.includes('p%3Aw'), 'the password is not shown');
  const env = parseInfluxUrl('https://db.local/smoke', 'envuser', 'envpass');
  assert.deepEqual([env.protocol, env.port, env.username, env.password], ['https', 443, 'envuser', 'envpass']);
  assert.throws(
    () => parseInfluxUrl('http://127.0.0.1:8086'),
    (e: unknown) => e instanceof ConfigError && /names no database/.test(e.message),
  );
  assert.throws(() => parseInfluxUrl('http://127.0.0.1:8086/bad name'), ConfigError);
  assert.throws(() => parseInfluxUrl('ftp://x/y'), ConfigError);
});

test('wrong or missing credentials: one clear ConfigError, the hub does not start', { timeout: 40_000 }, async (t) => {
  const influxd = await startInfluxd({ auth: ADMIN });
  const dirs: string[] = [];
  t.after(async () => {
    await influxd.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const wrong = `http://${ADMIN.username}:nope@127.0.0.1:${influxd.port}/smokehub`;
  await assert.rejects(storeFor(wrong).start(), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'bad_config');
    assert.match(e.message, /authentication failed/);
    assert.match(e.message, /smokeadmin/);
    assert.ok(!e.message.includes('nope'), 'no password in the message');
    return true;
  });
  await assert.rejects(storeFor(`${influxd.baseUrl}/smokehub`).start(), /no user name was given/);

  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-influxcfg-'));
  dirs.push(dataDir);
  await assert.rejects(
    startTestHub({ dataDir, config: { influxUrl: wrong } }),
    (e: unknown) => e instanceof ConfigError && /authentication failed/.test(e.message),
  );

  // Right credentials (from the separate settings): set up once, then again without change.
  const url = `${influxd.baseUrl}/smokehub`;
  await storeFor(url, ADMIN.username, ADMIN.password).start();
  await storeFor(url, ADMIN.username, ADMIN.password).start();
  const rps = await influxd.query('SHOW RETENTION POLICIES ON "smokehub"');
  const rows = rps.results[0]!.series![0]!.values.map((v) => [v[0], v[1], v[4]]);
  assert.deepEqual(rows.filter((r) => String(r[0]).startsWith('smokehub_')).sort(), [
    ['smokehub_raw', '720h0m0s', true],
    ['smokehub_rollup', '17520h0m0s', false],
  ]);
  const cqs = await influxd.query('SHOW CONTINUOUS QUERIES');
  const mine = cqs.results[0]!.series!.find((s) => s.name === 'smokehub')!
    .values.map((v) => v[0])
    .sort();
  assert.deepEqual(mine, ['cq_events_5m', 'cq_telemetry_5m']);
  // A changed retention setting is applied on the next start.
  await new InfluxTelemetryStore({
    target: parseInfluxUrl(url, ADMIN.username, ADMIN.password),
    rawRetentionDays: 14,
    rollupRetentionDays: 730,
    now: () => Date.now(),
  }).start();
  const after = await influxd.query('SHOW RETENTION POLICIES ON "smokehub"');
  assert.ok(after.results[0]!.series![0]!.values.some((v) => v[0] === 'smokehub_raw' && v[1] === '336h0m0s'));
});

test('a server that is not InfluxDB: one clear ConfigError', async (t) => {
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end('not here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  await assert.rejects(
    storeFor(`http://127.0.0.1:${port}/smokehub`).start(),
    (e: unknown) => e instanceof ConfigError && /not an InfluxDB 1\.x server/.test(e.message),
  );
});

test('InfluxDB unreachable at start: the hub runs, buffers, and delivers once InfluxDB appears', { timeout: 40_000 }, async (t) => {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-influxcfg-'));
  const pool = new ClientPool();
  let th: TestHub | null = null;
  let influxd: Awaited<ReturnType<typeof startInfluxd>> | null = null;
  t.after(async () => {
    await pool.closeAll();
    await th?.stop();
    await influxd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  th = await startTestHub({ dataDir, config: { influxUrl: `http://127.0.0.1:${port}/late` } });
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /^smokehub_telemetry_store_up 0$/m);
  const dev = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const base = Date.now() - 60_000;
  for (let i = 0; i < 50; i++) {
    await dev.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify({ ts: base + i, battery: i }), { qos: 1 });
  }
  influxd = await startInfluxd({ port });
  const end = Date.now() + 30_000;
  let count = 0;
  while (Date.now() < end) {
    const r = await influxd.query('SELECT COUNT("battery") FROM "smokehub_raw"."telemetry"', 'late').catch(() => null);
    count = Number(r?.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
    if (count === 50) break;
    await sleep(100);
  }
  assert.equal(count, 50, 'the database was set up late and every buffered point arrived');
});
