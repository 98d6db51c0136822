/**
 * Building TPDUs (3GPP TS 23.040 §9.2.2) as the hex strings `AT+CMGS` takes in PDU mode: a text
 * split into its SMS parts, SMS-SUBMIT (what the hub sends), and SMS-DELIVER / SMS-STATUS-REPORT
 * (what the modem simulator hands the hub). Pure and synchronous. Why PDU mode and this codec:
 * see pdu.ts.
 *
 * Limits used (TS 23.040 §9.2.3.16 and 23.038): a single SMS holds 160 GSM-7 septets or 70 UCS-2
 * code units; with the 6-octet 8-bit-reference concatenation UDH, 153 septets (one fill bit) or
 * 67 code units per part. A part never ends inside an escape sequence or a surrogate pair.
 */
import { gsm7Septets, isGsm7, packSeptets, toSeptets } from './modem-gsm7.ts';
import { concatUdh, dcsOf, encodeAddress, encodeTimestamp, PduError, toHex, type SmsAlphabet } from './pdu-fields.ts';

export interface EncodedPart {
  /** SMSC address (one `00` octet: use the SIM's) followed by the TPDU, hex. */
  hex: string;
  /** Octets of the TPDU alone: the `<length>` of `AT+CMGS=<length>` (TS 27.005 §3.5.1). */
  tpduLength: number;
  seq: number;
  total: number;
  text: string;
}

export const SINGLE_LIMIT: Record<SmsAlphabet, number> = { gsm7: 160, ucs2: 70 };
export const PART_LIMIT: Record<SmsAlphabet, number> = { gsm7: 153, ucs2: 67 };
export const MAX_PARTS = 255;

// ---- splitting a text into parts ---------------------------------------------------------------

/** Splits `text` into the segments it is sent as (one segment when it fits a single SMS). */
export function splitForSms(text: string, alphabet: SmsAlphabet): string[] {
  const units = alphabet === 'gsm7' ? gsm7Units(text) : ucs2Units(text);
  const size = (u: string) => (alphabet === 'gsm7' ? gsm7Septets(u)! : u.length);
  let total = 0;
  for (const u of units) total += size(u);
  if (total <= SINGLE_LIMIT[alphabet]) return [text];
  const parts: string[] = [];
  let cur = '';
  let used = 0;
  for (const u of units) {
    const n = size(u);
    if (used + n > PART_LIMIT[alphabet]) {
      parts.push(cur);
      cur = '';
      used = 0;
    }
    cur += u;
    used += n;
  }
  if (cur !== '') parts.push(cur);
  return parts;
}

function gsm7Units(text: string): string[] {
  const out: string[] = [];
  for (const ch of text) {
    if (gsm7Septets(ch) === null) throw new PduError(`U+${ch.codePointAt(0)!.toString(16)} has no GSM-7 encoding`);
    out.push(ch);
  }
  return out;
}
/** Code points as strings: a surrogate pair stays together (2 code units). */
function ucs2Units(text: string): string[] {
  return Array.from(text);
}

// ---- SMS-SUBMIT (§9.2.2.2) ---------------------------------------------------------------------

export interface SubmitOptions {
  /** E.164 (`+84…`) or a national number (digits). */
  to: string;
  text: string;
  alphabet: SmsAlphabet;
  /** TP-SRR: ask the network for a status report (default true). */
  statusReport?: boolean;
  /** TP-VP relative (§9.2.3.12.1), rounded up to what it can express; default 24 h. */
  validityMinutes?: number;
  /** Reference of the concatenation UDH (0–255); required for a text that needs several parts. */
  concatRef?: number;
  /** SMSC address; default none (`00`: the modem uses the SIM's, AT+CSCA). */
  smsc?: string;
}

