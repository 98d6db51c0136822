/**
 * Who may have a password checked now: one rule for HTTP logins and MQTT connects. Pure: time is
 * passed in, nothing is scheduled.
 *
 * Two throttles (core/login-throttle.ts): per client address (long blocks: an address guessing
 * many names) and per user name (short blocks, so a name guessed from many addresses is slowed
 * down without locking the fire station out for long). An attempt is admitted only when both allow
 * it, and then counts against both until it is settled. A success clears the user name's record
 * only: an attacker's own valid login does not buy more guesses from the same address.
 *
 * User names are compared case-insensitively (NFC), so `Admin` and `admin` share one record.
 */
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';

export interface LoginGuardOptions {
  address?: LoginThrottleOptions;
  user?: LoginThrottleOptions;
}

export type LoginAdmission = { admitted: true } | { admitted: false; retryAfterMs: number; by: 'address' | 'user' };

/** Defaults: 10 free attempts per address (a household NAT or a commune network), 5 per user name. */
export const DEFAULT_LOGIN_GUARD: Required<LoginGuardOptions> = {
  address: { freeFailures: 10, windowMs: 15 * 60_000, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 },
  user: { freeFailures: 5, windowMs: 15 * 60_000, baseDelayMs: 1000, maxDelayMs: 60_000 },
};

export function userKey(username: string): string {
  return username.normalize('NFC').toLowerCase();
}

export class LoginGuard {
  readonly address: LoginThrottle;
  readonly user: LoginThrottle;

  constructor(opts: LoginGuardOptions = {}) {
    this.address = new LoginThrottle({ ...DEFAULT_LOGIN_GUARD.address, ...opts.address });
    this.user = new LoginThrottle({ ...DEFAULT_LOGIN_GUARD.user, ...opts.user });
  }

  /** Admits an attempt (it counts from now) or says how long to wait. */
  admit(address: string, username: string, now: number): LoginAdmission {
    const key = userKey(username);
    const byAddress = this.address.check(address, now);
    const byUser = this.user.check(key, now);
    if (!byAddress.allowed || !byUser.allowed) {
      const a = byAddress.allowed ? 0 : byAddress.retryAfterMs;
      const u = byUser.allowed ? 0 : byUser.retryAfterMs;
      return { admitted: false, retryAfterMs: Math.max(a, u), by: a >= u ? 'address' : 'user' };
    }
    this.address.start(address, now);
    this.user.start(key, now);
    return { admitted: true };
  }

  /** Ends an admitted attempt. */
  settle(address: string, username: string, ok: boolean, now: number): void {
    const key = userKey(username);
    if (ok) {
      this.address.release(address);
      this.user.succeed(key);
    } else {
      this.address.fail(address, now);
      this.user.fail(key, now);
    }
  }

  /** Ends an admitted attempt that was never checked (server busy, check failed): neither a failure nor a success. */
  abandon(address: string, username: string): void {
    this.address.release(address);
    this.user.release(userKey(username));
  }

  /** Failures counted against an address within the window (logs). */
  failuresFrom(address: string, now: number): number {
    return this.address.failures(address, now);
  }
}
