/**
 * When the hub's own server certificate must be issued again (pure: time and names are
 * arguments). The local CA lives ten years; the server certificate 397 days (what browsers and
 * phones accept for a server certificate) and is renewed 30 days before it expires, or when the
 * machine has a name or address the certificate lacks (a new DHCP lease, a renamed host).
 */
import { missingNames, type TlsNames } from './tls-names.ts';

const DAY_MS = 86_400_000;
export const CA_VALIDITY_DAYS = 3650;
export const SERVER_VALIDITY_DAYS = 397;
export const RENEW_BEFORE_DAYS = 30;
/** notBefore is set a day back: a phone's or a Pi's clock (no RTC, offline) may lag the hub's. */
export const BACKDATE_MS = DAY_MS;
/** How often a running hub checks its certificate. */
export const CHECK_EVERY_MS = DAY_MS;

/** What the renewal decision needs to know about a certificate. */
export interface CertValidity {
  notBefore: number;
  notAfter: number;
  names: TlsNames;
}

export type RenewalDecision = { renew: false; warning?: string } | { renew: true; reason: 'expiring' | 'expired' | 'names'; detail: string };

export function renewalDecision(cert: CertValidity, now: number, want: TlsNames, renewBeforeDays = RENEW_BEFORE_DAYS): RenewalDecision {
  if (now < cert.notBefore - BACKDATE_MS) {
    // The clock is behind the day the certificate was made: a certificate issued now would carry
    // wrong dates. Keep the one we have.
    return {
      renew: false,
      warning: `the system clock (${new Date(now).toISOString()}) is before the certificate was issued (${new Date(cert.notBefore).toISOString()}): not renewing it; check the clock`,
    };
  }
  if (now >= cert.notAfter) return { renew: true, reason: 'expired', detail: `expired on ${new Date(cert.notAfter).toISOString()}` };
  const left = cert.notAfter - now;
  if (left < renewBeforeDays * DAY_MS)
    return { renew: true, reason: 'expiring', detail: `expires on ${new Date(cert.notAfter).toISOString()} (in ${(left / DAY_MS).toFixed(1)} days)` };
  const missing = missingNames(cert.names, want);
  if (missing.length > 0) return { renew: true, reason: 'names', detail: `lacks ${missing.join(', ')}` };
  return { renew: false };
}

/** notAfter of a new server certificate: 397 days, never beyond its CA. */
export function serverNotAfter(now: number, caNotAfter: number): number {
  return Math.min(now + SERVER_VALIDITY_DAYS * DAY_MS, caNotAfter);
}
