/**
 * Nothing lost, nothing duplicated: a real hub writes telemetry published over MQTT to a real
 * influxd; influxd is killed (SIGKILL) under load and restarted on the same port and data dir;
 * the hub itself is also stopped while InfluxDB is down and started again. Counted through the
 * InfluxDB query API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { loadConfig, type HubConfig } from '../../../hub/config/config.ts';
import { telemetryExtension, type TelemetryExtension } from '../../../hub/telemetry/telemetry-extension.ts';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, sleep } from '../../helpers/mqtt-clients.ts';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';

const DEVICES = ['t1-h1-smoke', 't1-h2-smoke', 't1-h3-smoke', 't2-h1-smoke'];

function hubConfig(dataDir: string, influxUrl: string): HubConfig {
  return {
    ...loadConfig({ flags: { data: dataDir }, env: {} }),
    host: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    mqttsPort: 0,
    httpsPort: 0,
    verifyWindowS: 0,
    influxUrl,
  };
}

async function startHubWithInflux(dataDir: string, influxUrl: string): Promise<{ th: TestHub; ext: TelemetryExtension }> {
  const config = hubConfig(dataDir, influxUrl);
  const ext = telemetryExtension(config, { retryMinMs: 100, retryMaxMs: 500, lingerMs: 200, requestTimeoutMs: 3000 });
  const th = await startTestHub({ dataDir, config: { influxUrl }, extensions: [ext] });
  return { th, ext };
}

/** Publishes `count` readings round-robin over the devices, QoS 1 (acknowledged = accepted by the hub). */
async function publish(clients: Map<string, MqttClient>, from: number, count: number, base: number): Promise<void> {
  const pending: Array<Promise<unknown>> = [];
  for (let i = from; i < from + count; i++) {
    const device = DEVICES[i % DEVICES.length]!;
    const household = device.replace(/-smoke$/, '');
    const payload = JSON.stringify({ ts: base + i, smoke: i, battery: 50 + (i % 50) });
    pending.push(clients.get(device)!.publishAsync(`smokehub/h/${household}/d/${device}/telemetry`, payload, { qos: 1 }));
    if (pending.length >= 200) {
      await Promise.all(pending);
      pending.length = 0;
      await sleep(20);
    }
  }
  await Promise.all(pending);
}

async function stored(influxd: Influxd, db: string): Promise<{ count: number; sum: number; min: number; max: number }> {
  const r = await influxd.query('SELECT COUNT("smoke"), SUM("smoke"), MIN("smoke"), MAX("smoke") FROM "smokehub_raw"."telemetry"', db);
  const row = r.results[0]?.series?.[0]?.values[0];
  if (!row) return { count: 0, sum: 0, min: 0, max: 0 };
  return { count: Number(row[1]), sum: Number(row[2]), min: Number(row[3]), max: Number(row[4]) };
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('influxd killed under load and restarted: zero lost, zero duplicated', { timeout: 50_000 }, async (t) => {
  const influxd = await startInfluxd();
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-outage-'));
  const pool = new ClientPool();
  let th: TestHub | null = null;
  // Clients first, then the hub, then influxd and the files — even when the test fails.
  t.after(async () => {
    await pool.closeAll();
    await th?.stop();
    await influxd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const started = await startHubWithInflux(dataDir, `${influxd.baseUrl}/outage`);
  th = started.th;
  const { ext } = started;
  const hub = started.th;
  const clients = new Map<string, MqttClient>();
  for (const d of DEVICES) clients.set(d, await pool.device(hub.mqttUrl, hub.device(d)));

  const base = Date.now() - 3_600_000;
  await publish(clients, 0, 1500, base);
  await until(async () => (await stored(influxd, 'outage')).count === 1500, 10_000, 'first 1,500 points in InfluxDB');

  await influxd.kill();
  await publish(clients, 1500, 2000, base);
  await sleep(600);
  const worker = ext.worker!;
  assert.ok(await ext.commitQueued(5000), 'the storage worker committed every batch');
  assert.equal(worker.outboxDepth, 2000, 'the outbox holds every point while InfluxDB is down');
  const metricsDown = await (await fetch(`${hub.httpUrl}/metrics`)).text();
  assert.match(metricsDown, /^smokehub_telemetry_store_up 0$/m);
  assert.match(metricsDown, /^smokehub_telemetry_write_errors_total\{reason="unreachable"\} [1-9]\d*$/m);

  await influxd.start();
  await publish(clients, 3500, 500, base);
  await until(async () => (await ext.commitQueued(1000)) && worker.depth() === 0, 20_000, 'outbox drained');

  const n = 4000;
  const s = await stored(influxd, 'outage');
  assert.equal(s.count, n, 'every point stored exactly once');
  assert.equal(s.sum, (n * (n - 1)) / 2);
  assert.equal(s.min, 0);
  assert.equal(s.max, n - 1);
  const metricsUp = await (await fetch(`${hub.httpUrl}/metrics`)).text();
  assert.match(metricsUp, /^smokehub_telemetry_store_up 1$/m);
  assert.match(metricsUp, /^smokehub_outbox_depth 0$/m);
});

test('the hub stopped while InfluxDB is down keeps its outbox and delivers it after the next start', { timeout: 50_000 }, async (t) => {
  const influxd = await startInfluxd();
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-outage-'));
  const pool = new ClientPool();
  const hubs: TestHub[] = [];
  t.after(async () => {
    await pool.closeAll();
    for (const h of hubs) await h.stop();
    await influxd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const url = `${influxd.baseUrl}/restart`;
  const first = await startHubWithInflux(dataDir, url);
  hubs.push(first.th);
  const clients = new Map<string, MqttClient>();
  for (const d of DEVICES) clients.set(d, await pool.device(first.th.mqttUrl, first.th.device(d)));
  const base = Date.now() - 3_600_000;
  await influxd.kill();
  await publish(clients, 0, 1000, base);
  await pool.closeAll();
  const stopStarted = Date.now();
  hubs.pop();
  await first.th.stop();
  assert.ok(Date.now() - stopStarted < 8000, 'stop() gives up draining within a few seconds');

  await influxd.start();
  // Same data dir: the registry and the outbox are still there.
  const second = await startHubWithInflux(dataDir, url);
  hubs.push(second.th);
  await until(async () => (await stored(influxd, 'restart')).count === 1000, 15_000, 'outbox replayed after restart');
  const s = await stored(influxd, 'restart');
  assert.equal(s.sum, (1000 * 999) / 2);
});
