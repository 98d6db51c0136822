/**
 * One point per telemetry reading: the timestamp rule, per device. Pure and synchronous (the time of
 * arrival is an argument); it runs on the main thread, in bus order, before a reading is batched.
 *
 * Both stores keep one point per device and millisecond (InfluxDB 1.x: per series and timestamp;
 * the embedded store: per (device, ts)), and a second point there merges into the first, its
 * fields overwriting. So:
 *
 * - A reading **without `ts`** is stamped `max(arrival, the device's latest timestamp + 1 ms)`:
 *   strictly increasing per device, so a burst that arrives within one millisecond keeps every
 *   reading, in arrival order. ("Latest" counts the device's own `ts` values too, so a stamp never
 *   lands on a timestamp the device used before.)
 * - A reading **with `ts`** is compared with the device's last `depth` (8) timestamps, the hub's
 *   stamps included:
 *   - a timestamp not among them → `new`;
 *   - the same timestamp, and every field it carries already there with the same value →
 *     `duplicate`: a QoS 1 redelivery or a bridge replaying its disk queue. It is stored again,
 *     which both stores take as a no-op (same point, same values);
 *   - the same timestamp, no field with a different value but new fields → `merged`: fields of the
 *     same instant sent apart, nothing overwritten;
 *   - the same timestamp and a field with a different value → `conflict`: the reading is refused
 *     (`duplicate_ts`) and the first value stays.
 *
 * Beyond those 8 (an older `ts`, or one from before the hub started) a reading counts as new and
 * the store's own rule applies: InfluxDB and the embedded store both merge the fields into the
 * point already there — a no-op for a redelivery, an overwrite for a different value.
 *
 * Cost: one Map lookup per reading and a few typed-array reads and writes (bench/telemetry-stamps.ts).
 * A device that never sends `ts` holds 12 bytes; one that does also holds its last 8 timestamps with
 * their values (8 × 7 doubles, 448 bytes). A reading whose `ts` is newer than everything the
 * device sent before (the usual case) is not compared with anything. At most `maxDevices` devices
 * are remembered (the one added longest ago is forgotten first).
 */
import { TELEMETRY_FIELD_NAMES, type TelemetryField, type TelemetryReading } from '../protocol/schema.ts';
import { readFields } from './point-batch.ts';

const FIELDS = TELEMETRY_FIELD_NAMES.length;
/** Per remembered timestamp: ts, then each field's value in TELEMETRY_FIELD_NAMES order (NaN: not sent). */
const STRIDE = 1 + FIELDS;

export type StampOutcome =
  /** The reading's own `ts` (new to the device's recent timestamps), or arrival time unchanged. */
  | 'new'
  /** No `ts`, and the arrival millisecond was taken: moved to the device's latest timestamp + 1 ms. */
  | 'moved'
  /** Equal `ts`, the same values: a redelivery (stored again: a no-op in both stores). */
  | 'duplicate'
  /** Equal `ts`, no value different, some fields new: merged into the point. */
  | 'merged'
  /** Equal `ts` and a different value: to be refused; nothing recorded. */
  | 'conflict';

export interface ReadingStamperOptions {
  /** Timestamps remembered per device that sends `ts` (default 8, at most 255). */
  depth?: number;
  /** Devices remembered (default 65,536); beyond it the least recently added is forgotten. */
  maxDevices?: number;
}

/**
 * State lives in flat typed arrays indexed by a per-device slot (no object per device): the
 * stamper touches a few cache lines per reading even with tens of thousands of devices.
 */
export class ReadingStamper {
  /** Device → slot. Insertion order = age, for forgetting the oldest. */
  private readonly slots = new Map<string, number>();
  /** Per slot: highest timestamp given to or sent by the device. */
  private latest = new Float64Array(64);
  /** Per slot: its ring of recent timestamps, or -1 (the device never sent `ts`). */
  private ringOf = new Int32Array(64).fill(-1);
  /** Per ring: next entry to write, and entries in use. */
  private ringHead = new Uint8Array(16);
  private ringUsed = new Uint8Array(16);
  /** Ring r: `depth` entries of STRIDE doubles from r * depth * STRIDE. */
  private rings: Float64Array;
  private ringCount = 0;
  private readonly scratch = new Float64Array(FIELDS);
  private readonly depth: number;
  private readonly maxDevices: number;
  /** The timestamp decided by the last `stamp()` (the one to store it at). */
  ts = 0;
  /** After a `conflict`: the fields whose value differs from the one already there. */
  conflictFields: TelemetryField[] = [];

  constructor(opts: ReadingStamperOptions = {}) {
    this.depth = Math.min(255, Math.max(1, Math.trunc(opts.depth ?? 8)));
    this.maxDevices = Math.max(1, Math.trunc(opts.maxDevices ?? 65_536));
    this.rings = new Float64Array(16 * this.depth * STRIDE);
  }

  /** Devices remembered (tests, bench). */
  get size(): number {
    return this.slots.size;
  }

