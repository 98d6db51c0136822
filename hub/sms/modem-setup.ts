/**
 * The modem's set-up and supervision steps (3GPP TS 27.007 / 27.005), each a short command
 * sequence returning what it found; the GsmModem runs them inside its queue and keeps the state.
 */
import { AtError, type AtResult, type CommandOptions } from './at-channel.ts';
import { isRegistered, parseCpin, parseCsq, parseRegistration, parseStoredList, simStateOfCmeError, simStateOfCode, type SimState } from './modem-responses.ts';

export interface AtRunner {
  /** A command that must succeed (rejects with AtError). */
  send(cmd: string, opts?: CommandOptions): Promise<AtResult>;
  /** An optional command: null on ERROR / timeout; still rejects when the port closed. */
  optional(cmd: string, opts?: CommandOptions): Promise<AtResult | null>;
}

export interface SimCheck {
  sim: SimState;
  reason?: string;
  /** The configured PIN was refused: never send it again (three wrong tries need the PUK). */
  pinRejected?: true;
}

/** `AT+CPIN?`; enters `pin` once when the SIM asks for it (unless it was refused before). */
export async function checkSim(at: AtRunner, pin: string | undefined, pinRefusedBefore: boolean): Promise<SimCheck> {
  let code: string | null;
  try {
    code = parseCpin((await at.send('AT+CPIN?')).lines);
  } catch (err) {
    if (!(err instanceof AtError) || err.kind === 'closed') throw err;
    return simStateOfCmeError(err.kind === 'cme' ? err.errorCode : undefined);
  }
  if (code === 'SIM PIN') {
    if (!pin) return { sim: 'pin', reason: 'the SIM needs its PIN (--modem-pin)' };
    if (pinRefusedBefore) return { sim: 'pin', reason: 'the SIM refused the configured PIN; it is not tried again (a third wrong try locks the SIM)' };
    try {
      await at.send(`AT+CPIN="${pin}"`, { secret: true, timeoutMs: 10_000 });
    } catch (err) {
      if (!(err instanceof AtError) || err.kind === 'closed') throw err;
      const reason = `the SIM refused the PIN (${err.message.replace(/^.*?: /, '')})`;
      return err.kind === 'timeout' ? { sim: 'pin', reason } : { sim: 'pin', reason, pinRejected: true };
    }
    code = parseCpin((await at.optional('AT+CPIN?'))?.lines ?? []);
  }
  if (code === null) return { sim: 'unknown', reason: 'no answer to AT+CPIN?' };
  const sim = simStateOfCode(code);
  return sim === 'ready' ? { sim } : { sim, reason: `the SIM is locked (${code})` };
}

/**
 * PDU mode (required), SIM storage for all three memories and new-message indications
 * `AT+CNMI=2,1,0,1,0` (store + `+CMTI`, status reports as `+CDS`), falling back to `2,1`.
 * Returns whether SMS can be used.
 */
export async function setupSms(at: AtRunner): Promise<boolean> {
  if ((await at.optional('AT+CMGF=0')) === null) return false;
  await at.optional('AT+CPMS="SM","SM","SM"');
  if ((await at.optional('AT+CNMI=2,1,0,1,0')) === null) await at.optional('AT+CNMI=2,1');
  return true;
}

/** `AT+CREG?` (and `AT+CEREG?` when not registered in CS: LTE-only), `AT+CSQ`. */
export async function readNetwork(at: AtRunner): Promise<{ registered: boolean; signal: number | null }> {
  let registered = isRegistered(parseRegistration((await at.optional('AT+CREG?'))?.lines ?? [], '+CREG:'));
  if (!registered) registered = isRegistered(parseRegistration((await at.optional('AT+CEREG?'))?.lines ?? [], '+CEREG:'));
  const signal = parseCsq((await at.optional('AT+CSQ'))?.lines ?? []);
  return { registered, signal };
}

/**
 * Every received message in storage (`AT+CMGL=4`): each is handed to `onPdu`, then deleted
 * (`AT+CMGD`). Stored sent/unsent messages (stat 2, 3) are left alone.
 */
export async function sweepInbox(at: AtRunner, onPdu: (pdu: string) => void): Promise<number> {
  const res = await at.optional('AT+CMGL=4', { timeoutMs: 20_000 });
  if (!res) return 0;
  let n = 0;
  for (const m of parseStoredList(res.lines, '+CMGL:')) {
    if (m.stat > 1) continue;
    onPdu(m.pdu);
    n++;
    await at.optional(`AT+CMGD=${m.index}`);
  }
  return n;
}

/** One announced message (`+CMTI` / `+CDSI`): `AT+CMGR`, hand over, `AT+CMGD`; a sweep if unreadable. */
export async function readStored(at: AtRunner, index: number, onPdu: (pdu: string) => void): Promise<void> {
  const res = await at.optional(`AT+CMGR=${index}`);
  const msg = res ? parseStoredList(res.lines, '+CMGR:')[0] : undefined;
  if (!msg) {
    await sweepInbox(at, onPdu); // stored in another memory than <mem1>, or already gone
    return;
  }
  onPdu(msg.pdu);
  await at.optional(`AT+CMGD=${index}`);
}
