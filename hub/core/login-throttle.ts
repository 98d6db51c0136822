/**
 * Slows down password guessing for one kind of key (an address, a user name). Pure: time is passed
 * in, nothing is scheduled.
 *
 * An attempt counts from the moment it starts (`start`), not when its password check ends: 60
 * attempts sent in parallel are not 60 free guesses. Per key, the first `freeFailures` attempts
 * within `windowMs` (failed ones plus those still being checked) may run at once; beyond that, one
 * attempt at a time, and every further failure blocks the key for `baseDelayMs · 2^(n − freeFailures)`,
 * capped at `maxDelayMs`. While blocked or busy, `check` says how long to wait (HTTP 429 +
 * Retry-After, MQTT CONNACK 3). An attempt ends with `fail` or `release` (success); `succeed` also
 * forgets the key's failures (used for user names only: a success from an address says nothing
 * about the other guesses made from it). Memory is bounded: at most `maxKeys` keys are tracked,
 * the least recently failed dropped first.
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
  /** Attempts started and not yet ended. */
  inFlight: number;
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

  /** May `key` start an attempt now? (Counts nothing: see `start`.) */
  check(key: string, now: number): ThrottleVerdict {
    const s = this.keys.get(key);
    if (!s) return { allowed: true };
    if (s.blockedUntil > now) return { allowed: false, retryAfterMs: s.blockedUntil - now };
    this.prune(s, now);
    const attempts = s.failures.length + s.inFlight;
    if (attempts >= this.freeFailures && s.inFlight > 0) {
      // Past the free attempts: one at a time, and the next failure will block at least this long.
      return { allowed: false, retryAfterMs: this.delayFor(attempts - this.freeFailures) };
    }
    if (attempts === 0) this.keys.delete(key);
    return { allowed: true };
  }

  /** An attempt starts (call after an allowing `check`). */
  start(key: string, now: number): void {
    const s = this.touch(key, now);
    s.inFlight++;
  }

  /** The attempt failed; returns the block now imposed on the key (0: none yet). */
  fail(key: string, now: number): number {
    const s = this.touch(key, now);
    if (s.inFlight > 0) s.inFlight--;
    s.failures.push(now);
    const excess = s.failures.length - this.freeFailures;
    if (excess < 0) return 0;
    const delay = this.delayFor(excess);
    s.blockedUntil = Math.max(s.blockedUntil, now + delay);
    return delay;
  }

  /** The attempt succeeded: it no longer counts, the key's failures stay. */
  release(key: string): void {
    const s = this.keys.get(key);
    if (!s) return;
    if (s.inFlight > 0) s.inFlight--;
    if (s.inFlight === 0 && s.failures.length === 0 && s.blockedUntil === 0) this.keys.delete(key);
  }

  /** The attempt succeeded and the key's history is forgotten (attempts still in flight keep counting). */
  succeed(key: string): void {
    const s = this.keys.get(key);
    if (!s) return;
    if (s.inFlight > 0) s.inFlight--;
    if (s.inFlight === 0) this.keys.delete(key);
    else {
      s.failures = [];
      s.blockedUntil = 0;
    }
  }

  /** Failures counted for `key` within the window. */
  failures(key: string, now: number): number {
    const s = this.keys.get(key);
    if (!s) return 0;
    return s.failures.filter((t) => t > now - this.windowMs).length;
  }

  /** Attempts of `key` still being checked. */
  inFlight(key: string): number {
    return this.keys.get(key)?.inFlight ?? 0;
  }

  get size(): number {
    return this.keys.size;
  }

  private delayFor(excess: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(Math.max(0, excess), 40));
  }

  /** The key's state, made the most recent (Map order = least recently used first); bounded. */
  private touch(key: string, now: number): KeyState {
    let s = this.keys.get(key);
    if (s) this.keys.delete(key);
    else s = { failures: [], blockedUntil: 0, inFlight: 0 };
    this.prune(s, now);
    this.keys.set(key, s);
    while (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next().value as string;
      this.keys.delete(oldest);
    }
    return s;
  }

  private prune(s: KeyState, now: number): void {
    const from = now - this.windowMs;
    let i = 0;
    while (i < s.failures.length && s.failures[i]! <= from) i++;
    if (i > 0) s.failures.splice(0, i);
    if (s.blockedUntil <= now) s.blockedUntil = 0;
  }
}
