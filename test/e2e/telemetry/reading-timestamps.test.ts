/**
 * One point per reading, through the real broker, for both stores (embedded SQLite and a real
 * influxd behind the outbox): a burst of readings without `ts` from one device is stored whole, and
 * an equal explicit `ts` follows the documented rule (docs/telemetry.md, "Timestamps"): a
 * redelivery is kept once and silently, other fields of the same instant merge, a different value
 * is refused with `duplicate_ts` on the device's error topic and the first value stays.
 *
 * The hub's clock is frozen: every reading arrives in the same millisecond, the worst case.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { ManualClock } from '../../../hub/core/clock.ts';
import { loadConfig, type HubConfig } from '../../../hub/config/config.ts';
import { telemetryExtension, type TelemetryExtension } from '../../../hub/telemetry/telemetry-extension.ts';
import type { TelemetryField } from '../../../hub/protocol/schema.ts';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';

const HOUR = 3_600_000;
// Near real time: InfluxDB keeps only points within its retention policy, by its own clock.
const T0 = Math.floor(Date.now() / HOUR) * HOUR - HOUR;

/** Publishes each line as one message with mosquitto_pub -l (one connection, as fast as it can). */
function mosquittoBurst(port: number, cred: { device: string; secret: string }, topic: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port), '-i', cred.device, '-u', cred.device, '-P', cred.secret, '-t', topic, '-q', '1', '-l'],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`mosquitto_pub exited ${code ?? signal}: ${err}`));
    });
    p.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

