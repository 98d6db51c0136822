/**
 * The hand-off of points from the hub's main thread to the telemetry storage worker.
 *
 * Telemetry readings are the bulk (thousands a second) and are kept column-wise in typed arrays
 * while a batch fills: no object per point on the main thread, and postMessage copies three flat
 * arrays instead of structured-cloning thousands of objects. A device's
 * tags are sent once per batch. Device events and alarm transitions are rare: they travel as
 * finished points, with their position among the readings so the worker stores them in bus order.
 *
 * `expandBatch` (worker side) turns a batch back into the exact points `telemetryPoint` would have
 * built: same tags, the same fields in TELEMETRY_FIELD_NAMES order, the same ms timestamp.
 */
import { TELEMETRY_FIELD_NAMES, type TelemetryReading } from '../protocol/schema.ts';
import { PRIORITY, type PointSource, type Priority, type StoredPoint, type TelemetryTags } from './point.ts';

const FIELDS = TELEMETRY_FIELD_NAMES.length;

/** The field order `readFields` reads by name; checked against the schema's at load. */
const NAMED_ORDER = ['smoke', 'temperature', 'humidity', 'co', 'battery', 'rssi'];
const BY_NAME = FIELDS === NAMED_ORDER.length && NAMED_ORDER.every((n, i) => TELEMETRY_FIELD_NAMES[i] === n);
const finite = (x: unknown): number => (typeof x === 'number' && x - x === 0 ? x : NaN);

/**
 * Writes a reading's values into `out[at .. at + FIELDS)` in TELEMETRY_FIELD_NAMES order, NaN for a
 * field not sent (or not a finite number); returns how many were kept. Named property reads: a
 * keyed read of an absent field (most readings carry 2–4 of the 6) costs several times more.
 */
export function readFields(values: TelemetryReading['values'], out: Float64Array, at: number): number {
  if (BY_NAME) {
    const a = (out[at] = finite(values.smoke));
    const b = (out[at + 1] = finite(values.temperature));
    const c = (out[at + 2] = finite(values.humidity));
    const d = (out[at + 3] = finite(values.co));
    const e = (out[at + 4] = finite(values.battery));
    const f = (out[at + 5] = finite(values.rssi));
    return (a === a ? 1 : 0) + (b === b ? 1 : 0) + (c === c ? 1 : 0) + (d === d ? 1 : 0) + (e === e ? 1 : 0) + (f === f ? 1 : 0);
  }
  let kept = 0;
  for (let f = 0; f < FIELDS; f++) {
    const x = (out[at + f] = finite(values[TELEMETRY_FIELD_NAMES[f]!]));
    if (x === x) kept++;
  }
  return kept;
}

/**
 * A batch as posted to the worker. Its typed arrays are cloned by postMessage (a memcpy of a few
 * tens of KB), not transferred: the main thread keeps the batch until the worker confirmed its
 * commit, so it can be sent again to a restarted worker.
 */
export interface PointBatch {
  /** Telemetry readings in the batch. */
  count: number;
  /** team, household, device, kind of each device of the batch, 4 strings per device. */
  refs: string[];
  /** Per reading: index of its device in `refs` / 4. */
  refIndex: Uint32Array;
  /** Per reading: ms timestamp. */
  ts: Float64Array;
  /** Per reading: FIELDS values in TELEMETRY_FIELD_NAMES order; NaN = not sent (or refused). */
  values: Float64Array;
  /** Events points with the number of readings that came before them. */
  events: Array<{ at: number; point: StoredPoint }>;
}

/** Points of each priority in a batch. */
export function batchCounts(b: PointBatch): [number, number, number] {
  const c: [number, number, number] = [b.count, 0, 0];
  for (const e of b.events) c[e.point.priority]++;
  return c;
}

export function batchSize(b: PointBatch): number {
  return b.count + b.events.length;
}

/**
 * Fills one batch on the main thread. `addReading` writes into preallocated typed arrays: one
 * Map lookup per reading, no allocation (a new device in the batch allocates its tags once).
 */
export class PointBatchBuilder {
  private refs: string[] = [];
  private deviceIndex = new Map<string, number>();
  private refIndex: Uint32Array;
  private ts: Float64Array;
  private values: Float64Array;
  private events: Array<{ at: number; point: StoredPoint }> = [];
  private n = 0;

