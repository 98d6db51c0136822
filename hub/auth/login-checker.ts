/**
 * Checks a person's password for HTTP logins and MQTT connects, one instance per hub so that both
 * share the throttles and the bound on password checks:
 *
 * - the attempt must be admitted by the LoginGuard (core/login-guard.ts: per address and per user
 *   name, counted while in flight); a refused attempt is not checked (`throttled`);
 * - at most `maxConcurrentChecks` scrypt checks run at once and `maxQueuedChecks` wait; beyond
 *   that the attempt is refused unchecked (`busy`) and does not count as a failure;
 * - every refusal is answered no sooner than `refusalFloorMs` after the attempt began, whether the
 *   name is a person, a device (a wrong device secret: `refuseDevice`) or unknown, so timing tells
 *   an attacker nothing about which names exist.
 *
 * Devices never come here with a right secret: their HMAC check is cheap and a valid device is let
 * in whatever its address did (a detector behind the same NAT as an attacker still connects).
 * Refusals are logged (rate-limited per protocol, reason and address) and counted in
 * `smokehub_login_refusals_total{protocol,reason}`.
 */
import type { Clock } from '../core/clock.ts';
import { LoginGuard, type LoginGuardOptions } from '../core/login-guard.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import type { User } from '../store/registry-types.ts';
import { CheckGate } from './check-gate.ts';

export type LoginProtocol = 'http' | 'mqtt';
export type LoginRefusal = 'bad_credentials' | 'throttled' | 'busy';
export type LoginResult = { ok: true; user: User } | { ok: false; reason: LoginRefusal; retryAfterMs: number };

export interface LoginCheckerOptions {
  /** The password check itself (the registry's scrypt). */
  verifyPassword: (username: string, password: string) => Promise<User | null>;
  clock: Clock;
  logger: Logger;
  metrics?: MetricsRegistry;
  guard?: LoginGuardOptions;
  /** scrypt checks at once across the hub (default 2: libuv's 4 threads keep room for file I/O). */
  maxConcurrentChecks?: number;
  /** Checks waiting for a turn before further attempts are refused as busy (default 32). */
  maxQueuedChecks?: number;
  /** No refusal is answered sooner than this after the attempt began (default 1,000 ms). */
  refusalFloorMs?: number;
}

/** How long a `busy` refusal asks the client to wait. */
const BUSY_RETRY_MS = 1000;

export class LoginChecker {
  readonly guard: LoginGuard;
  readonly gate: CheckGate;
  readonly refusalFloorMs: number;
  private readonly log: RateLimitedLog;
  private readonly refusals: Counter | null;

  constructor(private readonly opts: LoginCheckerOptions) {
    this.guard = new LoginGuard(opts.guard);
    this.gate = new CheckGate(opts.maxConcurrentChecks ?? 2, opts.maxQueuedChecks ?? 32);
    this.refusalFloorMs = opts.refusalFloorMs ?? 1000;
    this.log = new RateLimitedLog(opts.logger.child({ module: 'login' }), opts.clock, 60_000);
    this.refusals =
      opts.metrics?.counter('smokehub_login_refusals_total', 'Refused logins (HTTP and MQTT persons, wrong device secrets) by protocol and reason') ?? null;
    opts.metrics?.gauge('smokehub_password_checks', 'Password checks (scrypt) running and waiting for a turn', () => [
      [{ state: 'running' }, this.gate.active],
      [{ state: 'waiting' }, this.gate.queued],
    ]);
  }

  /** Checks a person's password (unknown names are checked against a dummy hash: same cost). */
  async checkPassword(protocol: LoginProtocol, address: string, username: string, password: string): Promise<LoginResult> {
    const began = performance.now();
    const admission = this.guard.admit(address, username, this.opts.clock.now());
    if (!admission.admitted) return this.refuse(began, protocol, address, username, 'throttled', admission.retryAfterMs);
    const entered = this.gate.enter();
    if (!entered) {
      this.guard.abandon(address, username); // not checked: neither a failure nor a success
      return this.refuse(began, protocol, address, username, 'busy', BUSY_RETRY_MS);
    }
    const leave = await entered;
    let user: User | null;
    try {
      user = await this.opts.verifyPassword(username, password);
    } catch (err) {
      leave();
      this.guard.abandon(address, username);
      this.opts.logger.error({ err, protocol, address }, 'password check failed');
      return this.refuse(began, protocol, address, username, 'busy', BUSY_RETRY_MS);
    }
    leave();
    this.guard.settle(address, username, user !== null, this.opts.clock.now());
    if (user) return { ok: true, user };
    return this.refuse(began, protocol, address, username, 'bad_credentials', 0);
  }

  /**
   * A device id was given with a wrong secret: counted and answered exactly like a wrong password
   * (the right secret never comes here, so the real device is never delayed by it).
   */
  async refuseDevice(protocol: LoginProtocol, address: string, deviceId: string): Promise<LoginResult> {
    const began = performance.now();
    const now = this.opts.clock.now();
    const admission = this.guard.admit(address, deviceId, now);
    if (!admission.admitted) return this.refuse(began, protocol, address, deviceId, 'throttled', admission.retryAfterMs);
    this.guard.settle(address, deviceId, false, now);
    return this.refuse(began, protocol, address, deviceId, 'bad_credentials', 0);
  }

  /** A refusal with nothing to check (no user name, a malformed request): same floor, not throttled. */
  async refuseUnchecked(protocol: LoginProtocol, address: string, why: string): Promise<LoginResult> {
    const began = performance.now();
    return this.refuse(began, protocol, address, why, 'bad_credentials', 0);
  }

  private async refuse(
    began: number,
    protocol: LoginProtocol,
    address: string,
    username: string,
    reason: LoginRefusal,
    retryAfterMs: number,
  ): Promise<LoginResult> {
    this.refusals?.inc({ protocol, reason });
    const failures = this.guard.failuresFrom(address, this.opts.clock.now());
    this.log.warn(
      `${protocol}|${reason}|${address}`,
      { protocol, address, username, reason, retryAfterMs, failuresFromAddress: failures },
      refusalText[reason],
    );
    const wait = this.refusalFloorMs - (performance.now() - began);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return { ok: false, reason, retryAfterMs };
  }
}

const refusalText: Record<LoginRefusal, string> = {
  bad_credentials: 'login refused: bad user name or password',
  throttled: 'login refused unchecked: too many failed attempts (address or user name)',
  busy: 'login refused unchecked: too many password checks waiting',
};
