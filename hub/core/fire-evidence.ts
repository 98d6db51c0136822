/**
 * Fire evidence in telemetry: pure, synchronous, bounded memory. The alarm engine asks it whether a
 * device's readings show a fire, to re-raise a hushed alarm (a household silenced a real fire) or to
 * open a `heat` alarm when no event arrived (a detector whose event was lost).
 *
 * The figures are UL 521's for heat detectors: a fixed temperature of 57 °C (135 °F), or a rate of
 * rise of 8 °C (15 °F) per minute. Smoke has no absolute threshold (detectors report raw values):
 * a hushed alarm is re-raised when a device's smoke reading reaches twice its level at the hush.
 */

export const FIXED_TEMPERATURE_C = 57;
export const RATE_OF_RISE_C_PER_MIN = 8;
/** A rise is measured against readings at most this old. */
const RISE_WINDOW_MS = 60_000;
/** At most one kept temperature sample per bucket: ≤ 13 samples per device for the minute. */
const SAMPLE_BUCKET_MS = 5_000;
/** Devices remembered at most (oldest forgotten first): bounds memory whatever devices send. */
const MAX_DEVICES = 100_000;

export type EvidenceKind = 'heat-evidence' | 'rate-of-rise' | 'smoke-rising';

export interface Evidence {
  kind: EvidenceKind;
  /** What was measured: the temperature (°C), the rise (°C within the window) or the smoke level. */
  value: number;
}

interface DeviceReadings {
  /** Temperature samples [at, °C], oldest first, within the last minute. */
  temps: Array<[number, number]>;
  smoke: number | null;
}

export class FireEvidence {
  private readonly devices = new Map<string, DeviceReadings>();

  /**
   * Records a reading and returns the temperature evidence it shows (fixed temperature or rate of
   * rise), if any. `at` is the reading's time (ms).
   */
  record(device: string, at: number, values: { temperature?: number; smoke?: number }): Evidence | null {
    if (values.temperature === undefined && values.smoke === undefined) return null;
    let d = this.devices.get(device);
    if (!d) {
      d = { temps: [], smoke: null };
      this.devices.set(device, d);
      if (this.devices.size > MAX_DEVICES) this.devices.delete(this.devices.keys().next().value as string);
    }
    if (values.smoke !== undefined) d.smoke = values.smoke;
    const t = values.temperature;
    if (t === undefined) return null;
    const temps = d.temps;
    while (temps.length > 0 && temps[0]![0] < at - RISE_WINDOW_MS) temps.shift();
    let evidence: Evidence | null = null;
    if (t >= FIXED_TEMPERATURE_C) evidence = { kind: 'heat-evidence', value: t };
    else {
      let lowest = Infinity;
      for (const [sampleAt, v] of temps) if (sampleAt <= at && v < lowest) lowest = v;
      if (lowest !== Infinity && t - lowest >= RATE_OF_RISE_C_PER_MIN) evidence = { kind: 'rate-of-rise', value: round1(t - lowest) };
    }
    const last = temps.at(-1);
    if (last && Math.floor(last[0] / SAMPLE_BUCKET_MS) === Math.floor(at / SAMPLE_BUCKET_MS)) {
      // Keep the bucket's lowest reading: a rise is measured from it.
      if (t < last[1]) last[1] = t;
    } else if (!last || at > last[0]) {
      temps.push([at, t]);
    }
    return evidence;
  }

  /** The device's latest smoke reading (telemetry or an event's level), null when never reported. */
  smokeLevel(device: string): number | null {
    return this.devices.get(device)?.smoke ?? null;
  }

  /** An event's `level` counts as the device's smoke level. */
  recordSmokeLevel(device: string, at: number, level: number): void {
    this.record(device, at, { smoke: level });
  }

  /** Smoke evidence against a level remembered at a hush: twice that level, and above zero. */
  static smokeRising(level: number | undefined, baseline: number | undefined): Evidence | null {
    if (level === undefined || baseline === undefined) return null;
    return level > 0 && level >= 2 * baseline ? { kind: 'smoke-rising', value: level } : null;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
