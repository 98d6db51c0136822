/**
 * One contract, two stores: the same assertions run against the embedded SQLite store and a real
 * influxd (write, overwrite on replay, series query with server-side downsampling, time ranges,
 * latest per device, events), and the timestamp rule in front of both (one point per reading).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteTelemetryStore } from '../../../hub/telemetry/sqlite-store.ts';
import { InfluxTelemetryStore, parseInfluxUrl } from '../../../hub/telemetry/influx-store.ts';
import { bucketWidth, MAX_SERIES_POINTS, type TelemetryStore } from '../../../hub/telemetry/telemetry-store.ts';
import { alarmTransitionPoint, deviceEventPoint, telemetryPoint, type StoredPoint } from '../../../hub/telemetry/point.ts';
import { ReadingStamper } from '../../../hub/telemetry/reading-stamps.ts';
import type { TelemetryReading } from '../../../hub/protocol/schema.ts';
import type { DeviceRef } from '../../../hub/app/context.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';

const HOUR = 3_600_000;
// Real wall-clock time: InfluxDB drops points outside the retention policy relative to its own clock.
const BASE = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
const NOW = BASE + 2 * HOUR;

const d1: DeviceRef = { team: 't1', household: 'h1', device: 'd1', kind: 'smoke' };
const d2: DeviceRef = { team: 't1', household: 'h1', device: 'd2', kind: 'heat' };
const d3: DeviceRef = { team: 't1', household: 'h2', device: 'd3', kind: 'smoke' };

/** d1: battery every second for 50 min (3,000 points), values 0..99 repeating; temperature every 10 s. */
function d1Points(): StoredPoint[] {
  const out: StoredPoint[] = [];
  for (let i = 0; i < 3000; i++) {
    const values: Record<string, number> = { battery: i % 100 };
    if (i % 10 === 0) values.temperature = 20 + (i % 7) * 0.5;
    out.push(telemetryPoint(d1, { ts: BASE + i * 1000, values }, BASE + i * 1000 + 5)!);
  }
  return out;
}

interface Harness {
  store: TelemetryStore;
  countTelemetry(): Promise<number>;
  close(): Promise<void>;
}

