/**
 * A GSM modem simulator for tests: speaks the AT subset smokehub uses the way a SIM800 does, on one
 * end of a real `socat` PTY pair (`startPtyModem`), or on any Duplex (`attach`). Transcript forms
 * follow the SIM800 Series AT Command Manual V1.09 (sections cited at each command) and 3GPP TS
 * 27.005 / 27.007:
 * - V.25ter framing (ATV1): every information line and result code is `\r\n<text>\r\n`;
 *   echo is ON at power-up and echoes input as typed until `ATE0` (§2.2.7 ATE).
 * - `AT+CMGS=<length>` in PDU mode (§4.2.5): prompt `\r\n> `, the PDU, Ctrl-Z (ESC cancels), then
 *   `+CMGS: <mr>` and `OK`, or `+CMS ERROR: <err>`; `<length>` = TPDU octets without the SMSC.
 * - Incoming: stored, `+CMTI: "SM",<index>` with `AT+CNMI=2,1` (§4.2.8); read with
 *   `AT+CMGR=<index>` → `+CMGR: <stat>,,<length>` + PDU line (§4.2.4) or `AT+CMGL=<stat>` →
 *   `+CMGL: <index>,<stat>,,<length>` + PDU line per message (§4.2.3); `AT+CMGD=<index>` (§4.2.1).
 *   With `<mt>=2`: `+CMT: ,<length>` + PDU line at once. Status reports with `<ds>=1`: `+CDS: <length>` + PDU.
 * - Calls: `ATD<n>;` answers OK at once (AT+COLP=0, §2.2.3); `AT+CLCC` (§3.2.16) lists
 *   `+CLCC: 1,0,<stat>,0,0,"<n>",<type>` with stat 2 dialing → 3 alerting → 0 active; the end is
 *   `BUSY`, `NO CARRIER` or `NO ANSWER`; `ATH` (§2.2.8) / `AT+CHUP` hang up. `RING` for incoming.
 * - `AT+CPIN?` → `+CPIN: READY|SIM PIN|SIM PUK` (§3.2.28); a wrong PIN is `+CME ERROR: 16`, three
 *   lock the SIM (PUK); `AT+CREG?` → `+CREG: 0,<stat>` (§3.2.32); `AT+CSQ` → `+CSQ: <rssi>,<ber>` (§3.2.35).
 * Faults: ERROR / +CMS ERROR to CMGS, dropped registration, URCs inside an answer; `powerCycle()`
 * is what a replug does (echo on, PIN needed again); a part being sent when the modem is pulled
 * (`detach`) is lost with its power. On a real PTY: test/helpers/modem-pty.ts.
 */
import type { Duplex } from 'node:stream';
import { decodePdu, encodeDeliver, encodeStatusReport, type SmsAlphabet } from '../../hub/sms/pdu.ts';

export interface SimulatorOptions {
  /** The SIM asks for this PIN after each power-up. */
  pin?: string;
  simAbsent?: boolean;
  registered?: boolean;
  csq?: number;
  /** Between Ctrl-Z and `+CMGS:` (real modems: 3–6 s). */
  smsLatencyMs?: number;
  /** Drawn for each part instead of `smsLatencyMs` (e.g. a seeded uniform 3–6 s). */
  smsLatency?: () => number;
  /** Commands (as typed, case-insensitive) answered `ERROR`, e.g. optional set-up. */
  errorOn?: string[];
  /** `AT+CEREG?` supported (LTE modems); SIM800 answers ERROR. */
  lte?: boolean;
  /** Dialing → alerting. */
  dialMs?: number;
  /** Status reports after each SMS that asks for one (`null`: none). */
  statusReport?: { delayMs: number; status: number } | null;
  /** As a SIM7600 with AT+CVHU=1: ATH answers OK and leaves a voice call up. */
  athIgnored?: boolean;
}
export interface SentSms {
  to: string;
  text: string;
  alphabet: string;
  parts: number;
  refs: number[];
  statusReport: boolean;
  /** When the `AT+CMGS` of its first part arrived (the hub handed it to the modem). */
  startedAt: number;
  /** When its last `+CMGS: <mr>` was written (the modem confirmed it). */
  at: number;
}
export type CallScript = { answerAfterMs: number; hangUpAfterMs?: number } | { busyAfterMs: number } | { rejectAfterMs: number } | { noAnswer: true };
export interface CallRecord {
  number: string;
  startedAt: number;
  alerted: boolean;
  answeredAt?: number;
  endedAt?: number;
  endedBy?: 'hub' | 'remote' | 'busy' | 'rejected';
}
interface Stored {
  stat: number;
  pdu: string;
  tpduLength: number;
}
interface ActiveCall {
  record: CallRecord;
  stat: number;
  timers: NodeJS.Timeout[];
}

