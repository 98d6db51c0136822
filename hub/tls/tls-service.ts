/**
 * TLS at run time: loads (or, the first time, creates) the hub's certificate, gives the TLS
 * servers their options, and checks once a day — the hub's own certificate is re-issued before it
 * expires, the operator's files are re-read when an ACME client replaced them — then hands the
 * new certificate to every server (`setSecureContext`: open connections keep theirs, no restart).
 * Certificates are dated by the real clock (clients check them against theirs), not the hub's
 * injected one.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { SecureContextOptions } from 'node:tls';
import type { HubConfig } from '../config/config.ts';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import { CHECK_EVERY_MS, renewalDecision } from './renewal.ts';
import { formatNames, hubNames, type TlsNames } from './tls-names.ts';
import { loadOperatorPair, loadOrCreateLocal, operatorFiles, type TlsMaterial } from './tls-store.ts';

export interface TlsServiceDeps {
  logger: Logger;
  /** Wall-clock time (default: the system clock). */
  clock?: Clock;
  /** The names the certificate must carry (default: this machine's, tls-names.ts). */
  names?: () => TlsNames;
}

/** What the servers are told when the certificate changes. */
export type SecureContextListener = (opts: SecureContextOptions) => void;

/** TLS settings both servers share: TLS 1.2+, and a handshake must finish within the MQTT connect timeout. */
export const TLS_SERVER_OPTIONS = { minVersion: 'TLSv1.2', handshakeTimeout: 10_000 } as const;

export class TlsService {
  private listeners: SecureContextListener[] = [];
  private timer: TimerHandle | null = null;
  private checking: Promise<void> | null = null;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly names: () => TlsNames;

  private constructor(
    private readonly config: Pick<HubConfig, 'dataDir' | 'host' | 'tlsCert' | 'tlsKey'>,
    deps: TlsServiceDeps,
    private current: TlsMaterial,
    /** Set when this start created the local CA: its fingerprint is shown once. */
    readonly createdCa: boolean,
  ) {
    this.log = deps.logger.child({ module: 'tls' });
    this.clock = deps.clock ?? systemClock;
    this.names = deps.names ?? (() => hubNames({ hostname: hostname(), interfaces: networkInterfaces(), listenHost: config.host }));
  }

  /** Loads the certificate (one ConfigError if it cannot be used) and starts the daily check. */
  static async start(config: Pick<HubConfig, 'dataDir' | 'host' | 'tlsCert' | 'tlsKey'>, deps: TlsServiceDeps): Promise<TlsService> {
    const log = deps.logger.child({ module: 'tls' });
    const clock = deps.clock ?? systemClock;
    const own = operatorFiles(config.tlsCert, config.tlsKey);
    let svc: TlsService;
    if (own) {
      const m = loadOperatorPair(own.cert, own.key);
      svc = new TlsService(config, deps, m, false);
      svc.warnIfExpiring(m);
      log.info(
        { cert: m.certPath, names: formatNames(m.server.names), expires: new Date(m.server.notAfter).toISOString() },
        "TLS with the operator's own certificate",
      );
    } else {
      const names = deps.names ?? (() => hubNames({ hostname: hostname(), interfaces: networkInterfaces(), listenHost: config.host }));
      const r = await loadOrCreateLocal(config.dataDir, names(), clock.now(), hostname());
      svc = new TlsService(config, deps, r.material, r.createdCa);
      for (const w of r.warnings) log.warn(w);
      if (r.createdCa)
        log.info(
          { ca: r.material.caPath, fingerprint: r.material.ca!.fingerprint256 },
          "created the hub's local certificate authority: phones and devices trust it by this SHA-256 fingerprint",
        );
      if (r.issued)
        log.info(
          {
            cert: r.material.certPath,
            reason: r.issued,
            names: formatNames(r.material.server.names),
            expires: new Date(r.material.server.notAfter).toISOString(),
          },
          'issued the hub server certificate',
        );
    }
    svc.scheduleCheck();
    return svc;
  }

  get material(): TlsMaterial {
    return this.current;
  }

  /** The certificate and key for `tls.createServer` / `https.createServer` / `setSecureContext`. */
  secureContextOptions(): SecureContextOptions {
    return { cert: this.current.certPem, key: this.current.keyPem };
  }

  /** Called with the new options whenever the certificate changes. */
  onChange(fn: SecureContextListener): void {
    this.listeners.push(fn);
  }

  /** The daily check, now: renews or reloads when due. Resolves to true when the certificate changed. */
  async check(): Promise<boolean> {
    const before = this.current;
    this.checking ??= this.doCheck().finally(() => (this.checking = null));
    await this.checking;
    return this.current !== before;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private scheduleCheck(): void {
    this.timer = this.clock.setTimer(CHECK_EVERY_MS, () => {
      this.scheduleCheck();
      this.check().catch((err) => this.log.error({ err }, 'TLS certificate check failed: keeping the current certificate'));
    });
  }

  private async doCheck(): Promise<void> {
    const now = this.clock.now();
    let next: TlsMaterial | null = null;
    if (this.current.mode === 'operator') {
      const m = loadOperatorPair(this.config.tlsCert!, this.config.tlsKey!);
      this.warnIfExpiring(m);
      if (m.certPem !== this.current.certPem || m.keyPem !== this.current.keyPem) {
        next = m;
        this.log.info({ cert: m.certPath, expires: new Date(m.server.notAfter).toISOString() }, "reloaded the operator's certificate");
      }
    } else {
      const want = this.names();
      if (!renewalDecision(this.current.server, now, want).renew) return;
      const r = await loadOrCreateLocal(this.config.dataDir, want, now, hostname());
      for (const w of r.warnings) this.log.warn(w);
      if (r.issued)
        this.log.info(
          { cert: r.material.certPath, reason: r.issued, expires: new Date(r.material.server.notAfter).toISOString() },
          'renewed the hub server certificate',
        );
      next = r.material;
    }
    if (!next) return;
    this.current = next;
    const opts = this.secureContextOptions();
    for (const fn of this.listeners) {
      try {
        fn(opts);
      } catch (err) {
        this.log.error({ err }, 'a TLS server refused the new certificate');
      }
    }
  }

  private warnIfExpiring(m: TlsMaterial): void {
    const left = m.server.notAfter - this.clock.now();
    if (left <= 0)
      this.log.error(
        { cert: m.certPath, expired: new Date(m.server.notAfter).toISOString() },
        'the TLS certificate has expired: clients will refuse it (renew it, e.g. with your ACME client)',
      );
    else if (left < 14 * 86_400_000)
      this.log.warn({ cert: m.certPath, expires: new Date(m.server.notAfter).toISOString() }, 'the TLS certificate expires within 14 days');
  }
}