async function embedded(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-store-'));
  const store = new SqliteTelemetryStore({ dataDir: dir, retentionDays: 7, now: () => NOW });
  await store.start();
  return {
    store,
    countTelemetry: async () => store.count('telemetry'),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let influxd: Influxd | null = null;
async function influx(): Promise<Harness> {
  influxd = await startInfluxd();
  const store = new InfluxTelemetryStore({
    target: parseInfluxUrl(`${influxd.baseUrl}/contract`),
    rawRetentionDays: 30,
    rollupRetentionDays: 730,
    now: () => NOW,
  });
  await store.start();
  return {
    store,
    countTelemetry: () => store.countPoints('telemetry', 'battery'),
    async close() {
      await store.close();
      await influxd?.stop();
    },
  };
}

for (const [name, make] of [
  ['embedded SQLite', embedded],
  ['InfluxDB 1.x', influx],
] as const) {
  describe(`telemetry store contract: ${name}`, () => {
    let h: Harness;
    before(async () => {
      h = await make();
      const points = d1Points();
      // Several batches, like the outbox writer sends them.
      for (let i = 0; i < points.length; i += 1000) await h.store.write(points.slice(i, i + 1000));
      await h.store.write([
        telemetryPoint(d2, { ts: BASE + 60_000, values: { battery: 80, temperature: 30 } }, 0)!,
        telemetryPoint(d2, { ts: BASE + 120_000, values: { battery: 78 } }, 0)!,
        telemetryPoint(d3, { ts: BASE + 60_000, values: { battery: 10 } }, 0)!,
      ]);
    });
    after(async () => {
      await h?.close();
    });

    it('stores every point once', async () => {
      assert.equal(await h.countTelemetry(), 3000 + 2 + 1);
    });

    it('a replayed point overwrites instead of duplicating, and fields merge', async () => {
      const p = telemetryPoint(d3, { ts: BASE + 60_000, values: { battery: 10 } }, 0)!;
      await h.store.write([p, p]);
      await h.store.write([telemetryPoint(d3, { ts: BASE + 60_000, values: { rssi: -70 } }, 0)!]);
      assert.equal(await h.countTelemetry(), 3003);
      const latest = await h.store.latest('h2', NOW, 24 * HOUR);
      assert.equal(latest.length, 1);
      assert.deepEqual(latest[0]!.values.battery, { value: 10, at: BASE + 60_000 });
      assert.deepEqual(latest[0]!.values.rssi, { value: -70, at: BASE + 60_000 });
    });

    it('queries one device with time buckets: mean, min, max', async () => {
      const series = await h.store.querySeries({ household: 'h1', device: 'd1', field: 'battery', from: BASE, to: BASE + 300_000, every: 60_000 });
      assert.equal(series.length, 1);
      assert.equal(series[0]!.device, 'd1');
      assert.equal(series[0]!.kind, 'smoke');
      const pts = series[0]!.points;
      assert.equal(pts.length, 5);
      for (let b = 0; b < 5; b++) {
        const vals = Array.from({ length: 60 }, (_, k) => (b * 60 + k) % 100);
        const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
        assert.equal(pts[b]!.t, BASE + b * 60_000);
        assert.ok(Math.abs(pts[b]!.mean - mean) < 1e-9, `bucket ${b}: mean ${pts[b]!.mean} != ${mean}`);
        assert.equal(pts[b]!.min, Math.min(...vals));
        assert.equal(pts[b]!.max, Math.max(...vals));
      }
    });

    it('queries every device of a household, and only that household', async () => {
      const series = await h.store.querySeries({ household: 'h1', field: 'battery', from: BASE, to: BASE + 180_000, every: 60_000 });
      assert.deepEqual(
        series.map((s) => s.device),
        ['d1', 'd2'],
      );
      assert.deepEqual(
        series[1]!.points.map((p) => [p.t, p.mean]),
        [
          [BASE + 60_000, 80],
          [BASE + 120_000, 78],
        ],
      );
      const other = await h.store.querySeries({ household: 'h2', field: 'battery', from: BASE, to: BASE + 180_000, every: 60_000 });
      assert.deepEqual(
        other.map((s) => s.device),
        ['d3'],
      );
    });

    it('downsamples a long range to at most ~1,000 buckets on the server', async () => {
      const from = BASE;
      const to = BASE + 3000 * 1000;
      const every = bucketWidth(from, to);
      assert.ok(Math.ceil((to - from) / every) <= MAX_SERIES_POINTS);
      const [s] = await h.store.querySeries({ household: 'h1', device: 'd1', field: 'battery', from, to, every });
      assert.ok(s);
      assert.equal(s.points.length, Math.ceil((to - from) / every));
      assert.ok(s.points.length <= MAX_SERIES_POINTS && s.points.length > 100);
      // Every bucket holds every/1000 one-second readings; the overall mean is 49.5.
      const mean = s.points.reduce((a, p) => a + p.mean, 0) / s.points.length;
      assert.ok(Math.abs(mean - 49.5) < 1e-6, `mean of means ${mean}`);
      assert.equal(Math.min(...s.points.map((p) => p.min)), 0);
      assert.equal(Math.max(...s.points.map((p) => p.max)), 99);
    });

    it('honours the range: from inclusive, to exclusive, empty buckets omitted', async () => {
      const [s] = await h.store.querySeries({ household: 'h1', device: 'd1', field: 'temperature', from: BASE + 10_000, to: BASE + 40_000, every: 1000 });
      assert.ok(s);
      // Temperature every 10 s: 10 s, 20 s, 30 s (40 s excluded).
      assert.deepEqual(
        s.points.map((p) => p.t - BASE),
        [10_000, 20_000, 30_000],
      );
      assert.deepEqual(
        s.points.map((p) => p.mean),
        [10, 20, 30].map((i) => 20 + (i % 7) * 0.5),
      );
      const none = await h.store.querySeries({ household: 'h1', device: 'd1', field: 'battery', from: NOW, to: NOW + HOUR, every: 60_000 });
      assert.deepEqual(none, []);
      const unknown = await h.store.querySeries({ household: 'nobody', field: 'battery', from: BASE, to: NOW, every: 60_000 });
      assert.deepEqual(unknown, []);
    });

    it('returns the latest value of each field per device', async () => {
      const latest = await h.store.latest('h1', NOW, 24 * HOUR);
      assert.deepEqual(
        latest.map((d) => d.device),
        ['d1', 'd2'],
      );
      const [a, b] = latest;
      assert.deepEqual(a!.values.battery, { value: 2999 % 100, at: BASE + 2999_000 });
      assert.deepEqual(a!.values.temperature, { value: 20 + (2990 % 7) * 0.5, at: BASE + 2990_000 });
      assert.equal(a!.at, BASE + 2999_000);
      assert.equal(a!.kind, 'smoke');
      assert.deepEqual(b!.values, { battery: { value: 78, at: BASE + 120_000 }, temperature: { value: 30, at: BASE + 60_000 } });
      assert.equal(b!.at, BASE + 120_000);
      // Outside the look-back window nothing is returned.
      assert.deepEqual(await h.store.latest('h1', NOW + 48 * HOUR, HOUR), []);
    });

    it('keeps device events and alarm transitions with their tags', async () => {
      const view: AlarmView = {
        alarm: 'a-1',
        state: 'active',
        kind: 'smoke',
        team: 't1',
        origin: { household: 'h1', name: 'n', address: 'a', lat: null, lon: null, device: 'd1' },
        raisedAt: BASE + 1000,
        updatedAt: BASE + 2000,
        responders: [],
      };
      await h.store.write([
        deviceEventPoint(d1, { id: 'e1', type: 'smoke', ts: BASE + 1000, level: 812 }, BASE + 1005, false)!,
        alarmTransitionPoint(view, 'activated'),
        deviceEventPoint(d3, { id: 'e9', type: 'test' }, BASE + 3000, false)!,
      ]);
      const events = await h.store.queryEvents({ household: 'h1', from: BASE, to: NOW, limit: 100 });
      assert.equal(events.length, 2);
      assert.deepEqual(events[0], { at: BASE + 1000, device: 'd1', kind: 'smoke', type: 'smoke', state: null, fields: { id: 'e1', level: 812 } });
      assert.deepEqual(events[1], {
        at: BASE + 2000,
        device: 'd1',
        kind: 'smoke',
        type: 'activated',
        state: 'active',
        fields: { alarm: 'a-1', responders: 0 },
      });
    });

    it('readings stamped on arrival keep one point each; an equal ts is kept once, merged or refused', async () => {
      // As the telemetry extension does it: the stamper decides each reading's timestamp, a
      // conflicting one is refused, the others become points. All arrive in one millisecond.
      const d4: DeviceRef = { team: 't2', household: 'h4', device: 'd4', kind: 'smoke' };
      const at = BASE + HOUR;
      const stamper = new ReadingStamper();
      const points: StoredPoint[] = [];
      const offer = (reading: TelemetryReading): string => {
        const outcome = stamper.stamp(d4.device, reading, at);
        if (outcome !== 'conflict') points.push(telemetryPoint(d4, reading, stamper.ts)!);
        return outcome;
      };
      const n = 25;
      for (let i = 0; i < n; i++) offer({ values: { smoke: i } });
      const ts = at - 10_000;
      const outcomes = [
        offer({ ts, values: { smoke: 500, battery: 40 } }),
        offer({ ts, values: { smoke: 500, battery: 40 } }), // redelivery
        offer({ ts, values: { rssi: -60 } }), // the same instant's other field
        offer({ ts, values: { smoke: 501 } }), // a different value
      ];
      assert.deepEqual(outcomes, ['new', 'duplicate', 'merged', 'conflict']);
      // Two batches, the redelivery in the second (as after a reconnect).
      await h.store.write(points.slice(0, n + 1));
      await h.store.write(points.slice(n + 1));
      const [smoke] = await h.store.querySeries({ household: 'h4', device: 'd4', field: 'smoke', from: ts, to: at + HOUR, every: 1 });
      assert.ok(smoke);
      assert.equal(smoke.points.length, n + 1);
      assert.deepEqual(
        smoke.points.map((p) => [p.t, p.mean]),
        [[ts, 500], ...Array.from({ length: n }, (_, i) => [at + i, i])],
      );
      const latest = await h.store.latest('h4', NOW, 24 * HOUR);
      assert.deepEqual(latest[0]!.values.battery, { value: 40, at: ts });
      assert.deepEqual(latest[0]!.values.rssi, { value: -60, at: ts });
    });
  });
}
