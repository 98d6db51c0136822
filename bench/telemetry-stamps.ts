/**
 * What the timestamp rule (hub/telemetry/reading-stamps.ts) costs the main thread, per reading and
 * per device, against the batching it sits in front of (PointBatchBuilder.addReading), measured in
 * the same run:
 *  - `batch only`: addReading for every reading (the hub before the stamper);
 *  - `stamp + batch`: ReadingStamper.stamp, then addReading (the hub now);
 * for readings with a device `ts` (in order: the usual case, and the bridge's), readings without
 * `ts` (bursts: several per device per millisecond), and redeliveries (every reading sent twice).
 * Memory: heap per device held by the stamper, for devices that send `ts` and devices that don't.
 *
 * BENCH_STAMPS_READINGS (default 2,000,000), BENCH_STAMPS_DEVICES (16,000), BENCH_STAMPS_RUNS (7).
 * Writes bench/results/telemetry-stamps.json (BENCH_STAMPS_RESULTS=FILE).
 */
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PointBatchBuilder } from '../hub/telemetry/point-batch.ts';
import { ReadingStamper } from '../hub/telemetry/reading-stamps.ts';
import type { DeviceRef } from '../hub/app/context.ts';
import type { TelemetryReading } from '../hub/protocol/schema.ts';
import { median, printTable, round } from './lib/stats.ts';
import { runAsMain, writeResults } from './lib/hub-process.ts';

const READINGS = Number(process.env.BENCH_STAMPS_READINGS ?? 2_000_000);
const DEVICES = Number(process.env.BENCH_STAMPS_DEVICES ?? 16_000);
const RUNS = Number(process.env.BENCH_STAMPS_RUNS ?? 7);
const RESULTS = process.env.BENCH_STAMPS_RESULTS ?? new URL('./results/telemetry-stamps.json', import.meta.url).pathname;
const T0 = Date.UTC(2026, 11, 1);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const refs: DeviceRef[] = Array.from({ length: DEVICES }, (_, i) => ({
  team: `t${i >> 4}`,
  household: `t${i >> 4}-h${i & 15}`,
  device: `d${i}`,
  kind: 'smoke',
}));

type Shape = 'device ts' | 'no ts (bursts)' | 'redelivered twice';

/**
 * One pass over READINGS readings. Each reading object is built in the loop, right before it is
 * handled, as the MQTT parser builds it right before the bus event (hot in the cache), in both variants.
 */
function once(shape: Shape, withStamper: boolean): number {
  const builder = new PointBatchBuilder(2000);
  const stamper = new ReadingStamper();
  let refused = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < READINGS; i++) {
    let dev: number;
    let at: number;
    let r: TelemetryReading;
    if (shape === 'no ts (bursts)') {
      // 4 readings of a device in a row, 64 readings per millisecond.
      dev = (i >> 2) % DEVICES;
      at = T0 + (i >> 6);
      r = { values: { smoke: i % 1000, battery: 50 + (i % 50), temperature: 20 + (i % 15) } };
    } else if (shape === 'device ts') {
      dev = i % DEVICES;
      at = T0 + i;
      r = { ts: T0 + i, values: { smoke: i % 1000, battery: 50 + (i % 50), temperature: 20 + (i % 15) } };
    } else {
      const k = i >> 1; // each reading twice in a row
      dev = k % DEVICES;
      at = T0 + i;
      r = { ts: T0 + k, values: { smoke: k % 1000, battery: 50 + (k % 50), temperature: 20 + (k % 15) } };
    }
    const ref = refs[dev]!;
    let ts = at;
    if (withStamper) {
      if (stamper.stamp(ref.device, r, ts) === 'conflict') {
        refused++;
        continue;
      }
      ts = stamper.ts;
    }
    builder.addReading(ref, r, ts);
    if (builder.full) builder.take();
  }
  const ns = Number(process.hrtime.bigint() - t);
  if (refused > 0) throw new Error(`${shape}: ${refused} readings refused`);
  return ns / READINGS;
}

/** Bytes per device held by a stamper that has seen `DEVICES` devices: JS heap + typed-array buffers, after GC. */
async function bytesPerDevice(withTs: boolean): Promise<{ total: number; arrays: number }> {
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20)); // array buffers are freed after the GC
    }
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = await settle();
  const s = new ReadingStamper();
  for (let i = 0; i < DEVICES; i++) s.stamp(refs[i]!.device, withTs ? { ts: T0, values: { smoke: 1 } } : { values: { smoke: 1 } }, T0);
  const total = ((await settle()) - before) / DEVICES;
  if (s.size !== DEVICES) throw new Error('stamper lost devices');
  return { total, arrays: s.bytes / DEVICES };
}

export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: `${cpus().length} cores, Node ${process.version}`,
    readings: READINGS,
    devices: DEVICES,
    runs: RUNS,
  };
  // Memory first, before the timed runs leave garbage behind.
  const withTs = await bytesPerDevice(true);
  const noTs = await bytesPerDevice(false);
  const rows: Array<Record<string, string | number>> = [];
  const shapes: Record<string, unknown> = {};
  for (const shape of ['device ts', 'no ts (bursts)', 'redelivered twice'] as Shape[]) {
    once(shape, false);
    once(shape, true); // warm-up
    const base: number[] = [];
    const stamped: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      // Alternated, so drift of the machine (other processes) hits both alike.
      base.push(once(shape, false));
      stamped.push(once(shape, true));
    }
    const b = median(base);
    const s = median(stamped);
    shapes[shape] = {
      batchOnlyNsPerReading: round(b, 1),
      stampAndBatchNsPerReading: round(s, 1),
      stamperNsPerReading: round(s - b, 1),
      ratio: round(s / b, 2),
    };
    rows.push({ readings: shape, 'batch only ns': round(b, 1), 'stamp + batch ns': round(s, 1), 'stamper ns': round(s - b, 1), ratio: round(s / b, 2) });
  }
  out.perReading = shapes;
  const mem = {
    deviceTsBytesPerDevice: round(withTs.total, 0),
    deviceTsArrayBytesPerDevice: round(withTs.arrays, 0),
    noTsBytesPerDevice: round(noTs.total, 0),
    noTsArrayBytesPerDevice: round(noTs.arrays, 0),
  };
  out.memory = mem;
  printTable(
    `Timestamp rule on the main thread: ${READINGS.toLocaleString('en')} readings over ${DEVICES.toLocaleString('en')} devices, median of ${RUNS} runs`,
    rows,
  );
  const perDevices = `for ${DEVICES.toLocaleString('en')} devices`;
  printTable('Stamper memory (JS heap + array buffers, after GC; typed arrays grow by doubling)', [
    {
      devices: 'sending ts (8 timestamps remembered)',
      'bytes per device': mem.deviceTsBytesPerDevice,
      'of it typed arrays': mem.deviceTsArrayBytesPerDevice,
      [perDevices]: `${round((mem.deviceTsBytesPerDevice * DEVICES) / 2 ** 20, 1)} MiB`,
    },
    {
      devices: 'not sending ts',
      'bytes per device': mem.noTsBytesPerDevice,
      'of it typed arrays': mem.noTsArrayBytesPerDevice,
      [perDevices]: `${round((mem.noTsBytesPerDevice * DEVICES) / 2 ** 20, 1)} MiB`,
    },
  ]);
  writeResults(RESULTS, out);
  return out;
}

runAsMain(import.meta.url, run);
