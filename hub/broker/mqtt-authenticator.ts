/**
 * Who an MQTT CONNECT is (Aedes' `authenticate` hook), as a principal for the ACL.
 *
 * - A device id: its secret is checked (an HMAC, ~1 µs) and a right secret is let in at once,
 *   whatever else came from its address: a detector behind the same NAT as an attacker still
 *   connects. It must use its own id as client id (CONNACK 5 otherwise). A wrong secret is counted
 *   and answered exactly like a wrong password (auth/login-checker.ts), so the answer's timing and
 *   code do not tell a device id from a person's name or an unknown one.
 * - A person: a dashboard session token as password (high entropy, checked at once), or the
 *   password itself through the hub's LoginChecker (throttled per address and per user name, a
 *   bound on scrypt checks at once). A person may not take an enrolled device's client id
 *   (CONNACK 5: Aedes would disconnect the real detector).
 *
 * CONNACK codes: 4 bad user name or password; 5 not authorised; 3 server unavailable (the attempt
 * was not checked: throttled or too many checks waiting — try again later). Every refusal is
 * counted in `smokehub_auth_failures_total{reason}`.
 */
import type { Principal } from '../core/acl.ts';
import type { DeviceRef } from './ports.ts';
import type { LoginChecker, LoginResult } from '../auth/login-checker.ts';
import type { RegistryStore, User } from '../store/registry-types.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter, MetricsRegistry } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';

export type ConnackError = Error & { returnCode: 3 | 4 | 5 };
export interface Authenticated {
  principal: Principal;
  /** Set for a device. */
  device: DeviceRef | null;
}

export interface MqttAuthenticatorDeps {
  registry: Pick<RegistryStore, 'getDevice' | 'verifyDeviceSecret'>;
  /** A dashboard's session token as its MQTT password; a Promise in a cluster (PostgreSQL), whose rejection is CONNACK 3. */
  verifySessionToken?: (username: string, token: string) => User | null | Promise<User | null>;
  logins: LoginChecker;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
}

export interface ConnectAttempt {
  clientId: string;
  address: string;
  username: string | undefined;
  password: Buffer | undefined;
}

function connackError(message: string, returnCode: 3 | 4 | 5): ConnackError {
  return Object.assign(new Error(message), { returnCode });
}

const REASON_BY_CODE = { 3: 'unavailable', 4: 'bad_credentials', 5: 'not_authorized' } as const;

export class MqttAuthenticator {
  private readonly failures: Counter;
  private readonly log: RateLimitedLog;

  constructor(private readonly d: MqttAuthenticatorDeps) {
    this.failures = d.metrics.counter('smokehub_auth_failures_total', 'Refused MQTT connections by reason');
    this.log = new RateLimitedLog(d.logger.child({ module: 'broker' }), d.clock, 60_000);
  }

  /** Never throws; `done` is called once. */
  authenticate(a: ConnectAttempt, done: (err: ConnackError | null, who: Authenticated | null) => void): void {
    const refuse = (err: ConnackError, reason: string = REASON_BY_CODE[err.returnCode], logged = false) => {
      this.failures.inc({ reason });
      // The LoginChecker logs what it refused; the rest is logged here.
      if (!logged)
        this.log.warn(`${reason}|${a.address}`, { clientId: a.clientId, username: a.username, ip: a.address, reason: err.message }, 'MQTT connection refused');
      done(err, null);
    };
    const fromChecker = (r: LoginResult) => {
      if (r.ok) return refuse(connackError('refused', 4)); // not reached: the refusals below never succeed
      if (r.reason === 'bad_credentials') refuse(connackError(`bad user name or password for ${a.username ?? '(none)'}`, 4), r.reason, true);
      else
        refuse(
          connackError(
            r.reason === 'throttled'
              ? `too many failed attempts; retry in ${Math.ceil(r.retryAfterMs / 1000)} s`
              : 'too many logins are being checked; retry shortly',
            3,
          ),
          r.reason,
          true,
        );
    };
    const failed = (err: Error) => {
      this.d.logger.error({ err }, 'MQTT login check failed');
      refuse(connackError('login check failed', 3), 'busy');
    };
    const { username, password } = a;
    if (!username || !password) {
      this.d.logins.refuseUnchecked('mqtt', a.address, username ?? '').then(fromChecker, failed);
      return;
    }
    const secret = password.toString('utf8');
    const device = this.d.registry.getDevice(username);
    if (device) {
      if (!this.d.registry.verifyDeviceSecret(username, secret)) {
        this.d.logins.refuseDevice('mqtt', a.address, username).then(fromChecker, failed);
        return;
      }
      if (a.clientId !== username) return refuse(connackError(`device ${username} must connect with client id ${username}`, 5));
      return done(null, {
        principal: { type: 'device', device: device.id, household: device.household, team: device.team, kind: device.kind },
        device: { team: device.team, household: device.household, device: device.id, kind: device.kind },
      });
    }
    const asUser = (u: User) => {
      if (this.d.registry.getDevice(a.clientId)) {
        return refuse(connackError(`client id ${a.clientId} belongs to an enrolled device; people use another (the dashboard: web-<random>)`, 5));
      }
      done(null, { principal: { type: 'user', username: u.username, role: u.role, team: u.team, household: u.household }, device: null });
    };
    const byPassword = () => this.d.logins.checkPassword('mqtt', a.address, username, secret).then((r) => (r.ok ? asUser(r.user) : fromChecker(r)), failed);
    let byToken: User | null | Promise<User | null>;
    try {
      byToken = this.d.verifySessionToken?.(username, secret) ?? null;
    } catch (err) {
      return failed(err as Error);
    }
    if (byToken instanceof Promise) {
      byToken.then((u) => (u ? asUser(u) : byPassword()), failed);
      return;
    }
    if (byToken) return asUser(byToken);
    byPassword();
  }
}