  constructor(readonly capacity: number) {
    this.refIndex = new Uint32Array(capacity);
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity * FIELDS);
  }

  /** Readings plus events held. */
  get size(): number {
    return this.n + this.events.length;
  }
  get full(): boolean {
    return this.n >= this.capacity;
  }

  /**
   * Adds a validated reading: the device's time when it sent one (already checked sane), else
   * `receivedAt` (the extension passes ReadingStamper's stamp). Returns false when no field is
   * left to store (nothing added), like `telemetryPoint`.
   */
  addReading(ref: PointSource, reading: TelemetryReading, receivedAt: number): boolean {
    if (this.n >= this.capacity) throw new RangeError('point batch is full');
    if (readFields(reading.values, this.values, this.n * FIELDS) === 0) return false;
    let idx = this.deviceIndex.get(ref.device);
    if (idx === undefined) {
      idx = this.refs.length / 4;
      this.refs.push(ref.team, ref.household, ref.device, ref.kind);
      this.deviceIndex.set(ref.device, idx);
    } else if (this.refs[idx * 4 + 1] !== ref.household || this.refs[idx * 4] !== ref.team || this.refs[idx * 4 + 3] !== ref.kind) {
      // The device moved (registry edit) within the batch: a new entry keeps each reading's own tags.
      idx = this.refs.length / 4;
      this.refs.push(ref.team, ref.household, ref.device, ref.kind);
      this.deviceIndex.set(ref.device, idx);
    }
    this.refIndex[this.n] = idx;
    this.ts[this.n] = Math.trunc(reading.ts ?? receivedAt);
    this.n++;
    return true;
  }

  /** Adds a finished events point (device event or alarm transition). */
  addEvent(point: StoredPoint): void {
    this.events.push({ at: this.n, point });
  }

  /** Hands the batch out (exact-size copies of the columns) and starts an empty one in the same arrays. */
  take(): PointBatch {
    const n = this.n;
    const b: PointBatch = {
      count: n,
      refs: this.refs,
      refIndex: this.refIndex.slice(0, n),
      ts: this.ts.slice(0, n),
      values: this.values.slice(0, n * FIELDS),
      events: this.events,
    };
    this.refs = [];
    this.deviceIndex.clear();
    this.events = [];
    this.n = 0;
    return b;
  }
}

/** Removes a batch's telemetry readings (keeps its events): used when memory is the bound. */
export function withoutReadings(b: PointBatch): PointBatch {
  return {
    count: 0,
    refs: [],
    refIndex: new Uint32Array(0),
    ts: new Float64Array(0),
    values: new Float64Array(0),
    events: b.events.map((e) => ({ at: 0, point: e.point })),
  };
}

/** Removes the oldest `n` events of a priority from a batch; returns how many were removed. */
export function dropEvents(b: PointBatch, priority: Priority, n: number): number {
  let left = n;
  b.events = b.events.filter((e) => (e.point.priority === priority && left > 0 ? (left--, false) : true));
  return n - left;
}

/** The points of a batch, in bus order (worker side). */
export function expandBatch(b: PointBatch): StoredPoint[] {
  const out: StoredPoint[] = new Array(b.count + b.events.length);
  const tags: TelemetryTags[] = [];
  for (let i = 0; i < b.refs.length; i += 4) tags.push({ team: b.refs[i]!, household: b.refs[i + 1]!, device: b.refs[i + 2]!, kind: b.refs[i + 3]! });
  let k = 0;
  let e = 0;
  for (let i = 0; i < b.count; i++) {
    while (e < b.events.length && b.events[e]!.at <= i) out[k++] = b.events[e++]!.point;
    const fields: Record<string, number> = {};
    const base = i * FIELDS;
    for (let f = 0; f < FIELDS; f++) {
      const x = b.values[base + f]!;
      if (x === x) fields[TELEMETRY_FIELD_NAMES[f]!] = x;
    }
    out[k++] = { measurement: 'telemetry', tags: tags[b.refIndex[i]!]!, fields, ts: b.ts[i]!, priority: PRIORITY.telemetry };
  }
  while (e < b.events.length) out[k++] = b.events[e++]!.point;
  return out;
}
