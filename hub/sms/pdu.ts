/**
 * SMS TPDUs (3GPP TS 23.040 §9.2) as the hex strings AT commands carry in PDU mode: encode
 * SMS-SUBMIT (and SMS-DELIVER / SMS-STATUS-REPORT, for the modem simulator), decode SMS-DELIVER,
 * SMS-SUBMIT and SMS-STATUS-REPORT. Pure and synchronous.
 *
 * Why PDU mode (`AT+CMGF=0`) and not text mode: Vietnamese with diacritics needs UCS-2, and a text
 * longer than 70 UCS-2 characters needs a concatenation User Data Header (§9.2.3.24.1). Text mode
 * cannot carry a UDH portably: it needs `AT+CSCS="UCS2"` (number and body then hex), `AT+CSMP`
 * with UDHI set and the header typed by hand into the body — SIM800, SIM7600 and Quectel EC2x each
 * differ (some drop the header, some count characters, not octets). In PDU mode the modem sends
 * exactly the octets we built, the same on every 27.005 modem, and status-report requests,
 * validity and the alphabet are ours to set. SIM800 starts in PDU mode anyway.
 *
 * Why not npm `node-pdu` 2.1.1 (its source was read): its concatenation header is always the
 * 16-bit-reference IE (7 octets) and it splits UCS-2 at 63 characters, not 67; it decides "unicode"
 * by `charCode > 0xC0`, so characters such as `°`, `«`, `’` below that are silently sent as spaces
 * in GSM-7; it splits GSM-7 by characters, not septets (an extension character such as `€` takes
 * two, so a part can exceed 160 septets); its reference number is random (no control for retries).
 *
 * Limits used (TS 23.040 §9.2.3.16 and 23.038): a single SMS holds 160 GSM-7 septets or 70 UCS-2
 * code units; with the 6-octet 8-bit-reference concatenation UDH, 153 septets (one fill bit) or
 * 67 code units per part. A part never ends inside an escape sequence or a surrogate pair.
 */
import { fromSeptets, gsm7Septets, isGsm7, packSeptets, toSeptets, unpackSeptets } from './modem-gsm7.ts';

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
    const udh = concat ? [0x05, 0x00, 0x03, o.concatRef!, segments.length, i + 1] : [];
    const { udl, ud } = userData(seg, o.alphabet, udh);
    const tpdu = [first, 0x00 /* TP-MR: the modem sets it */, ...encodeAddress(o.to, 'tp'), 0x00, dcsOf(o.alphabet), vp, udl, ...ud];
    return { hex: toHex([...sca, ...tpdu]), tpduLength: tpdu.length, seq: i + 1, total: segments.length, text: seg };
  });
}

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
    const udh = concat ? [0x05, 0x00, 0x03, (o.concatRef ?? 0) & 0xff, segments.length, i + 1] : [];
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

function dcsOf(a: SmsAlphabet): number {
  return a === 'gsm7' ? 0x00 : 0x08;
}

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

/** TP-VP relative format (§9.2.3.12.1), the smallest value covering `minutes`. */
export function relativeValidity(minutes: number): number {
  const m = Math.max(5, Math.ceil(minutes));
  if (m <= 720) return Math.ceil(m / 5) - 1;
  if (m <= 1440) return 143 + Math.ceil((m - 720) / 30);
  if (m <= 30 * 1440) return 166 + Math.ceil(m / 1440);
  return Math.min(255, 192 + Math.ceil(m / 10080));
}

