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
 * The codec is three modules, re-exported here as one API: pdu-encode.ts (splitting a text into
 * parts; SMS-SUBMIT, and SMS-DELIVER / SMS-STATUS-REPORT for the simulator), pdu-decode.ts
 * (SMS-DELIVER, SMS-SUBMIT, SMS-STATUS-REPORT) and pdu-fields.ts (the fields they share:
 * addresses, TP-DCS, timestamps, the concatenation UDH). The part limits are in pdu-encode.ts.
 */
export { PduError, type Concat, type DecodedAlphabet, type SmsAlphabet, type SmsTimestamp } from './pdu-fields.ts';
export {
  encodeDeliver,
  encodeStatusReport,
  encodeSubmit,
  MAX_PARTS,
  PART_LIMIT,
  relativeValidity,
  SINGLE_LIMIT,
  splitForSms,
  type DeliverOptions,
  type EncodedPart,
  type SubmitOptions,
} from './pdu-encode.ts';
export { decodePdu, type DecodedDeliver, type DecodedPdu, type DecodedStatusReport, type DecodedSubmit } from './pdu-decode.ts';
