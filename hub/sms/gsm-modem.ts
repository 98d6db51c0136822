/**
 * A GSM modem on a serial port (SIM800/SIM7600, Quectel EC2x, Huawei in modem mode): the adapter the
 * hub's SMS queue and call ladder use. Everything — init, polls, SMS, calls, reading the inbox —
 * runs through ONE queue of operations, so nothing interleaves on the port.
 *
 * - start(): opens the port; init `AT` (autobaud, up to 3 tries), `ATE0`, `AT+CMEE=1` (ERROR
 *   tolerated), `AT+CPIN?` (+ `AT+CPIN="<pin>"` once: a refused PIN is never sent again),
 *   `AT+CMGF=0` (PDU mode, see pdu.ts), `AT+CPMS`/`AT+CNMI=2,1,0,1,0` (optional), `AT+CREG?`
 *   (`AT+CEREG?` on LTE), `AT+CSQ`, then the inbox (`AT+CMGL=4`, each received message deleted once
 *   handed over). Every `pollMs` (30 s): the SIM if not ready, registration, signal, the inbox.
 *   `+CMTI` → `AT+CMGR` + `AT+CMGD` at once. `RDY` (the modem rebooted by itself) → init again.
 * - A port that fails to open, closes or errors (a pulled USB modem), or a modem that stops
 *   answering (two timeouts in a row) → `up: false`; reopened every `reopenMs` (3 s), no restart.
 * - Events: `status` (ModemStatus, on each change; init's changes announced once at its end),
 *   `sms` (IncomingSms, parts joined), `delivered` (DeliveryReport), `ring`.
 *
 * This file is the session: the port's life (open, presence watch, lost, reopen), init, polls and
 * what the modem says by itself, all on the one queue. Its parts: modem-status.ts (the status, why
 * it cannot send, announcements), modem-commands.ts (commands, two timeouts in a row close the
 * port), modem-sms-submit.ts (a text as PDUs and AT+CMGS per part), modem-setup.ts (the set-up
 * and poll steps), modem-inbox.ts (received messages and reports), modem-call.ts (a call).
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { AtChannel, type Urc } from './at-channel.ts';
import { placeCall, type CallOutcome } from './modem-call.ts';
import { ModemCommands } from './modem-commands.ts';
import { ModemError, modemErrorOf } from './modem-errors.ts';
import { ModemInbox, type DeliveryReport } from './modem-inbox.ts';
import { closePort, openSerialPort, waitOpen, watchPresence, type OpenModemPort } from './modem-port.ts';
import type { AssembledSms } from './modem-reassembly.ts';
import { isRegistered } from './modem-responses.ts';
import { checkSim, readNetwork, readStored, setupSms, sweepInbox } from './modem-setup.ts';
import { encodeSms, submitParts } from './modem-sms-submit.ts';
import { ModemStatusTracker, type ModemStatus } from './modem-status.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';

export type { SimState } from './modem-responses.ts';
export type { CallOutcome } from './modem-call.ts';
export type { DeliveryReport } from './modem-inbox.ts';
export { ModemError, type ModemErrorCode } from './modem-errors.ts';
export type { ModemStatus } from './modem-status.ts';

export type IncomingSms = AssembledSms;

export interface GsmModemOptions {
  path: string;
  baudRate?: number;
  pin?: string;
  clock: Clock;
  logger: Logger;
  /** Counts undecodable PDUs in `smokehub_rejects_total{reason="bad_pdu",channel="modem"}`. */
  metrics?: MetricsRegistry;
  /** Test seam: returns the port (a SerialPort opening itself, or any already-open Duplex). */
  openPort?: OpenModemPort;
  pollMs?: number;
  reopenMs?: number;
  commandTimeoutMs?: number;
  /** Per AT+CMGS (SIM800 manual: up to 60 s). */
  smsTimeoutMs?: number;
  callPollMs?: number;
  answeredHangupMs?: number;
  /** Ask for status reports (TP-SRR), default true. */
  statusReports?: boolean;
  validityMinutes?: number;
  reassembly?: { maxMessages?: number; timeoutMs?: number };
}

