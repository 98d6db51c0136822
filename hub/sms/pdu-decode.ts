/**
 * Reading TPDUs (3GPP TS 23.040 §9.2.2) as modems print them in PDU mode (`+CMGR`, `+CMGL`,
 * `+CMT`, `+CDS`): SMS-DELIVER (a received message), SMS-STATUS-REPORT (a delivery report) and
 * SMS-SUBMIT (what the modem simulator reads from the hub's `AT+CMGS`). Pure and synchronous;
 * malformed input throws PduError.
 */
import { fromSeptets, unpackSeptets } from './modem-gsm7.ts';
import {
  alphabetOf,
  decodeAddressValue,
  decodeTimestamp,
  parseUdh,
  PduError,
  type AddressType,
  type Concat,
  type DecodedAlphabet,
  type SmsTimestamp,
} from './pdu-fields.ts';

export interface DecodedDeliver {
  type: 'deliver';
  smsc?: string;
  /** `+` and digits for an international number, the digits as given otherwise, or the alphanumeric name. */
  from: string;
  fromType: AddressType;
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

function readAddress(r: Reader): { value: string; type: AddressType } {
  const len = r.byte(); // useful semi-octets
  if (len > 20) throw new PduError(`address length ${len}`);
  const toa = r.byte();
  return decodeAddressValue(toa, r.bytes(Math.ceil(len / 2)), len);
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
