/**
 * One outgoing voice call on an AT channel: `ATD<number>;` (V.25ter §6.3.1, the `;` makes it a
 * voice call; SIM800 manual V1.09 §2.2.3: with the default AT+COLP=0 the modem answers `OK` at once
 * and reports the end later as `BUSY` / `NO CARRIER` / `NO ANSWER`), then `AT+CLCC` every
 * `pollMs` (TS 27.007 §7.18; SIM800 §3.2.16: stat 0 active, 2 dialing, 3 alerting) until it is
 * answered, ends, or `ringMs` passed. It is then hung up with `ATH` (SIM800 §2.2.8); when a call
 * is still listed after that (Qualcomm-based modems such as SIM7600 ignore ATH for voice calls
 * when AT+CVHU=1), `AT+CHUP`.
 * An answered call stays up `answeredHangupMs` (the person hears it connect) before the hang-up.
 */
import { AtError, type AtChannel, type CallEndResult, type Urc } from './at-channel.ts';
import { parseClcc, type CurrentCall } from './modem-responses.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';

export type CallOutcome = 'answered' | 'no-answer' | 'busy' | 'failed';

export interface CallOptions {
  ringMs: number;
  pollMs: number;
  answeredHangupMs: number;
  clock: Clock;
}

function outcomeOf(result: CallEndResult, alerted: boolean): CallOutcome {
  if (result === 'BUSY') return 'busy';
  if (result === 'NO ANSWER') return 'no-answer';
  if (result === 'NO CARRIER') return alerted ? 'no-answer' : 'failed';
  return 'failed';
}

/** Resolves with the outcome; rejects only with an AtError of kind 'closed' (the port went away). */
export async function placeCall(ch: AtChannel, number: string, o: CallOptions): Promise<CallOutcome> {
  // Set from the URC listener (a holder: TypeScript does not see closures assign a `let`).
  const st: { ended: CallEndResult | null; wake: (() => void) | null } = { ended: null, wake: null };
  const onUrc = (u: Urc) => {
    if (u.kind !== 'call-end') return;
    st.ended = u.result;
    st.wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      let t: TimerHandle | null = null;
      const done = () => {
        t?.cancel();
        st.wake = null;
        resolve();
      };
      st.wake = done;
      if (st.ended) return done();
      t = o.clock.setTimer(ms, done);
    });
  ch.on('urc', onUrc);
  try {
    try {
      await ch.send(`ATD${number};`, { timeoutMs: 20_000 });
    } catch (err) {
      if (!(err instanceof AtError) || err.kind === 'closed') throw err;
      if (err.kind === 'call') return outcomeOf(err.message as CallEndResult, false);
      return 'failed'; // ERROR / +CME ERROR: no network, barred, bad number
    }
    const deadline = o.clock.now() + o.ringMs;
    let alerted = false;
    let seen = false;
    let missing = 0;
    for (;;) {
      if (st.ended) return outcomeOf(st.ended, alerted);
      const left = deadline - o.clock.now();
      if (left <= 0) {
        await hangUp(ch);
        return 'no-answer';
      }
      const call = await currentCall(ch);
      if (st.ended) return outcomeOf(st.ended, alerted);
      if (call === undefined) {
        // The list failed (ERROR): try again at the next poll.
      } else if (call === null) {
        // Not listed: ended without a result code, or not set up yet.
        if (seen || ++missing >= 3) return alerted ? 'no-answer' : 'failed';
      } else {
        seen = true;
        if (call.stat === 0) {
          await sleep(o.answeredHangupMs);
          if (!st.ended) await hangUp(ch);
          return 'answered';
        }
        if (call.stat === 3) alerted = true;
      }
      await sleep(Math.min(o.pollMs, left));
    }
  } finally {
    ch.off('urc', onUrc);
  }
}

/** Our outgoing voice call in AT+CLCC; null when none is listed, undefined when the list failed. */
async function currentCall(ch: AtChannel): Promise<CurrentCall | null | undefined> {
  try {
    const calls = parseClcc((await ch.send('AT+CLCC')).lines);
    return calls.find((c) => c.dir === 0 && c.mode === 0 && c.stat !== 6) ?? null;
  } catch (err) {
    if (err instanceof AtError && err.kind === 'closed') throw err;
    return undefined;
  }
}

export async function hangUp(ch: AtChannel): Promise<void> {
  let athOk = false;
  try {
    await ch.send('ATH');
    athOk = true;
  } catch (err) {
    if (err instanceof AtError && err.kind === 'closed') return;
  }
  if (athOk && (await currentCall(ch).catch(() => null)) === null) return;
  try {
    await ch.send('AT+CHUP');
  } catch {
    // nothing more to try: the network ends an unanswered call by itself
  }
}