const CME = { notAllowed: 3, notInserted: 10, pinRequired: 11, pukRequired: 12, wrongPassword: 16 };

export class ModemSimulator {
  readonly sent: SentSms[] = [];
  readonly calls: CallRecord[] = [];
  /** Every line in (`> AT…`) and out (`< …`), for debugging and transcript tests. */
  readonly transcript: string[] = [];
  readonly o: Required<Omit<SimulatorOptions, 'pin' | 'statusReport' | 'smsLatency'>> & Pick<SimulatorOptions, 'pin' | 'statusReport' | 'smsLatency'>;
  private stream: Duplex | null = null;
  private input = '';
  private promptLen: number | null = null;
  private promptAt = 0;
  /** Bumped by `detach` and `powerCycle`: what the modem was doing when pulled is lost with its power. */
  private plugGeneration = 0;
  private busy: Promise<void> = Promise.resolve();
  private echo = true;
  private cmee = 0;
  private cnmiMt = 0;
  private cnmiDs = 0;
  private pinOk = false;
  private pinTries = 0;
  private store = new Map<number, Stored>();
  private nextMr = 1;
  private concatRef = 0;
  private partial = new Map<string, { parts: Map<number, string>; refs: number[]; total: number; startedAt: number }>();
  private call: ActiveCall | null = null;
  private smsFaults: Array<'ERROR' | number> = [];
  private interleave: string[] = [];
  private callScripts = new Map<string, CallScript>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(opts: SimulatorOptions = {}) {
    this.o = {
      simAbsent: false,
      registered: true,
      csq: 21,
      smsLatencyMs: 30,
      errorOn: [],
      lte: false,
      dialMs: 100,
      athIgnored: false,
      ...opts,
    };
    this.pinOk = !opts.pin;
  }

  attach(stream: Duplex): void {
    this.stream = stream;
    // Bytes a pulled port still delivers after `detach` never reach the power-cycled modem.
    stream.on('data', (chunk: Buffer) => this.stream === stream && this.onInput(chunk.toString('latin1')));
  }

  detach(): void {
    this.plugGeneration++;
    this.stream = null;
    this.input = '';
    this.promptLen = null;
  }

  /** A power cycle (a replugged USB modem): echo on, defaults back, PIN needed, calls dropped. */
  powerCycle(): void {
    this.plugGeneration++; // what it was doing is lost with the power
    this.input = '';
    this.promptLen = null;
    this.echo = true;
    this.cmee = 0;
    this.cnmiMt = 0;
    this.cnmiDs = 0;
    this.pinOk = !this.o.pin;
    this.endCall(undefined);
  }

  // ---- fault injection and scripting --------------------------------------------------------------
  /** The next `count` AT+CMGS get `ERROR` or `+CMS ERROR: <n>`. */
  failNextSms(answer: 'ERROR' | number, count = 1): void {
    for (let i = 0; i < count; i++) this.smsFaults.push(answer);
  }
  /** Lines written between the next `+CMGS: <mr>` and its `OK` (e.g. `RING`). */
  interleaveInNextCmgs(...lines: string[]): void {
    this.interleave.push(...lines);
  }
  setRegistered(on: boolean): void {
    this.o.registered = on;
  }
  scriptCall(number: string, script: CallScript): void {
    this.callScripts.set(number, script);
  }
  /** Unsolicited lines, e.g. `RING`. */
  unsolicited(...lines: string[]): void {
    for (const l of lines) this.out(l);
  }
  /** A message from `from` arrives: stored and announced (+CMTI), or sent at once (+CMT), per part. */
  injectSms(from: string, text: string, opts: { alphabet?: SmsAlphabet; at?: number; reverse?: boolean } = {}): void {
    const alphabet = opts.alphabet ?? (/^[\x20-\x7e]*$/.test(text) ? 'gsm7' : 'ucs2');
    const parts = encodeDeliver({ from, text, alphabet, at: opts.at ?? Date.now(), concatRef: ++this.concatRef & 0xff });
    for (const p of opts.reverse ? [...parts].reverse() : parts) {
      if (this.cnmiMt === 2) {
        this.block(`+CMT: ,${p.tpduLength}`, p.hex);
        continue;
      }
      let index = 1;
      while (this.store.has(index)) index++;
      this.store.set(index, { stat: 0, pdu: p.hex, tpduLength: p.tpduLength });
      if (this.cnmiMt === 1) this.out(`+CMTI: "SM",${index}`);
    }
  }
  storedCount(): number {
    return this.store.size;
  }