const PHONE = /^\+?[0-9]{3,20}$/;

export class GsmModem extends EventEmitter {
  private port: Duplex | null = null;
  private ch: AtChannel | null = null;
  private generation = 0;
  private started = false;
  private stopped = false;
  private pinRejected = false;
  private concatRef = Math.floor(Math.random() * 256);
  private ops: Promise<unknown> = Promise.resolve();
  private reopenTimer: TimerHandle | null = null;
  private pollTimer: TimerHandle | null = null;
  private readonly inbox: ModemInbox;
  private readonly log: Logger;
  /** Status, the reason it cannot send, announcements (`status` events). */
  private readonly tracker: ModemStatusTracker;
  private readonly commands: ModemCommands;

  constructor(private readonly o: GsmModemOptions) {
    super();
    this.log = o.logger.child({ module: 'gsm-modem', path: o.path });
    this.tracker = new ModemStatusTracker(this.log, (status) => this.emit('status', status));
    this.commands = new ModemCommands(this.log);
    this.inbox = new ModemInbox({
      clock: o.clock,
      log: this.log,
      rlog: new RateLimitedLog(this.log, o.clock),
      onSms: (m) => this.emit('sms', m),
      onDelivered: (r: DeliveryReport) => this.emit('delivered', r),
      ...(o.metrics ? { rejects: o.metrics.counter('smokehub_rejects_total', 'Rejected inputs by reason (error code) and channel') } : {}),
      ...(o.reassembly ? { reassembly: o.reassembly } : {}),
    });
  }

  get status(): ModemStatus {
    return this.tracker.snapshot();
  }

  /** Opens the port and runs the init; resolves once that first attempt is over (up or not). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reopenTimer?.cancel();
    this.pollTimer?.cancel();
    this.reopenTimer = this.pollTimer = null;
    this.inbox.stop();
    this.generation++;
    this.ch?.close('the modem adapter stopped');
    this.ch = null;
    if (this.port) closePort(this.port);
    this.port = null;
    this.tracker.portReason = 'stopped';
    this.update({ up: false, registered: false, signal: null, sim: 'unknown' });
    await this.ops.catch(() => undefined);
  }

  /**
   * Sends `text` to `number` (E.164, or national digits) in as many parts as needed: UCS-2 unless
   * the text is all GSM-7 (then GSM-7: the same text, cheaper); `unaccented`: GSM-7 with the
   * Vietnamese diacritics dropped (đ→d). Resolves with the parts and each part's `+CMGS` reference.
   */
  sendSms(number: string, text: string, opts: { unaccented?: boolean } = {}): Promise<{ parts: number; refs: number[] }> {
    if (!PHONE.test(number)) return Promise.reject(new ModemError('bad_request', `not a phone number: ${number}`));
    if (text === '') return Promise.reject(new ModemError('bad_request', 'empty text'));
    const parts = encodeSms(number, text, opts, {
      nextRef: () => this.nextRef(),
      statusReports: this.o.statusReports ?? true,
      ...(this.o.validityMinutes ? { validityMinutes: this.o.validityMinutes } : {}),
    });
    if (parts instanceof ModemError) return Promise.reject(parts);
    const unusable = this.tracker.unusable(true);
    if (unusable) return Promise.reject(unusable);
    return this.enqueue(async (ch) => {
      const refs = await submitParts(parts, {
        unusable: () => this.tracker.unusable(true),
        send: (cmd, o) => this.commands.send(ch, cmd, o),
        timeoutMs: this.o.smsTimeoutMs ?? 60_000,
      });
      this.log.info({ to: number, parts: parts.length, refs }, 'SMS handed to the network');
      return { parts: parts.length, refs };
    });
  }

