/**
 * Slows down password guessing. Pure: time is passed in, nothing is scheduled.
 *
 * Per key (an IP address, a user name, ...): the first `freeFailures` failures within `windowMs`
 * cost nothing; every further failure blocks the key for `baseDelayMs · 2^(n − freeFailures)`,
 * capped at `maxDelayMs`. A success clears the key. While blocked, `check` returns how long to
 * wait (HTTP 429 + Retry-After, MQTT CONNACK refusal). Memory is bounded: at most `maxKeys`
 * keys are tracked, the least recently failed dropped first.
 */
export interface LoginThrottleOptions {
  freeFailures?: number;
  windowMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxKeys?: number;
}

interface KeyState {
  /** Times of failures within the window, oldest first. */
  failures: number[];
  blockedUntil: number;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

export class LoginThrottle {
  readonly freeFailures: number;
  readonly windowMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxKeys: number;
  private readonly keys = new Map<string, KeyState>();

  constructor(opts: LoginThrottleOptions = {}) {
    this.freeFailures = opts.freeFailures ?? 5;
    this.windowMs = opts.windowMs ?? 15 * 60 * 1000;
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 15 * 60 * 1000;
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  /** May `key` try now? */
  check(key: string, now: number): ThrottleVerdict {
    const s = this.keys.get(key);
    if (!s) return { allowed: true };
    if (s.blockedUntil > now) return { allowed: false, retryAfterMs: s.blockedUntil - now };
    this.prune(s, now);
    if (s.failures.length === 0) this.keys.delete(key);
    return { allowed: true };
  }

  /** Records a failed attempt; returns the delay now imposed on the key (0: none yet). */
  fail(key: string, now: number): number {
    let s = this.keys.get(key);
    if (s) {
      this.keys.delete(key); // re-insert: Map order = least recently failed first
    } else {
      s = { failures: [], blockedUntil: 0 };
    }
    this.prune(s, now);
    s.failures.push(now);
    const excess = s.failures.length - this.freeFailures;
    let delay = 0;
    if (excess >= 0) {
      delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(excess, 40));
      s.blockedUntil = Math.max(s.blockedUntil, now + delay);
    }
    this.keys.set(key, s);
    while (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next().value as string;
      this.keys.delete(oldest);
    }
    return delay;
  }

  /** A successful login clears the key's history. */
  succeed(key: string): void {
    this.keys.delete(key);
  }

  /** Failures counted for `key` within the window. */
  failures(key: string, now: number): number {
    const s = this.keys.get(key);
    if (!s) return 0;
    return s.failures.filter((t) => t > now - this.windowMs).length;
  }

  get size(): number {
    return this.keys.size;
  }

  private prune(s: KeyState, now: number): void {
    const from = now - this.windowMs;
    let i = 0;
    while (i < s.failures.length && s.failures[i]! <= from) i++;
    if (i > 0) s.failures.splice(0, i);
  }
}
