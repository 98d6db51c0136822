/**
 * Smoke detection on a raw analog reading (e.g. an MQ-2 on A0) with hysteresis: `smoke` when the
 * level rises to the threshold, `clear` only once it falls below threshold − hysteresis, so a
 * reading hovering around the threshold does not chatter. A level must hold for `confirmSamples`
 * consecutive readings to count (one electrical spike is not a fire). Pure.
 */
export interface ThresholdSettings {
  threshold: number;
  hysteresis: number;
  confirmSamples: number;
}

export class SmokeThreshold {
  private alarming = false;
  private streak = 0;

  constructor(private readonly s: ThresholdSettings) {
    if (s.hysteresis < 0 || s.hysteresis >= s.threshold) throw new RangeError('hysteresis must be between 0 and the threshold');
  }

  get isAlarming(): boolean {
    return this.alarming;
  }

  /** Feeds one reading; returns the transition it causes, if any. */
  sample(level: number): 'smoke' | 'clear' | null {
    const crossing = this.alarming ? level < this.s.threshold - this.s.hysteresis : level >= this.s.threshold;
    if (!crossing) {
      this.streak = 0;
      return null;
    }
    if (++this.streak < this.s.confirmSamples) return null;
    this.streak = 0;
    this.alarming = !this.alarming;
    return this.alarming ? 'smoke' : 'clear';
  }
}