  // ---- the serial line ------------------------------------------------------------------------------

  private out(...lines: string[]): void {
    for (const l of lines) {
      this.transcript.push(`< ${l}`);
      this.raw(`\r\n${l}\r\n`);
    }
  }
  /** Lines sent as one block (`+CMGR: …<CR><LF><pdu>`): a PDU follows its header after one CR LF. */
  private block(...lines: string[]): void {
    for (const l of lines) this.transcript.push(`< ${l}`);
    this.raw(`\r\n${lines.join('\r\n')}\r\n`);
  }
  private raw(s: string): void {
    this.stream?.write(Buffer.from(s, 'latin1'));
  }

  private onInput(s: string): void {
    if (this.echo) this.raw(s);
    this.input += s;
    for (;;) {
      if (this.promptLen !== null) {
        const end = this.input.search(/[\x1a\x1b]/);
        if (end < 0) return;
        const pdu = this.input.slice(0, end).trim();
        const cancelled = this.input[end] === '\x1b';
        this.input = this.input.slice(end + 1);
        const len = this.promptLen;
        const startedAt = this.promptAt;
        this.promptLen = null;
        this.transcript.push(`> ${pdu}${cancelled ? '<ESC>' : '<^Z>'}`);
        if (!cancelled) this.queue(() => this.submit(pdu, len, startedAt));
        continue;
      }
      const cr = this.input.indexOf('\r');
      if (cr < 0) return;
      const line = this.input.slice(0, cr).replace(/\n/g, '').trim();
      this.input = this.input.slice(cr + 1);
      if (line === '') continue;
      this.transcript.push(`> ${/^AT\+CPIN=/i.test(line) ? 'AT+CPIN=***' : line}`);
      // The prompt must come before more input is read (the PDU follows it).
      if (/^AT\+CMGS=\d+$/i.test(line) && this.smsPossible()) {
        const at = Date.now();
        this.queue(async () => {
          this.promptAt = at;
          this.promptLen = Number(line.slice(8));
          this.transcript.push('< > ');
          this.raw('\r\n> ');
          this.onInput('');
        });
        return;
      }
      this.queue(() => this.command(line));
    }
  }

  /** Runs `fn` after the commands before it; dropped when the modem was pulled in between (power lost). */
  private queue(fn: () => Promise<void> | void): void {
    const gen = this.plugGeneration;
    this.busy = this.busy
      .then(() => (gen === this.plugGeneration ? fn() : undefined))
      .catch((err) => {
        this.transcript.push(`! ${(err as Error).message}`);
      });
  }