/** Address field (§9.1.2.5); `sca` is the RP SMSC address, whose length counts octets. */
function encodeAddress(addr: string, kind: 'tp' | 'sca'): number[] {
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

function swapped(n: number): number {
  return ((n % 10) << 4) | Math.floor(n / 10);
}

/** TP-SCTS / TP-DT (§9.2.3.11): local time of the sender's clock + its offset, in quarters of an hour. */
function encodeTimestamp(epochMs: number, tzMinutes: number): number[] {
  const d = new Date(epochMs + tzMinutes * 60_000);
  const q = Math.round(Math.abs(tzMinutes) / 15);
  const tz = swapped(q) | (tzMinutes < 0 ? 0x08 : 0);
  return [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map(swapped).concat(tz);
}

export interface DecodedDeliver {
  type: 'deliver';
  smsc?: string;
  /** `+` and digits for an international number, the digits as given otherwise, or the alphanumeric name. */
  from: string;
  fromType: 'international' | 'national' | 'alphanumeric' | 'unknown';
  alphabet: DecodedAlphabet;
  text: string;
  concat?: Concat;
  sentAt: SmsTimestamp;
}
export interface DecodedSubmit {
  type: 'submit';
  to: string;
  mr: number;
  statusReport: boolean;
  alphabet: DecodedAlphabet;
  text: string;
  concat?: Concat;
}
export interface DecodedStatusReport {
  type: 'status-report';
  mr: number;
  recipient: string;
  at: SmsTimestamp;
  dischargedAt: SmsTimestamp;
  /** TP-ST (§9.2.3.15). */
  status: number;
  /** 0x00–0x1F: the short message reached the recipient (or was forwarded / replaced). */
  delivered: boolean;
  /** False for 0x20–0x3F: the SMSC is still trying. */
  final: boolean;
}
export type DecodedPdu = DecodedDeliver | DecodedSubmit | DecodedStatusReport;

class Reader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new PduError('PDU is truncated');
    return this.b[this.pos++]!;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new PduError('PDU is truncated');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  rest(): Uint8Array {
    return this.bytes(this.b.length - this.pos);
  }
}

/**
 * Decodes a PDU as modems print it (`+CMGR`, `+CMGL`, `+CMT`, `+CDS`): SMSC address first unless
 * `hasSca` is false. Throws PduError on malformed input.
 */
export function decodePdu(hex: string, opts: { hasSca?: boolean } = {}): DecodedPdu {
  const clean = hex.trim();
  if (!/^(?:[0-9A-Fa-f]{2})+$/.test(clean)) throw new PduError('PDU is not hex octets');
  const r = new Reader(Uint8Array.from(clean.match(/../g)!, (h) => parseInt(h, 16)));
  let smsc: string | undefined;
  if (opts.hasSca ?? true) {
    const len = r.byte();
    if (len > 0) smsc = decodeAddressValue(r.byte(), r.bytes(len - 1), (len - 1) * 2).value;
  }
  const first = r.byte();
  const mti = first & 0x03;
  const udhi = (first & 0x40) !== 0;
  if (mti === 0x00) {
    const oa = readAddress(r);
    r.byte(); // TP-PID
    const dcs = r.byte();
    const sentAt = decodeTimestamp(r.bytes(7));
    const ud = readUserData(r, dcs, udhi);
    return { type: 'deliver', ...(smsc ? { smsc } : {}), from: oa.value, fromType: oa.type, sentAt, ...ud };
  }
  if (mti === 0x01) {
    const mr = r.byte();
    const da = readAddress(r);
    r.byte(); // TP-PID
    const dcs = r.byte();
    const vpf = (first >> 3) & 0x03;
    if (vpf === 0x02) r.byte();
    else if (vpf !== 0x00) r.bytes(7);
    return { type: 'submit', to: da.value, mr, statusReport: (first & 0x20) !== 0, ...readUserData(r, dcs, udhi) };
  }
  if (mti === 0x02) {
    const mr = r.byte();
    const ra = readAddress(r);
    const at = decodeTimestamp(r.bytes(7));
    const dischargedAt = decodeTimestamp(r.bytes(7));
    const status = r.byte() & 0x7f;
    return { type: 'status-report', mr, recipient: ra.value, at, dischargedAt, status, delivered: status < 0x20, final: status < 0x20 || status >= 0x40 };
  }
  throw new PduError(`unsupported TP-MTI ${mti}`);
}

function readAddress(r: Reader): { value: string; type: DecodedDeliver['fromType'] } {
  const len = r.byte(); // useful semi-octets
  if (len > 20) throw new PduError(`address length ${len}`);
  const toa = r.byte();
  return decodeAddressValue(toa, r.bytes(Math.ceil(len / 2)), len);
}

function decodeAddressValue(toa: number, octets: Uint8Array, semi: number): { value: string; type: DecodedDeliver['fromType'] } {
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

function readUserData(r: Reader, dcs: number, udhi: boolean): { alphabet: DecodedAlphabet; text: string; concat?: Concat } {
  const alphabet = alphabetOf(dcs);
  const udl = r.byte();
  const body = r.rest();
  let udhLen = 0;
  let concat: Concat | undefined;
  if (udhi) {
    if (body.length < 1) throw new PduError('UDH missing');
    udhLen = body[0]! + 1;
    if (udhLen > body.length) throw new PduError('UDH longer than the user data');
    concat = parseUdh(body.subarray(1, udhLen));
  }
  let text: string;
  if (alphabet === 'gsm7') {
    const skip = Math.ceil((udhLen * 8) / 7);
    const count = udl - skip;
    if (count < 0 || Math.ceil((udl * 7) / 8) > body.length) throw new PduError('TP-UDL exceeds the user data');
    text = fromSeptets(unpackSeptets(body, count, skip));
  } else {
    if (udl > body.length) throw new PduError('TP-UDL exceeds the user data');
    const data = body.subarray(udhLen, udl);
    if (alphabet === 'ucs2') {
      let s = '';
      for (let i = 0; i + 1 < data.length; i += 2) s += String.fromCharCode((data[i]! << 8) | data[i + 1]!);
      text = s;
    } else {
      text = String.fromCharCode(...data);
    }
  }
  return concat ? { alphabet, text, concat } : { alphabet, text };
}

/** TP-DCS (TS 23.038 §4). Compressed text is refused. */
function alphabetOf(dcs: number): DecodedAlphabet {
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

/** Concatenation IEs of a UDH (§9.2.3.24.1 8-bit ref, §9.2.3.24.8 16-bit ref); other IEs skipped. */
function parseUdh(udh: Uint8Array): Concat | undefined {
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

function decodeTimestamp(b: Uint8Array): SmsTimestamp {
  const d = (x: number) => (x & 0x0f) * 10 + (x >> 4);
  const tzRaw = b[6]!;
  const tzMinutes = ((tzRaw & 0x07) * 10 + (tzRaw >> 4)) * 15 * (tzRaw & 0x08 ? -1 : 1);
  const local = Date.UTC(2000 + d(b[0]!), d(b[1]!) - 1, d(b[2]!), d(b[3]!), d(b[4]!), d(b[5]!));
  return { epochMs: local - tzMinutes * 60_000, tzMinutes: tzMinutes === 0 ? 0 : tzMinutes };
}

function toHex(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s.toUpperCase();
}
