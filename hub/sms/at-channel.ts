/**
 * The AT command layer over a duplex byte stream (a serialport SerialPort, a PTY, any Duplex):
 * one command at a time, each with a timeout; intermediate lines; the final result codes of
 * V.25ter / 3GPP TS 27.007 §9.2 / TS 27.005 §3.2.5 (`OK`, `ERROR`, `+CME ERROR: <n>`,
 * `+CMS ERROR: <n>`, and for `ATD` the call results `BUSY`, `NO CARRIER`, `NO ANSWER`,
 * `NO DIALTONE`); the `> ` prompt of `AT+CMGS` (the PDU follows, ended by Ctrl-Z 0x1A; ESC 0x1B
 * cancels on a timeout); echo on or off (echoed command and PDU lines are ignored).
 *
 * Unsolicited result codes (`RING`, `+CMTI`, `+CMT` + its PDU line, `+CDS` + its PDU line,
 * `+CDSI`, `NO CARRIER`, `BUSY`, `NO ANSWER`, `+CLIP`, `+CREG`, `+CEREG`, SIM800's boot lines)
 * can arrive at any moment, also between the lines of a command's answer: they are recognised by
 * their form and emitted as `urc` events, never taken as part of the answer — except a line that
 * starts with the running command's own prefix (`+CREG:` while `AT+CREG?` runs is its answer).
 * Events of a chunk are emitted after the whole chunk is parsed.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';

export type CallEndResult = 'NO CARRIER' | 'BUSY' | 'NO ANSWER' | 'NO DIALTONE';
export type Urc =
  | { kind: 'ring' }
  | { kind: 'cmti'; mem: string; index: number }
  | { kind: 'cdsi'; mem: string; index: number }
  | { kind: 'cmt'; pdu: string }
  | { kind: 'cds'; pdu: string }
  | { kind: 'call-end'; result: CallEndResult }
  | { kind: 'clip'; number: string }
  | { kind: 'creg' | 'cereg'; stat: number }
  | { kind: 'other'; line: string };

export type AtErrorKind = 'error' | 'cme' | 'cms' | 'call' | 'timeout' | 'closed';

export class AtError extends Error {
  constructor(
    readonly kind: AtErrorKind,
    readonly command: string,
    message: string,
    /** The number of `+CME ERROR: <n>` / `+CMS ERROR: <n>` (NaN for a verbose text). */
    readonly errorCode?: number,
    /** For a prompt command: the PDU and Ctrl-Z were written (the modem may have sent it). */
    readonly payloadSent = false,
  ) {
    super(message);
    this.name = 'AtError';
  }
}

export interface AtResult {
  /** Intermediate lines, in order (URCs and echoes removed). */
  lines: string[];
}
export interface CommandOptions {
  timeoutMs?: number;
  /** For a command answered by the `> ` prompt: the payload written after it, then Ctrl-Z. */
  payload?: string;
  /** Written to the debug log as `AT+CPIN=***`. */
  secret?: boolean;
}

interface Pending {
  text: string;
  opts: CommandOptions;
  prefix: string | null;
  dial: boolean;
  lines: string[];
  payloadSent: boolean;
  timer: TimerHandle | null;
  resolve: (r: AtResult) => void;
  reject: (e: AtError) => void;
}

const CALL_RESULTS = new Set<string>(['NO CARRIER', 'BUSY', 'NO ANSWER', 'NO DIALTONE']);
/** Lines modems print on their own that carry nothing we act on (SIM800 boot, power warnings). */
const OTHER_URC =
  /^(RDY|Call Ready|SMS Ready|NORMAL POWER DOWN|UNDER-VOLTAGE|OVER-VOLTAGE|\+CFUN:|\+CPIN:|\+CUSD:|\+CRING:|\+CLCC:|\+QIND:|\+CIEV:|\+CMTE:|\+CPMS:|\*PSUTTZ|DST:|\+CTZV:)/;
const MAX_BUFFER = 8192;