  private later(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private cmeError(n: number): void {
    this.out(this.cmee > 0 ? `+CME ERROR: ${n}` : 'ERROR');
  }
  private cmsError(n: number): void {
    this.out(this.cmee > 0 ? `+CMS ERROR: ${n}` : 'ERROR');
  }

  private smsPossible(): boolean {
    return !this.o.simAbsent && this.pinOk && !this.o.errorOn.some((c) => c.toUpperCase() === 'AT+CMGS');
  }

  private regStat(): number {
    return this.o.simAbsent || !this.pinOk ? 0 : this.o.registered ? 1 : 2;
  }

  // ---- commands -------------------------------------------------------------------------------------

  private async command(line: string): Promise<void> {
    const up = line.toUpperCase();
    if (this.o.errorOn.some((c) => c.toUpperCase() === up)) return this.out('ERROR');
    let m: RegExpExecArray | null;
    if (up === 'AT') return this.out('OK');
    if ((m = /^ATE([01])$/.exec(up))) {
      this.echo = m[1] === '1';
      return this.out('OK');
    }
    if ((m = /^AT\+CMEE=([012])$/.exec(up))) {
      this.cmee = Number(m[1]);
      return this.out('OK');
    }
    if (up === 'AT+CPIN?') {
      if (this.o.simAbsent) return this.cmeError(CME.notInserted);
      return this.out(`+CPIN: ${this.pinOk ? 'READY' : this.pinTries >= 3 ? 'SIM PUK' : 'SIM PIN'}`, 'OK');
    }
    if ((m = /^AT\+CPIN="?([0-9]+)"?$/.exec(up))) {
      if (this.o.simAbsent) return this.cmeError(CME.notInserted);
      if (this.pinOk) return this.cmeError(CME.notAllowed);
      if (this.pinTries >= 3) return this.cmeError(CME.pukRequired);
      if (m[1] !== this.o.pin) {
        this.pinTries++;
        return this.cmeError(CME.wrongPassword);
      }
      this.pinOk = true;
      this.pinTries = 0;
      // SIM800 announces the SIM and its services after the PIN (boot URCs).
      return this.out('OK', '+CPIN: READY', 'Call Ready', 'SMS Ready');
    }
    if ((m = /^AT\+CMGF=([01])$/.exec(up))) return this.out(m[1] === '0' ? 'OK' : 'ERROR'); // PDU mode only
    if (up === 'AT+CMGF?') return this.out('+CMGF: 0', 'OK');
    if (up.startsWith('AT+CPMS=')) return this.out(`+CPMS: ${this.store.size},50,${this.store.size},50,${this.store.size},50`, 'OK');
    if ((m = /^AT\+CNMI=(\d)(?:,(\d))?(?:,(\d))?(?:,(\d))?(?:,(\d))?$/.exec(up))) {
      this.cnmiMt = Number(m[2] ?? 0);
      this.cnmiDs = Number(m[4] ?? 0);
      return this.out('OK');
    }
    if (up === 'AT+CREG?') return this.out(`+CREG: 0,${this.regStat()}`, 'OK');
    if (up === 'AT+CEREG?') return this.o.lte ? this.out(`+CEREG: 0,${this.regStat()}`, 'OK') : this.out('ERROR');
    if (up === 'AT+CSQ') return this.out(`+CSQ: ${this.regStat() === 1 ? this.o.csq : 99},0`, 'OK');
    if (/^AT\+CMGS=\d+$/.test(up)) {
      // Reached only when the prompt was refused (no SIM / PIN / fault on CMGS).
      if (this.o.simAbsent) return this.cmsError(310);
      if (!this.pinOk) return this.cmsError(311);
      return this.out('ERROR');
    }
    if ((m = /^AT\+CMGL=([0-4])$/.exec(up))) {
      if (!this.pinOk) return this.cmsError(311);
      const want = Number(m[1]);
      const lines: string[] = [];
      for (const [index, s] of [...this.store].sort((a, b) => a[0] - b[0])) {
        if (want !== 4 && s.stat !== want) continue;
        lines.push(`+CMGL: ${index},${s.stat},,${s.tpduLength}`, s.pdu);
        if (s.stat === 0) s.stat = 1;
      }
      if (lines.length > 0) this.block(...lines);
      return this.out('OK');
    }
    if ((m = /^AT\+CMGR=(\d+)$/.exec(up))) {
      const s = this.store.get(Number(m[1]));
      if (!s) return this.cmsError(321); // invalid memory index
      this.block(`+CMGR: ${s.stat},,${s.tpduLength}`, s.pdu);
      this.out('OK');
      if (s.stat === 0) s.stat = 1;
      return;
    }
    if ((m = /^AT\+CMGD=(\d+)(?:,(\d))?$/.exec(up))) {
      if (m[2] && m[2] !== '0') this.store.clear();
      else this.store.delete(Number(m[1]));
      return this.out('OK');
    }
    if ((m = /^ATD(\+?[0-9*#]+);$/.exec(up))) return this.dial(m[1]!);
    if (up === 'AT+CLCC') {
      const c = this.call;
      if (!c) return this.out('OK');
      const n = c.record.number;
      return this.out(`+CLCC: 1,0,${c.stat},0,0,"${n}",${n.startsWith('+') ? 145 : 129}`, 'OK');
    }
    if (up === 'ATH' || up === 'AT+CHUP') {
      if (up === 'AT+CHUP' || !this.o.athIgnored) this.endCall('hub');
      return this.out('OK');
    }
    if (up === 'ATI') return this.out('SIM800 R14.18 (smokehub simulator)', 'OK');
    if (/^AT\+(CLIP|COLP|CVHU|CSCS|CSMP)=/.test(up)) return this.out('OK');
    return this.out('ERROR');
  }

  private async submit(pdu: string, len: number, startedAt: number): Promise<void> {
    const gen = this.plugGeneration;
    const fault = this.smsFaults.shift();
    if (fault !== undefined) {
      await this.later(Math.min(this.o.smsLatencyMs, 50));
      return fault === 'ERROR' ? this.out('ERROR') : this.out(`+CMS ERROR: ${fault}`);
    }
    let d: ReturnType<typeof decodePdu>;
    try {
      d = decodePdu(pdu);
    } catch {
      return this.cmsError(304); // invalid PDU mode parameter
    }
    const scaOctets = parseInt(pdu.slice(0, 2), 16) + 1;
    if (d.type !== 'submit' || pdu.length / 2 - scaOctets !== len) return this.cmsError(304);
    await this.later(this.o.smsLatency ? this.o.smsLatency() : this.o.smsLatencyMs);
    if (gen !== this.plugGeneration) return; // pulled meanwhile: never sent
    if (!this.o.registered) return this.cmsError(331); // no network service
    const mr = this.nextMr;
    this.nextMr = (this.nextMr + 1) & 0xff;
    this.out(`+CMGS: ${mr}`, ...this.interleave.splice(0), 'OK');
    this.record(d.to, d.text, d.alphabet, d.statusReport, mr, startedAt, d.concat);
    const sr = this.o.statusReport;
    if (d.statusReport && sr && this.cnmiDs === 1) {
      void this.later(sr.delayMs).then(() => {
        const r = encodeStatusReport({ mr, recipient: d.to, at: Date.now(), dischargedAt: Date.now(), status: sr.status });
        this.block(`+CDS: ${r.tpduLength}`, r.hex);
      });
    }
  }

  private record(
    to: string,
    text: string,
    alphabet: string,
    statusReport: boolean,
    mr: number,
    startedAt: number,
    concat?: { ref: number; total: number; seq: number },
  ): void {
    if (!concat) {
      this.sent.push({ to, text, alphabet, parts: 1, refs: [mr], statusReport, startedAt, at: Date.now() });
      return;
    }
    const key = `${to}|${concat.ref}|${concat.total}`;
    const p = this.partial.get(key) ?? { parts: new Map<number, string>(), refs: [], total: concat.total, startedAt };
    this.partial.set(key, p);
    p.parts.set(concat.seq, text);
    p.refs.push(mr);
    if (p.parts.size < p.total) return;
    this.partial.delete(key);
    const joined = [...p.parts]
      .sort((a, b) => a[0] - b[0])
      .map((e) => e[1])
      .join('');
    this.sent.push({ to, text: joined, alphabet, parts: p.total, refs: p.refs, statusReport, startedAt: Math.min(p.startedAt, startedAt), at: Date.now() });
  }

  private dial(number: string): void {
    if (!this.pinOk || this.o.simAbsent) return this.cmeError(this.o.simAbsent ? CME.notInserted : CME.pinRequired);
    if (!this.o.registered || this.call) return this.out('NO CARRIER');
    const record: CallRecord = { number, startedAt: Date.now(), alerted: false };
    this.calls.push(record);
    const call: ActiveCall = { record, stat: 2, timers: [] };
    this.call = call;
    this.out('OK');
    const at = (ms: number, fn: () => void) => call.timers.push(setTimeout(() => this.call === call && fn(), ms));
    const script = this.callScripts.get(number) ?? { noAnswer: true };
    at(this.o.dialMs, () => {
      call.stat = 3;
      record.alerted = true;
    });
    if ('answerAfterMs' in script) {
      at(this.o.dialMs + script.answerAfterMs, () => {
        call.stat = 0;
        record.answeredAt = Date.now();
      });
      if (script.hangUpAfterMs !== undefined) at(this.o.dialMs + script.answerAfterMs + script.hangUpAfterMs, () => this.endCall('remote', 'NO CARRIER'));
    } else if ('busyAfterMs' in script) {
      at(this.o.dialMs + script.busyAfterMs, () => this.endCall('busy', 'BUSY'));
    } else if ('rejectAfterMs' in script) {
      at(this.o.dialMs + script.rejectAfterMs, () => this.endCall('rejected', 'NO CARRIER'));
    }
  }

  private endCall(by: CallRecord['endedBy'], resultCode?: string): void {
    const c = this.call;
    if (!c) return;
    for (const t of c.timers) clearTimeout(t);
    this.call = null;
    c.record.endedAt = Date.now();
    if (by) c.record.endedBy = by;
    if (resultCode) this.out(resultCode);
  }

  dispose(): void {
    this.endCall(undefined);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.detach();
  }
}
