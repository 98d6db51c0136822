/**
 * The TPDU fields that SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT share (3GPP TS 23.040 §9.1.2,
 * §9.2.3): addresses (semi-octets or alphanumeric), TP-DCS, TP-SCTS/TP-DT timestamps, the
 * concatenation User Data Header, and octets as hex. Pure and synchronous; pdu-encode.ts and
 * pdu-decode.ts build and read whole TPDUs from these.
 */
import { fromSeptets, isGsm7, packSeptets, toSeptets, unpackSeptets } from './modem-gsm7.ts';

export type SmsAlphabet = 'gsm7' | 'ucs2';
export type DecodedAlphabet = SmsAlphabet | '8bit';

export class PduError extends Error {
  readonly code = 'bad_pdu';
}

export interface Concat {
  ref: number;
  total: number;
  seq: number;
  refBits: 8 | 16;
}
export interface SmsTimestamp {
  /** Milliseconds since the epoch (UTC). */
  epochMs: number;
  /** The sender's offset from UTC, minutes. */
  tzMinutes: number;
}
export type AddressType = 'international' | 'national' | 'alphanumeric' | 'unknown';

// ---- addresses (§9.1.2.5) ----------------------------------------------------------------------

/** Address field (§9.1.2.5); `sca` is the RP SMSC address, whose length counts octets. */
export function encodeAddress(addr: string, kind: 'tp' | 'sca'): number[] {
  const intl = addr.startsWith('+');
  const digits = intl ? addr.slice(1) : addr;
  if (/^[0-9*#]+$/.test(digits)) {
    if (digits.length > 20) throw new PduError(`address too long: ${addr}`);
    const octets = semiOctets(digits);
    const toa = intl ? 0x91 : 0x81;
    return kind === 'sca' ? [octets.length + 1, toa, ...octets] : [digits.length, toa, ...octets];
  }
  if (kind === 'sca' || intl || !isGsm7(addr) || addr.length > 11) throw new PduError(`bad address: ${addr}`);
  const packed = packSeptets(toSeptets(addr));
  // TON 101 alphanumeric; the length counts the semi-octets used.
  return [Math.ceil((toSeptets(addr).length * 7) / 4), 0xd0, ...packed];
}

function semiOctets(digits: string): number[] {
  const nib = (c: string) => (c === '*' ? 0xa : c === '#' ? 0xb : Number(c));
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += 2) {
    const lo = nib(digits[i]!);
    const hi = i + 1 < digits.length ? nib(digits[i + 1]!) : 0xf;
    out.push((hi << 4) | lo);
  }
  return out;
}

/** The value of an address field: type-of-address octet, its octets and the semi-octets used. */
export function decodeAddressValue(toa: number, octets: Uint8Array, semi: number): { value: string; type: AddressType } {
  const ton = (toa >> 4) & 0x07;
  if (ton === 0x05) {
    const text = fromSeptets(unpackSeptets(octets, Math.floor((semi * 4) / 7)));
    return { value: text.replace(/@+$/, ''), type: 'alphanumeric' };
  }
  const map = '0123456789*#abc';
  let digits = '';
  for (const o of octets) {
    for (const n of [o & 0x0f, o >> 4]) {
      if (n === 0x0f) continue;
      digits += map[n];
    }
  }
  digits = digits.slice(0, semi);
  if (ton === 0x01) return { value: `+${digits}`, type: 'international' };
  return { value: digits, type: ton === 0x02 ? 'national' : 'unknown' };
}

// ---- TP-DCS (TS 23.038 §4) ---------------------------------------------------------------------

export function dcsOf(a: SmsAlphabet): number {
  return a === 'gsm7' ? 0x00 : 0x08;
}

/** TP-DCS (TS 23.038 §4). Compressed text is refused. */
export function alphabetOf(dcs: number): DecodedAlphabet {
  const group = dcs >> 4;
  if (group <= 0x7) {
    if (dcs & 0x20) throw new PduError('compressed SMS is not supported');
    const a = (dcs >> 2) & 0x03;
    return a === 1 ? '8bit' : a === 2 ? 'ucs2' : 'gsm7';
  }
  if (group === 0xe) return 'ucs2';
  if (group === 0xf) return dcs & 0x04 ? '8bit' : 'gsm7';
  return 'gsm7'; // 0xC, 0xD (message waiting) and the reserved groups
}

// ---- timestamps (§9.2.3.11) --------------------------------------------------------------------

function swapped(n: number): number {
  return ((n % 10) << 4) | Math.floor(n / 10);
}

/** TP-SCTS / TP-DT (§9.2.3.11): local time of the sender's clock + its offset, in quarters of an hour. */
export function encodeTimestamp(epochMs: number, tzMinutes: number): number[] {
  const d = new Date(epochMs + tzMinutes * 60_000);
  const q = Math.round(Math.abs(tzMinutes) / 15);
  const tz = swapped(q) | (tzMinutes < 0 ? 0x08 : 0);
  return [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map(swapped).concat(tz);
}

export function decodeTimestamp(b: Uint8Array): SmsTimestamp {
  const d = (x: number) => (x & 0x0f) * 10 + (x >> 4);
  const tzRaw = b[6]!;
  const tzMinutes = ((tzRaw & 0x07) * 10 + (tzRaw >> 4)) * 15 * (tzRaw & 0x08 ? -1 : 1);
  const local = Date.UTC(2000 + d(b[0]!), d(b[1]!) - 1, d(b[2]!), d(b[3]!), d(b[4]!), d(b[5]!));
  return { epochMs: local - tzMinutes * 60_000, tzMinutes: tzMinutes === 0 ? 0 : tzMinutes };
}

// ---- User Data Header (§9.2.3.24) --------------------------------------------------------------

/** The 6-octet concatenation UDH with an 8-bit reference (§9.2.3.24.1), UDHL included. */
export function concatUdh(ref: number, total: number, seq: number): number[] {
  return [0x05, 0x00, 0x03, ref, total, seq];
}

/** Concatenation IEs of a UDH (§9.2.3.24.1 8-bit ref, §9.2.3.24.8 16-bit ref); other IEs skipped. */
export function parseUdh(udh: Uint8Array): Concat | undefined {
  let found: Concat | undefined;
  for (let i = 0; i + 1 < udh.length; ) {
    const iei = udh[i]!;
    const len = udh[i + 1]!;
    const d = udh.subarray(i + 2, i + 2 + len);
    if (d.length === len) {
      if (iei === 0x00 && len === 3) found = { ref: d[0]!, total: d[1]!, seq: d[2]!, refBits: 8 };
      if (iei === 0x08 && len === 4) found = { ref: (d[0]! << 8) | d[1]!, total: d[2]!, seq: d[3]!, refBits: 16 };
    }
    i += 2 + len;
  }
  if (found && (found.total < 1 || found.seq < 1 || found.seq > found.total)) return undefined;
  return found;
}

// ---- hex ---------------------------------------------------------------------------------------

export function toHex(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s.toUpperCase();
}
