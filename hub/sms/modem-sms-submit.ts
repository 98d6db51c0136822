/**
 * Handing an SMS to the modem: the text encoded as SMS-SUBMIT parts (UCS-2 unless it is all
 * GSM-7; `unaccented`: GSM-7 with the Vietnamese diacritics dropped), then one `AT+CMGS` per part.
 */
import type { AtResult, CommandOptions } from './at-channel.ts';
import { ModemError, modemErrorOf } from './modem-errors.ts';
import { isGsm7, toUnaccentedGsm7 } from './modem-gsm7.ts';
import { parseCmgs } from './modem-responses.ts';
import { encodeSubmit, PduError, type EncodedPart } from './pdu.ts';

export interface SubmitSettings {
  /** The concatenation reference of the next message (called once per message). */
  nextRef(): number;
  /** TP-SRR. */
  statusReports: boolean;
  validityMinutes?: number;
}

/** The parts of `text` to `number`, or a `bad_request` ModemError when the codec refuses it. */
export function encodeSms(number: string, text: string, opts: { unaccented?: boolean }, s: SubmitSettings): EncodedPart[] | ModemError {
  const body = opts.unaccented ? toUnaccentedGsm7(text) : text;
  try {
    return encodeSubmit({
      to: number,
      text: body,
      alphabet: isGsm7(body) ? 'gsm7' : 'ucs2',
      concatRef: s.nextRef(),
      statusReport: s.statusReports,
      ...(s.validityMinutes ? { validityMinutes: s.validityMinutes } : {}),
    });
  } catch (err) {
    if (err instanceof PduError) return new ModemError('bad_request', err.message);
    throw err;
  }
}

export interface PartSender {
  /** Why no (further) part may go now, or null; asked before each part. */
  unusable(): ModemError | null;
  send(cmd: string, opts: CommandOptions): Promise<AtResult>;
  /** Per AT+CMGS. */
  timeoutMs: number;
}

/** Sends the parts in order; resolves with each part's `+CMGS` reference (-1: none given). */
export async function submitParts(parts: EncodedPart[], s: PartSender): Promise<number[]> {
  const refs: number[] = [];
  for (const p of parts) {
    const now = s.unusable();
    if (now) throw new ModemError(now.code, now.message, { partsSent: refs.length, maybeSent: refs.length > 0 });
    let res: AtResult;
    try {
      res = await s.send(`AT+CMGS=${p.tpduLength}`, { payload: p.hex, timeoutMs: s.timeoutMs });
    } catch (err) {
      throw modemErrorOf(err, refs.length, parts.length);
    }
    refs.push(parseCmgs(res.lines) ?? -1);
  }
  return refs;
}