/** SMS-SUBMIT TPDUs for `text`, one per part (TS 23.040 §9.2.2.2). */
export function encodeSubmit(o: SubmitOptions): EncodedPart[] {
  if (o.alphabet === 'gsm7' && !isGsm7(o.text)) throw new PduError('text has characters outside GSM-7');
  const segments = splitForSms(o.text, o.alphabet);
  const concat = segments.length > 1;
  if (segments.length > MAX_PARTS) throw new PduError(`text needs ${segments.length} parts (at most ${MAX_PARTS})`);
  if (concat && (o.concatRef === undefined || !Number.isInteger(o.concatRef) || o.concatRef < 0 || o.concatRef > 255)) {
    throw new PduError('a concatenated SMS needs a concatRef 0-255');
  }
  const sca = o.smsc ? encodeAddress(o.smsc, 'sca') : [0x00];
  const vp = relativeValidity(o.validityMinutes ?? 24 * 60);
  return segments.map((seg, i) => {
    // TP-MTI 01 (SUBMIT), TP-VPF 10 (relative), TP-SRR, TP-UDHI.
    const first = 0x01 | 0x10 | ((o.statusReport ?? true) ? 0x20 : 0) | (concat ? 0x40 : 0);
    const udh = concat ? concatUdh(o.concatRef!, segments.length, i + 1) : [];
    const { udl, ud } = userData(seg, o.alphabet, udh);
    const tpdu = [first, 0x00 /* TP-MR: the modem sets it */, ...encodeAddress(o.to, 'tp'), 0x00, dcsOf(o.alphabet), vp, udl, ...ud];
    return { hex: toHex([...sca, ...tpdu]), tpduLength: tpdu.length, seq: i + 1, total: segments.length, text: seg };
  });
}

/** TP-VP relative format (§9.2.3.12.1), the smallest value covering `minutes`. */
export function relativeValidity(minutes: number): number {
  const m = Math.max(5, Math.ceil(minutes));
  if (m <= 720) return Math.ceil(m / 5) - 1;
  if (m <= 1440) return 143 + Math.ceil((m - 720) / 30);
  if (m <= 30 * 1440) return 166 + Math.ceil(m / 1440);
  return Math.min(255, 192 + Math.ceil(m / 10080));
}

// ---- SMS-DELIVER and SMS-STATUS-REPORT (the simulator's side) ----------------------------------

export interface DeliverOptions {
  /** `+84…`, national digits, or an alphanumeric sender (e.g. `VIETTEL`). */
  from: string;
  text: string;
  alphabet: SmsAlphabet;
  /** When the SMSC received it (ms) and the offset of its clock (minutes, multiple of 15). */
  at: number;
  tzMinutes?: number;
  concatRef?: number;
  smsc?: string;
}

/** SMS-DELIVER PDUs (§9.2.2.1) — what a modem lists for a received message (the simulator's side). */
export function encodeDeliver(o: DeliverOptions): EncodedPart[] {
  const segments = splitForSms(o.text, o.alphabet);
  const concat = segments.length > 1;
  const sca = encodeAddress(o.smsc ?? '+84900000000', 'sca');
  return segments.map((seg, i) => {
    const first = 0x04 /* TP-MMS: no more messages */ | (concat ? 0x40 : 0);
    const udh = concat ? concatUdh((o.concatRef ?? 0) & 0xff, segments.length, i + 1) : [];
    const { udl, ud } = userData(seg, o.alphabet, udh);
    const tpdu = [first, ...encodeAddress(o.from, 'tp'), 0x00, dcsOf(o.alphabet), ...encodeTimestamp(o.at, o.tzMinutes ?? 420), udl, ...ud];
    return { hex: toHex([...sca, ...tpdu]), tpduLength: tpdu.length, seq: i + 1, total: segments.length, text: seg };
  });
}

/** An SMS-STATUS-REPORT PDU (§9.2.2.3) with SMSC address. */
export function encodeStatusReport(o: { mr: number; recipient: string; at: number; dischargedAt: number; status: number; tzMinutes?: number }): {
  hex: string;
  tpduLength: number;
} {
  const tz = o.tzMinutes ?? 420;
  const tpdu = [
    0x06 /* MTI 10, MMS */,
    o.mr & 0xff,
    ...encodeAddress(o.recipient, 'tp'),
    ...encodeTimestamp(o.at, tz),
    ...encodeTimestamp(o.dischargedAt, tz),
    o.status & 0xff,
  ];
  return { hex: toHex([0x00, ...tpdu]), tpduLength: tpdu.length };
}

// ---- user data (§9.2.3.16, §9.2.3.24) ----------------------------------------------------------

function userData(text: string, alphabet: SmsAlphabet, udh: number[]): { udl: number; ud: number[] } {
  if (alphabet === 'gsm7') {
    const septets = toSeptets(text);
    const headerSeptets = Math.ceil((udh.length * 8) / 7);
    return { udl: headerSeptets + septets.length, ud: Array.from(packSeptets(septets, udh)) };
  }
  const ud = [...udh];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    ud.push(c >> 8, c & 0xff);
  }
  return { udl: ud.length, ud };
}
