/**
 * What arrives from the network as PDUs (stored + read, or `+CMT` / `+CDS` at once): SMS-DELIVER
 * parts joined into messages (bounded reassembly with a timeout), status reports turned into
 * delivery results. An undecodable PDU is logged (rate-limited) and dropped, never fatal.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { RateLimitedLog } from '../observability/rate-limited-log.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter } from '../observability/metrics.ts';
import { SmsReassembly, type AssembledSms } from './modem-reassembly.ts';
import { decodePdu } from './pdu.ts';

export interface DeliveryReport {
  /** The `+CMGS: <mr>` of the part. */
  ref: number;
  ok: boolean;
  /** TP-ST (TS 23.040 §9.2.3.15). */
  status: number;
  recipient: string;
}

export class ModemInbox {
  private readonly reasm: SmsReassembly;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly o: {
      clock: Clock;
      log: Logger;
      rlog: RateLimitedLog;
      onSms: (m: AssembledSms) => void;
      onDelivered: (r: DeliveryReport) => void;
      /** `smokehub_rejects_total`: an undecodable PDU counts as reason `bad_pdu`, channel `modem`. */
      rejects?: Counter;
      reassembly?: { maxMessages?: number; timeoutMs?: number };
    },
  ) {
    this.reasm = new SmsReassembly(o.reassembly);
  }

  handle(pdu: string): void {
    let d: ReturnType<typeof decodePdu>;
    try {
      d = decodePdu(pdu);
    } catch (err) {
      this.o.rejects?.inc({ reason: 'bad_pdu', channel: 'modem' });
      this.o.rlog.warn('bad_pdu', { pdu: pdu.slice(0, 60), err: (err as Error).message }, 'undecodable PDU from the modem; ignored');
      return;
    }
    if (d.type === 'deliver') {
      const part = { from: d.from, text: d.text, sentAt: d.sentAt.epochMs, ...(d.concat ? { concat: d.concat } : {}) };
      for (const m of this.reasm.push(part, this.o.clock.now())) this.emit(m);
      this.arm();
    } else if (d.type === 'status-report' && d.final) {
      this.o.onDelivered({ ref: d.mr, ok: d.delivered, status: d.status, recipient: d.recipient });
    }
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private emit(m: AssembledSms): void {
    if (m.partial) this.o.log.warn({ from: m.from, parts: m.parts }, 'concatenated SMS still incomplete; passed on as it is');
    this.o.onSms(m);
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    const at = this.reasm.nextDeadline();
    if (at === null) return;
    this.timer = this.o.clock.setTimer(at - this.o.clock.now(), () => {
      this.timer = null;
      for (const m of this.reasm.expire(this.o.clock.now())) this.emit(m);
      this.arm();
    });
  }
}
