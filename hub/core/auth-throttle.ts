/**
 * Slows down repeated failed logins from one source (pure; time passed in).
 * After `freeFailures` failures within `windowMs`, each further attempt waits
 * base × 2^(extra failures), capped at `maxDelayMs`. A success clears the source.
 */
export interface ThrottleSettings {
  freeFailures: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Bound on tracked sources (oldest forgotten first). */
  maxSources: number;
}

const DEFAULTS: ThrottleSettings = { freeFailures: 5, windowMs: 15 * 60_000, baseDelayMs: 500, maxDelayMs: 30_000, maxSources: 10_000 };

export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly s: ThrottleSettings;

  constructor(settings: Partial<ThrottleSettings> = {}) {
    this.s = { ...DEFAULTS, ...settings };
  }

  /** How long to delay the answer to an attempt from `key` now (ms). */
  delayFor(key: string, now: number): number {
    const list = this.recent(key, now);
    const extra = list.length - this.s.freeFailures;
    if (extra < 0) return 0;
    return Math.min(this.s.maxDelayMs, this.s.baseDelayMs * 2 ** Math.min(extra, 16));
  }

  recordFailure(key: string, now: number): void {
    const list = this.recent(key, now);
    list.push(now);
    this.failures.delete(key);
    this.failures.set(key, list.slice(-64));
    if (this.failures.size > this.s.maxSources) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  recordSuccess(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => now - t < this.s.windowMs);
  }
}