export class AtChannel extends EventEmitter {
  private buf = '';
  private active: Pending | null = null;
  private readonly queue: Pending[] = [];
  private pendingUrcPdu: 'cmt' | 'cds' | null = null;
  private urcs: Urc[] = [];
  private isClosed = false;
  private readonly onDataBound = (chunk: Buffer | string) => this.onData(chunk);
  private readonly onEndBound = () => this.shutdown('the serial port closed');
  private readonly onErrorBound = (err: Error) => this.shutdown(`serial port error: ${err.message}`);

  constructor(
    private readonly stream: Duplex,
    private readonly o: { clock: Clock; logger?: Logger; timeoutMs?: number },
  ) {
    super();
    stream.on('data', this.onDataBound);
    stream.on('close', this.onEndBound);
    stream.on('end', this.onEndBound);
    stream.on('error', this.onErrorBound);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends `AT…` (without the CR) and resolves with its intermediate lines on `OK`. */
  send(text: string, opts: CommandOptions = {}): Promise<AtResult> {
    return new Promise<AtResult>((resolve, reject) => {
      if (this.isClosed) {
        reject(new AtError('closed', text, 'the modem port is closed'));
        return;
      }
      const m = /^AT([+^$][A-Z0-9]+)/i.exec(text);
      this.queue.push({
        text,
        opts,
        prefix: m ? `${m[1]!.toUpperCase()}:` : null,
        dial: /^ATD/i.test(text),
        lines: [],
        payloadSent: false,
        timer: null,
        resolve,
        reject,
      });
      this.pump();
    });
  }

  /** Stops listening to the stream and fails what is pending (the stream itself is the owner's). */
  close(reason = 'the modem channel was closed'): void {
    this.shutdown(reason);
  }

  private shutdown(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stream.off('data', this.onDataBound);
    this.stream.off('close', this.onEndBound);
    this.stream.off('end', this.onEndBound);
    this.stream.off('error', this.onErrorBound);
    this.stream.on('error', () => undefined); // a late error on a dead port must not crash the hub
    const all = this.active ? [this.active, ...this.queue] : [...this.queue];
    this.active = null;
    this.queue.length = 0;
    for (const p of all) {
      p.timer?.cancel();
      p.reject(new AtError('closed', p.text, reason, undefined, p.payloadSent));
    }
    this.emit('close', reason);
  }

  private pump(): void {
    if (this.active || this.isClosed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.active = next;
    this.o.logger?.debug({ tx: next.opts.secret ? next.text.replace(/=.*/, '=***') : next.text }, 'AT >');
    next.timer = this.o.clock.setTimer(next.opts.timeoutMs ?? this.o.timeoutMs ?? 5000, () => this.onTimeout(next));
    this.write(`${next.text}\r`);
  }

  private write(s: string): void {
    try {
      this.stream.write(Buffer.from(s, 'latin1'));
    } catch (err) {
      this.shutdown(`write failed: ${(err as Error).message}`);
    }
  }

  private onTimeout(p: Pending): void {
    if (this.active !== p) return;
    // Waiting at the prompt: ESC makes the modem leave it without sending (TS 27.005 §3.5.1).
    if (p.opts.payload !== undefined && !p.payloadSent) this.write('\x1b');
    this.finish(
      p,
      new AtError('timeout', p.text, `no answer to ${this.show(p)} within ${p.opts.timeoutMs ?? this.o.timeoutMs ?? 5000} ms`, undefined, p.payloadSent),
    );
  }

  private finish(p: Pending, err: AtError | null): void {
    if (this.active !== p) return;
    p.timer?.cancel();
    this.active = null;
    if (err) p.reject(err);
    else p.resolve({ lines: p.lines });
    this.pump();
  }

  private show(p: Pending): string {
    return p.opts.secret ? p.text.replace(/=.*/, '=***') : p.text;
  }

  private onData(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    for (;;) {
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === '\r' || this.buf[i] === '\n')) i++;
      if (i > 0) this.buf = this.buf.slice(i);
      if (this.buf === '') break;
      const p = this.active;
      if (p && p.opts.payload !== undefined && !p.payloadSent && this.buf.startsWith('>')) {
        this.buf = this.buf.slice(this.buf.startsWith('> ') ? 2 : 1);
        p.payloadSent = true;
        this.write(`${p.opts.payload}\x1a`);
        continue;
      }
      const nl = this.buf.search(/[\r\n]/);
      if (nl < 0) break;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      this.onLine(line);
    }
    if (this.buf.length > MAX_BUFFER) {
      this.o.logger?.warn({ bytes: this.buf.length }, 'modem sent a line too long; dropped');
      this.buf = '';
    }
    const urcs = this.urcs;
    this.urcs = [];
    for (const u of urcs) this.emit('urc', u);
  }