  /** Bytes held in typed arrays (bench). */
  get bytes(): number {
    return this.latest.byteLength + this.ringOf.byteLength + this.ringHead.byteLength + this.ringUsed.byteLength + this.rings.byteLength;
  }

  /**
   * Decides the timestamp of a validated reading of `device` that arrived at `receivedAt` (ms);
   * `this.ts` holds it afterwards. Allocation-free except when the arrays grow, and on conflicts.
   */
  stamp(device: string, reading: TelemetryReading, receivedAt: number): StampOutcome {
    let slot = this.slots.get(device);
    if (slot === undefined) slot = this.addDevice(device);
    const latest = this.latest[slot]!;
    if (reading.ts === undefined) {
      const now = Math.trunc(receivedAt);
      const ts = latest >= now ? latest + 1 : now;
      this.latest[slot] = ts;
      const ring = this.ringOf[slot]!;
      if (ring >= 0) this.remember(ring, ts, this.read(reading));
      this.ts = ts;
      return ts === now ? 'new' : 'moved';
    }
    const ts = Math.trunc(reading.ts);
    this.ts = ts;
    let ring = this.ringOf[slot]!;
    if (ring < 0) ring = this.addRing(slot);
    const v = this.read(reading);
    if (ts > latest) {
      this.latest[slot] = ts;
      this.remember(ring, ts, v);
      return 'new';
    }
    const at = this.find(ring, ts);
    if (at < 0) {
      this.remember(ring, ts, v);
      return 'new';
    }
    const r = this.rings;
    let added = 0;
    let differs = false;
    for (let f = 0; f < FIELDS; f++) {
      const x = v[f]!;
      if (x !== x) continue;
      const old = r[at + 1 + f]!;
      if (old !== old) added++;
      else if (old !== x) differs = true;
    }
    if (differs) {
      this.conflictFields = [];
      for (let f = 0; f < FIELDS; f++) {
        const x = v[f]!;
        const old = r[at + 1 + f]!;
        if (x === x && old === old && old !== x) this.conflictFields.push(TELEMETRY_FIELD_NAMES[f]!);
      }
      return 'conflict';
    }
    if (added === 0) return 'duplicate';
    for (let f = 0; f < FIELDS; f++) if (v[f] === v[f]) r[at + 1 + f] = v[f]!;
    return 'merged';
  }

  /** The reading's values in TELEMETRY_FIELD_NAMES order, NaN where not sent (as the batch reads them). */
  private read(reading: TelemetryReading): Float64Array {
    readFields(reading.values, this.scratch, 0);
    return this.scratch;
  }

  private addDevice(device: string): number {
    let slot: number;
    if (this.slots.size >= this.maxDevices) {
      // Forget the device added longest ago and give its slot (and ring, emptied) to this one.
      const [old, oldSlot] = this.slots.entries().next().value as [string, number];
      this.slots.delete(old);
      slot = oldSlot;
      const ring = this.ringOf[slot]!;
      if (ring >= 0) this.ringHead[ring] = this.ringUsed[ring] = 0;
    } else {
      slot = this.slots.size;
      if (slot >= this.latest.length) {
        this.latest = grow(this.latest, this.latest.length * 2);
        const ringOf = new Int32Array(this.latest.length).fill(-1);
        ringOf.set(this.ringOf);
        this.ringOf = ringOf;
      }
    }
    this.latest[slot] = -Infinity;
    this.slots.set(device, slot);
    return slot;
  }

  private addRing(slot: number): number {
    const ring = this.ringCount++;
    if (ring >= this.ringHead.length) {
      const n = this.ringHead.length * 2;
      this.ringHead = grow(this.ringHead, n);
      this.ringUsed = grow(this.ringUsed, n);
      this.rings = grow(this.rings, n * this.depth * STRIDE);
    }
    this.ringOf[slot] = ring;
    return ring;
  }

  /** Offset in `rings` of the entry for `ts` in a ring (newest first: a redelivery is found at once), or -1. */
  private find(ring: number, ts: number): number {
    const r = this.rings;
    const depth = this.depth;
    const base = ring * depth * STRIDE;
    let i = this.ringHead[ring]!;
    for (let k = this.ringUsed[ring]!; k > 0; k--) {
      i = i === 0 ? depth - 1 : i - 1;
      if (r[base + i * STRIDE] === ts) return base + i * STRIDE;
    }
    return -1;
  }

  private remember(ring: number, ts: number, v: Float64Array): void {
    const head = this.ringHead[ring]!;
    const at = (ring * this.depth + head) * STRIDE;
    const r = this.rings;
    r[at] = ts;
    for (let f = 0; f < FIELDS; f++) r[at + 1 + f] = v[f]!;
    this.ringHead[ring] = head + 1 === this.depth ? 0 : head + 1;
    if (this.ringUsed[ring]! < this.depth) this.ringUsed[ring]++;
  }
}

function grow<T extends Float64Array | Uint8Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