  /** Rings `number` (a missed call wakes a sleeper). Rejects (ModemError) only when no modem is usable. */
  call(number: string, opts: { ringMs?: number } = {}): Promise<CallOutcome> {
    if (!PHONE.test(number)) return Promise.reject(new ModemError('bad_request', `not a phone number: ${number}`));
    const unusable = this.tracker.unusable(false);
    if (unusable) return Promise.reject(unusable);
    return this.enqueue(async (ch) => {
      try {
        const outcome = await placeCall(ch, number, {
          ringMs: opts.ringMs ?? 30_000,
          pollMs: this.o.callPollMs ?? 1500,
          answeredHangupMs: this.o.answeredHangupMs ?? 3000,
          clock: this.o.clock,
        });
        this.log.info({ to: number, outcome }, 'call finished');
        return outcome;
      } catch (err) {
        throw modemErrorOf(err, 0, 0);
      }
    });
  }

  // ---- the port --------------------------------------------------------------------------------

  private async open(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    let port: Duplex;
    try {
      port = (this.o.openPort ?? openSerialPort)(this.o.path, this.o.baudRate ?? 115_200);
      port.on('error', () => undefined); // reported through open / the channel, never uncaught
      await waitOpen(port, this.o.clock);
    } catch (err) {
      const reason = `cannot open ${this.o.path}: ${(err as Error).message}`;
      if (reason !== this.tracker.portReason) this.log.warn(reason); // said once per distinct reason
      this.tracker.portReason = reason;
      this.update({ up: false, registered: false, signal: null, sim: 'unknown' });
      this.scheduleReopen();
      return;
    }
    if (gen !== this.generation || this.stopped) {
      closePort(port);
      return;
    }
    this.port = port;
    const ch = new AtChannel(port, { clock: this.o.clock, logger: this.log, timeoutMs: this.o.commandTimeoutMs ?? 5000 });
    this.ch = ch;
    ch.on('urc', (u: Urc) => this.onUrc(u));
    const unwatch = watchPresence(this.o.path, this.o.clock, () => ch.close(`the modem is gone (unplugged?): ${this.o.path} no longer exists`));
    ch.once('close', (reason: string) => {
      unwatch();
      this.lost(gen, reason);
    });
    this.log.info({ baud: this.o.baudRate ?? 115_200 }, 'modem port open');
    await this.enqueue((c) => this.init(c, gen)).catch((err) => this.log.warn({ err: (err as Error).message }, 'modem init failed'));
  }

