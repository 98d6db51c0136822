/**
 * What the GSM modem adapter says about itself: its status (port up, SIM, registration, signal),
 * the one reason it cannot send when it cannot, and the announcements of its changes (each
 * distinct status once; during init, gathered and announced once at its end).
 */
import { ModemError } from './modem-errors.ts';
import type { SimState } from './modem-responses.ts';
import type { Logger } from '../observability/logger.ts';

export interface ModemStatus {
  up: boolean;
  registered: boolean;
  /** AT+CSQ rssi 0–31 (null: not known). */
  signal: number | null;
  sim: SimState;
  /** Why the modem cannot send now, when it cannot. */
  reason?: string;
}

export class ModemStatusTracker {
  private st: ModemStatus = { up: false, registered: false, signal: null, sim: 'unknown', reason: 'not started' };
  /** The SMS service is set up (PDU mode, storage, indications) on a ready SIM. */
  smsReady = false;
  /** Why the SIM is not ready, as the last SIM check said. */
  simReason: string | undefined;
  /** Why the port is not usable; '' once the modem answers. */
  portReason = 'not started';
  /** During init, status changes are gathered and announced once at its end. */
  private quiet = false;
  private lastAnnounced = '';

  constructor(
    private readonly log: Logger,
    private readonly onAnnounce: (status: ModemStatus) => void,
  ) {}

  /** The status as it is now (not a copy: read, never keep). */
  get current(): Readonly<ModemStatus> {
    return this.st;
  }

  /** A copy of the status, for callers. */
  snapshot(): ModemStatus {
    return { ...this.st };
  }

  update(patch: Partial<ModemStatus>): void {
    const next: ModemStatus = { ...this.st, ...patch };
    delete next.reason;
    const reason = !next.up
      ? this.portReason || 'the modem is not connected'
      : next.sim !== 'ready'
        ? (this.simReason ?? `SIM ${next.sim}`)
        : !this.smsReady
          ? 'the SMS service is not ready'
          : !next.registered
            ? 'not registered on the mobile network'
            : undefined;
    if (reason) next.reason = reason;
    this.st = next;
    this.announce();
  }

  /** Changes from now on are gathered until releaseAnnouncements(). */
  holdAnnouncements(): void {
    this.quiet = true;
  }

  /** Announces the gathered changes (if the status differs from the last one announced). */
  releaseAnnouncements(): void {
    this.quiet = false;
    this.announce();
  }

  /** Why an SMS (`forSms`) or a call cannot go now, or null when it can. */
  unusable(forSms: boolean): ModemError | null {
    const s = this.st;
    if (s.up && s.sim === 'ready' && s.registered && (this.smsReady || !forSms)) return null;
    return new ModemError('modem_unavailable', s.reason ?? 'the modem cannot send now');
  }

  private announce(): void {
    if (this.quiet) return;
    const now = JSON.stringify(this.st);
    if (now === this.lastAnnounced) return;
    this.lastAnnounced = now;
    this.log.info({ status: this.st }, 'modem status');
    this.onAnnounce(this.snapshot());
  }
}
