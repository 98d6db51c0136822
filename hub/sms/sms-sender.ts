/**
 * One modem's sending loop: takes the most urgent due item of the durable outgoing queue
 * (hub/sms/outbound-queue.ts — several modems share it), sends the SMS or makes the call, and
 * records the outcome in the queue and the alarm's timeline. While its modem is down it takes
 * nothing (the other modems, or this one once it is back, send what waits: no attempt is spent on
 * an unplugged modem).
 */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter } from '../observability/metrics.ts';
import type { OutboundItem, OutboundQueue } from './outbound-queue.ts';
import type { CallOutcome, ModemStatus } from './gsm-modem.ts';

/** What the sender needs of a modem (hub/sms/gsm-modem.ts). */
export interface ModemPort {
  readonly status: ModemStatus;
  sendSms(number: string, text: string, opts: { unaccented?: boolean }): Promise<{ parts: number; refs: number[] }>;
  call(number: string, opts: { ringMs?: number }): Promise<CallOutcome>;
}

export interface SenderHooks {
  /** Before a call: false skips it (e.g. the neighbour answered meanwhile). */
  shouldCall(item: OutboundItem): boolean;
  sent(item: OutboundItem, info: Record<string, unknown>): void;
  failed(item: OutboundItem, error: string, final: boolean): void;
  called(item: OutboundItem, outcome: CallOutcome): void;
}

export interface SenderDeps {
  name: string;
  modem: ModemPort;
  queue: OutboundQueue;
  clock: Clock;
  logger: Logger;
  hooks: SenderHooks;
  unaccented: boolean;
  ringMs: number;
  sent: Counter;
  /** How long to wait when idle before looking again (new items wake it at once). */
  idleMs?: number;
}

export class SmsSender {
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly d: SenderDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Something was queued or the modem changed: look again now. */
  kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = this.d.clock.now();
      const st = this.d.modem.status;
      const item = st.up && st.registered ? this.d.queue.next(now) : null;
      if (!item) {
        const due = this.d.queue.nextDueAt();
        const idle = this.d.idleMs ?? 1000;
        await this.sleep(st.up && due !== null ? Math.max(10, Math.min(idle, due - now)) : idle);
        continue;
      }
      try {
        await this.send(item);
      } catch (err) {
        this.d.logger.error({ err, item: item.id }, 'sender failed on an item');
      }
    }
  }

  private async send(item: OutboundItem): Promise<void> {
    const log = this.d.logger;
    if (item.kind === 'call') {
      if (!this.d.hooks.shouldCall(item)) {
        this.d.queue.markSent(item.id, this.d.clock.now(), { skipped: 'answered', modem: this.d.name });
        return;
      }
      let outcome: CallOutcome;
      try {
        outcome = await this.d.modem.call(item.to, { ringMs: this.d.ringMs });
      } catch (err) {
        this.fail(item, err);
        return;
      }
      this.d.queue.markSent(item.id, this.d.clock.now(), { outcome, modem: this.d.name });
      this.d.sent.inc({ kind: 'call', result: outcome });
      log.info({ to: item.to, alarm: item.alarm, outcome }, 'call made');
      this.d.hooks.called(item, outcome);
      return;
    }
    try {
      const r = await this.d.modem.sendSms(item.to, item.text ?? '', { unaccented: this.d.unaccented });
      const info = { parts: r.parts, refs: r.refs, modem: this.d.name };
      this.d.queue.markSent(item.id, this.d.clock.now(), info);
      this.d.sent.inc({ kind: 'sms', result: 'sent' });
      this.d.hooks.sent(item, info);
    } catch (err) {
      this.fail(item, err);
    }
  }

  private fail(item: OutboundItem, err: unknown): void {
    const message = (err as Error)?.message ?? String(err);
    const code = (err as { code?: string }).code;
    const now = this.d.clock.now();
    // The modem went away mid-send: try again soon (the attempt was spent; the queue gives up after a few).
    const retryAt = code === 'modem_unavailable' ? now + 5_000 : undefined;
    const state = this.d.queue.markFailed(item.id, now, message, retryAt);
    this.d.sent.inc({ kind: item.kind, result: 'failed' });
    this.d.logger.warn({ to: item.to, alarm: item.alarm, kind: item.kind, err: message, final: state === 'failed' }, 'send failed');
    this.d.hooks.failed(item, message, state === 'failed');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      t.unref?.();
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