  private onLine(raw: string): void {
    const line = raw.replace(/\x1a/g, '').trim();
    if (line === '') return;
    this.o.logger?.debug({ rx: line.length > 80 ? `${line.slice(0, 80)}…` : line }, 'AT <');
    if (this.pendingUrcPdu) {
      const kind = this.pendingUrcPdu;
      this.pendingUrcPdu = null;
      if (/^[0-9A-Fa-f]+$/.test(line)) {
        this.urcs.push({ kind, pdu: line });
        return;
      }
    }
    const p = this.active;
    const upper = line.toUpperCase();
    // Echo (ATE1): the command line, and the PDU typed after the prompt (maybe behind "> ").
    if (p && upper === p.text.toUpperCase()) return;
    if (p?.opts.payload !== undefined && line.replace(/^>\s*/, '') === p.opts.payload) return;
    if (/^AT/i.test(line)) return; // the echo of an earlier command (no answer line starts with AT)
    if (p) {
      if (line === 'OK') return this.finish(p, null);
      if (line === 'ERROR') return this.finish(p, new AtError('error', p.text, `${this.show(p)}: ERROR`));
      const m = /^\+(CME|CMS) ERROR:\s*(.*)$/i.exec(line);
      if (m) {
        const kind = m[1]!.toUpperCase() === 'CME' ? 'cme' : 'cms';
        return this.finish(p, new AtError(kind, p.text, `${this.show(p)}: ${line}`, /^\d+$/.test(m[2]!) ? Number(m[2]) : Number.NaN, p.payloadSent));
      }
      if (p.dial && CALL_RESULTS.has(upper)) return this.finish(p, new AtError('call', p.text, line));
      if (p.prefix && upper.startsWith(p.prefix)) {
        p.lines.push(line);
        return;
      }
    }
    const urc = parseUrc(line);
    if (urc === 'cmt' || urc === 'cds') {
      this.pendingUrcPdu = urc;
      return;
    }
    if (urc) {
      this.urcs.push(urc);
      return;
    }
    if (p) {
      p.lines.push(line);
      return;
    }
    // Idle: a late answer to a command that timed out, or noise.
    this.urcs.push({ kind: 'other', line });
  }
}

/** Recognises an unsolicited result code; 'cmt' / 'cds' when a PDU line follows (PDU mode). */
export function parseUrc(line: string): Urc | 'cmt' | 'cds' | null {
  const upper = line.toUpperCase();
  if (upper === 'RING') return { kind: 'ring' };
  if (CALL_RESULTS.has(upper)) return { kind: 'call-end', result: upper as CallEndResult };
  let m = /^\+(CMTI|CDSI):\s*"?([A-Z_]*)"?\s*,\s*(\d+)/i.exec(line);
  if (m) return { kind: m[1]!.toUpperCase() === 'CMTI' ? 'cmti' : 'cdsi', mem: m[2]!.toUpperCase(), index: Number(m[3]) };
  if (/^\+CMT:\s*("[^"]*"|[^,]*)?\s*,\s*\d+\s*$/i.test(line)) return 'cmt';
  if (/^\+CDS:\s*\d+\s*$/i.test(line)) return 'cds';
  m = /^\+CLIP:\s*"([^"]*)"/i.exec(line);
  if (m) return { kind: 'clip', number: m[1]! };
  m = /^\+C(E)?REG:\s*(\d+)\s*(?:,|$)/i.exec(line);
  if (m) return { kind: m[1] ? 'cereg' : 'creg', stat: Number(m[2]) };
  if (OTHER_URC.test(line)) return { kind: 'other', line };
  return null;
}