for (const kind of ['embedded', 'influxdb'] as const) {
  describe(`readings keep one point each: ${kind} store`, () => {
    const clock = new ManualClock(T0);
    const pool = new ClientPool();
    let influxd: Influxd | null = null;
    let dataDir = '';
    let th: TestHub;
    let ext: TelemetryExtension;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'smokehub-stamps-'));
      let influxUrl: string | null = null;
      if (kind === 'influxdb') {
        influxd = await startInfluxd();
        influxUrl = `${influxd.baseUrl}/stamps`;
      }
      const config: HubConfig = {
        ...loadConfig({ flags: { data: dataDir }, env: {} }),
        host: '127.0.0.1',
        mqttPort: 0,
        httpPort: 0,
        mqttsPort: 0,
        httpsPort: 0,
        verifyWindowS: 0,
        influxUrl,
      };
      ext = telemetryExtension(config, { flushMs: 20, lingerMs: 50, retryMinMs: 100, retryMaxMs: 500 });
      th = await startTestHub({ dataDir, clock, config: { influxUrl }, extensions: [ext] });
    });
    after(async () => {
      await pool.closeAll();
      await th?.stop();
      await influxd?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** The stored points of one device and field in [from, to): one 1-ms bucket per point. */
    async function points(household: string, device: string, field: TelemetryField, from: number, to: number): Promise<Array<{ t: number; v: number }>> {
      await ext.commitQueued(5000);
      const series = await ext.activeStore!.querySeries({ household, device, field, from, to, every: 1 });
      return (series[0]?.points ?? []).map((p) => ({ t: p.t, v: p.mean }));
    }
    /** Waits until `n` points are stored (and reads once more, so that a late extra one shows). */
    async function storedWhen(household: string, device: string, field: TelemetryField, from: number, to: number, n: number) {
      await until(async () => ((await points(household, device, field, from, to)).length >= n ? true : undefined), 10_000, `${n} stored points`).catch(
        () => {},
      );
      if (kind === 'influxdb') await until(async () => (ext.worker!.outboxDepth === 0 ? true : undefined), 10_000, 'outbox drained');
      return points(household, device, field, from, to);
    }

    it('a burst of readings without ts from one device (mosquitto_pub -l, one millisecond) keeps every reading', async () => {
      const cred = th.device('t1-h1-smoke');
      const n = 40;
      const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ smoke: i, battery: 90 }));
      await mosquittoBurst(th.hub.mqttPort, cred, 'smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', lines);
      const stored = await storedWhen('t1-h1', 't1-h1-smoke', 'smoke', T0 - 1, T0 + HOUR, n);
      assert.equal(stored.length, n, `stored ${stored.length} of ${n} readings`);
      // Stamped in arrival order, 1 ms apart from the frozen clock: the order of the readings is kept.
      assert.deepEqual(
        stored.map((p) => p.t),
        Array.from({ length: n }, (_, i) => T0 + i),
      );
      assert.deepEqual(
        stored.map((p) => p.v),
        Array.from({ length: n }, (_, i) => i),
      );

      // A second burst goes on after the first one's stamps, not over them.
      await mosquittoBurst(th.hub.mqttPort, cred, 'smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', [
        JSON.stringify({ smoke: 100 }),
        JSON.stringify({ smoke: 101 }),
        JSON.stringify({ smoke: 102 }),
      ]);
      const after = await storedWhen('t1-h1', 't1-h1-smoke', 'smoke', T0 - 1, T0 + HOUR, n + 3);
      assert.equal(after.length, n + 3);
      assert.deepEqual(after.slice(n), [
        { t: T0 + n, v: 100 },
        { t: T0 + n + 1, v: 101 },
        { t: T0 + n + 2, v: 102 },
      ]);
    });

    it('another device in the same millisecond has its own timeline', async () => {
      const cred = th.device('t1-h2-smoke');
      await mosquittoBurst(th.hub.mqttPort, cred, 'smokehub/h/t1-h2/d/t1-h2-smoke/telemetry', [
        JSON.stringify({ battery: 70 }),
        JSON.stringify({ battery: 71 }),
      ]);
      const stored = await storedWhen('t1-h2', 't1-h2-smoke', 'battery', T0 - 1, T0 + HOUR, 2);
      assert.deepEqual(stored, [
        { t: T0, v: 70 },
        { t: T0 + 1, v: 71 },
      ]);
    });

    it('an equal explicit ts: a redelivery is kept once, new fields merge, a different value is refused (duplicate_ts)', async () => {
      const dev: MqttClient = await pool.device(th.mqttUrl, th.device('t2-h1-smoke'));
      const errors = new Inbox(dev);
      await dev.subscribeAsync('smokehub/h/t2-h1/d/t2-h1-smoke/error', { qos: 1 });
      const topic = 'smokehub/h/t2-h1/d/t2-h1-smoke/telemetry';
      const ts = T0 - 5000;
      const first = JSON.stringify({ ts, battery: 50, smoke: 3 });
      // The same reading twice: a QoS 1 redelivery, or a bridge replaying its disk queue.
      await dev.publishAsync(topic, first, { qos: 1 });
      await dev.publishAsync(topic, first, { qos: 1 });
      // The same instant's other field, sent apart: merged, nothing overwritten.
      await dev.publishAsync(topic, JSON.stringify({ ts, rssi: -70 }), { qos: 1 });
      // A different battery at the same ts: refused, the first value stays.
      await dev.publishAsync(topic, JSON.stringify({ ts, battery: 60 }), { qos: 1 });
      const err = await errors.next(() => true, 5000, 'error topic message').then((m) => m.json());
      assert.equal(err.error, 'duplicate_ts');
      assert.equal(err.topic, topic);
      assert.equal(err.issues[0].field, 'ts');
      assert.match(err.issues[0].message, /battery/);
      // A later reading (a marker) is stored: everything before it has been handled.
      await dev.publishAsync(topic, JSON.stringify({ ts: ts + 1000, battery: 49 }), { qos: 1 });
      const battery = await storedWhen('t2-h1', 't2-h1-smoke', 'battery', ts - 1, ts + 2000, 2);
      assert.deepEqual(battery, [
        { t: ts, v: 50 },
        { t: ts + 1000, v: 49 },
      ]);
      assert.deepEqual(await points('t2-h1', 't2-h1-smoke', 'rssi', ts - 1, ts + 2000), [{ t: ts, v: -70 }]);
      assert.deepEqual(await points('t2-h1', 't2-h1-smoke', 'smoke', ts - 1, ts + 2000), [{ t: ts, v: 3 }]);
      // Only the conflicting reading was refused: one error message, one reject counted.
      assert.equal(
        errors.count(() => true),
        1,
      );
      const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
      assert.match(metrics, /^smokehub_rejects_total\{channel="telemetry",reason="duplicate_ts"\} 1$/m);
      assert.match(metrics, /^smokehub_telemetry_redeliveries_total 1$/m);
    });
  });
}