  private lost(gen: number, reason: string): void {
    if (gen !== this.generation || this.stopped) return;
    this.generation++;
    this.ch = null;
    if (this.port) closePort(this.port);
    this.port = null;
    this.pollTimer?.cancel();
    this.pollTimer = null;
    this.tracker.smsReady = false;
    this.tracker.portReason = `${reason} (${this.o.path})`;
    this.log.error(this.tracker.portReason);
    this.update({ up: false, registered: false, signal: null, sim: 'unknown' });
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.stopped || this.reopenTimer) return;
    this.reopenTimer = this.o.clock.setTimer(this.o.reopenMs ?? 3000, () => {
      this.reopenTimer = null;
      void this.open();
    });
  }

  /**
   * The next poll: every `pollMs` once the SIM is ready and the modem registered; sooner (every
   * `reopenMs`) while it is not — a modem just powered up answers "no SIM yet" or nothing for a
   * few seconds, and must not wait a whole poll period to be usable.
   */
  private schedulePoll(gen: number, inMs = this.nextPollMs()): void {
    if (this.stopped || gen !== this.generation) return;
    this.pollTimer?.cancel();
    this.pollTimer = this.o.clock.setTimer(inMs, () => {
      this.pollTimer = null;
      void this.enqueue((c) => this.poll(c))
        .catch((err) => this.log.warn({ err: (err as Error).message }, 'modem poll failed'))
        .finally(() => this.schedulePoll(gen));
    });
  }

  private nextPollMs(): number {
    const every = this.o.pollMs ?? 30_000;
    const settled = this.tracker.current.sim === 'ready' && this.tracker.current.registered;
    return settled ? every : Math.min(every, this.o.reopenMs ?? 3000);
  }

  /** Runs `fn` alone on the port, after everything queued before it. */
  private enqueue<T>(fn: (ch: AtChannel) => Promise<T>): Promise<T> {
    const run = this.ops.then(() => {
      const ch = this.ch;
      if (!ch || ch.closed) throw new ModemError('modem_unavailable', this.tracker.current.reason ?? 'the modem is not connected');
      return fn(ch);
    });
    this.ops = run.catch(() => undefined);
    return run;
  }

  // ---- init and polls ----------------------------------------------------------------------------

  private async init(ch: AtChannel, gen: number): Promise<void> {
    this.tracker.holdAnnouncements();
    try {
      const at = this.commands.runner(ch);
      let alive = false;
      for (let i = 0; i < 3 && !alive; i++) alive = (await at.optional('AT', { timeoutMs: 1000 })) !== null;
      if (!alive) {
        ch.close('the modem does not answer AT (wrong port or baud rate?)');
        return;
      }
      this.tracker.portReason = '';
      this.update({ up: true });
      await at.optional('ATE0');
      await at.optional('AT+CMEE=1');
      this.tracker.smsReady = false;
      try {
        await this.poll(ch);
        this.schedulePoll(gen);
      } catch (err) {
        // A modem just powered up may not answer its SIM or network queries yet: ask again soon
        // (before: no poll was scheduled and the modem stayed unregistered until its next URC).
        this.schedulePoll(gen, this.o.reopenMs ?? 3000);
        throw err;
      }
    } finally {
      this.tracker.releaseAnnouncements();
    }
  }

  private async poll(ch: AtChannel): Promise<void> {
    const at = this.commands.runner(ch);
    const t = this.tracker;
    if (t.current.sim !== 'ready' || !t.smsReady) {
      const sim = await checkSim(at, this.o.pin, this.pinRejected);
      if (sim.pinRejected) this.pinRejected = true;
      t.simReason = sim.reason;
      if (sim.sim === 'ready') t.smsReady = await setupSms(at);
      else t.smsReady = false;
      this.update({ sim: sim.sim });
    }
    this.update(await readNetwork(at));
    if (t.smsReady) await sweepInbox(at, (pdu) => this.inbox.handle(pdu));
  }

  // ---- what the modem says by itself -----------------------------------------------------------------

  private onUrc(u: Urc): void {
    const bg = (what: string, fn: (ch: AtChannel) => Promise<void>) =>
      void this.enqueue(fn).catch((err) => this.log.warn({ err: (err as Error).message }, what));
    switch (u.kind) {
      case 'cmti':
      case 'cdsi':
        bg('reading a new message failed', (c) => readStored(this.commands.runner(c), u.index, (pdu) => this.inbox.handle(pdu)));
        break;
      case 'cmt':
      case 'cds':
        this.inbox.handle(u.pdu);
        break;
      case 'ring':
        this.emit('ring', {});
        break;
      case 'creg':
      case 'cereg':
        this.update({ registered: isRegistered(u.stat) });
        break;
      case 'other':
        if (u.line === 'RDY') {
          // The modem restarted by itself (power dip): echo back on, PIN and PDU mode lost.
          const gen = this.generation;
          bg('modem re-init failed', (c) => this.init(c, gen));
        } else if (/^SMS Ready$/i.test(u.line) && !this.tracker.smsReady && this.tracker.current.sim === 'ready') {
          bg('SMS set-up failed', (c) => this.poll(c));
        } else {
          this.log.debug({ line: u.line }, 'modem line ignored');
        }
        break;
      default:
        break; // call-end: read by the call in progress
    }
  }

  private update(patch: Partial<ModemStatus>): void {
    this.tracker.update(patch);
  }

  private nextRef(): number {
    this.concatRef = (this.concatRef + 1) & 0xff;
    return this.concatRef;
  }
}
