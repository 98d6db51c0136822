/**
 * Serial line profile: a board running its own firmware (ESP32, ATmega, ...) speaking the ASCII
 * line protocol of docs/serial-protocol.md over serialport 13.
 *
 * - Every board line is answered: `OK`, or `ERR <reason> [detail]` (counted in
 *   `smokehub_bridge_serial_rejects_total{reason}`, logged once per reason with rate limiting).
 * - Lines are framed by our own bounded framer rather than @serialport/parser-readline, whose
 *   buffer grows without limit while no `\n` arrives (a board spewing binary at the wrong baud
 *   rate would eat the Pi's memory).
 * - A missing or busy device is reported with its path and retried; a cable pulled and plugged
 *   back is reopened without a restart, and a sounding alarm is re-sent to the board.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import type { SerialPortStream } from '@serialport/stream';
import type { BoardProfile, BoardProfileEvents, SoundRequest } from './board-profile.ts';
import {
  LineFramer,
  formatAlarm,
  formatError,
  formatOk,
  formatSilence,
  formatStandDown,
  formatTest,
  parseBoardLine,
  type SerialErrorReason,
} from './serial-line-protocol.ts';
import { RateLimitedLog } from '../hub/observability/rate-limited-log.ts';
import type { Clock, TimerHandle } from '../hub/core/clock.ts';
import type { Logger } from '../hub/observability/logger.ts';
import type { MetricsRegistry, Counter } from '../hub/observability/metrics.ts';

export type OpenSerialPort = (path: string, baudRate: number) => SerialPortStream;

export const openRealSerialPort: OpenSerialPort = (path, baudRate) => new SerialPort({ path, baudRate, autoOpen: false });

export interface SerialProfileOptions {
  path: string;
  baud?: number;
  logger: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
  /** Port factory (tests pass SerialPortMock). */
  openPort?: OpenSerialPort;
  /** First and largest delay between reopen attempts (default 1 s and 10 s). */
  reopenMs?: { initial: number; max: number };
  /** How long the board has to answer `TEST` with `EVENT test` before a `fault` is raised (default 10 s). */
  testTimeoutMs?: number;
}

/** Turns a serialport open error into a sentence naming the path. */
export function describeOpenError(path: string, err: Error): string {
  const m = err.message;
  if (/ENOENT|No such file or directory/i.test(m)) return `serial device ${path} not found (is the board plugged in?)`;
  if (/Cannot lock port|EBUSY|Resource temporarily unavailable|busy/i.test(m)) return `serial device ${path} is busy (another program has it open)`;
  if (/EACCES|Permission denied/i.test(m)) return `no permission to open serial device ${path} (add the user to the dialout group)`;
  return `cannot open serial device ${path}: ${m}`;
}

export class SerialProfile extends EventEmitter<BoardProfileEvents> implements BoardProfile {
  readonly name = 'serial';
  private port: SerialPortStream | null = null;
  private readonly framer = new LineFramer();
  private readonly log: Logger;
  private readonly rateLog: RateLimitedLog;
  private readonly rejects: Counter;
  private readonly linesTotal: Counter;
  private reopenTimer: TimerHandle | null = null;
  private testTimer: TimerHandle | null = null;
  private reopenAttempt = 0;
  private stopped = false;
  private sounding: SoundRequest | null = null;
  private lastOpenError = '';
  firmware: string | null = null;

  constructor(private readonly o: SerialProfileOptions) {
    super();
    this.log = o.logger.child({ module: 'serial', path: o.path });
    this.rateLog = new RateLimitedLog(this.log, o.clock, 60_000);
    this.rejects = o.metrics.counter('smokehub_bridge_serial_rejects_total', 'Serial lines refused by the bridge, by reason');
    this.linesTotal = o.metrics.counter('smokehub_bridge_serial_lines_total', 'Serial lines accepted from the board, by command');
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reopenTimer?.cancel();
    this.testTimer?.cancel();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  sound(req: SoundRequest): void {
    this.sounding = req;
    this.writeLine(formatAlarm(req.kind, req.origin));
  }

  standDown(alarm: string): void {
    if (this.sounding?.alarm === alarm) this.sounding = null;
    this.writeLine(formatStandDown(alarm));
  }

  silence(): void {
    this.sounding = null;
    this.writeLine(formatSilence());
  }

  test(): void {
    this.writeLine(formatTest());
    this.testTimer?.cancel();
    this.testTimer = this.o.clock.setTimer(this.o.testTimeoutMs ?? 10_000, () => {
      this.testTimer = null;
      this.log.error('the board did not answer TEST with EVENT test');
      this.emit('event', 'fault', undefined);
    });
  }

  private open(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const port = (this.o.openPort ?? openRealSerialPort)(this.o.path, this.o.baud ?? 9600);
    this.port = port;
    return new Promise<void>((resolve) => {
      port.open((err) => {
        if (err) {
          const message = describeOpenError(this.o.path, err);
          // Said once per distinct reason, not at every retry.
          if (message !== this.lastOpenError) this.log.error({ err: err.message }, message);
          this.lastOpenError = message;
          this.port = null;
          this.emit('down', message);
          this.scheduleReopen();
          resolve();
          return;
        }
        this.lastOpenError = '';
        this.reopenAttempt = 0;
        this.framer.reset();
        this.log.info({ baud: this.o.baud ?? 9600 }, 'serial port open');
        port.on('data', (chunk: Buffer) => this.onData(chunk));
        port.on('close', () => this.onClosed(port, 'serial port closed (cable pulled?)'));
        port.on('error', (e: Error) => this.onClosed(port, `serial port error: ${e.message}`));
        this.emit('up', `serial ${this.o.path}`);
        // The board may have kept sounding state across our absence, or lost it: say it again.
        if (this.sounding) this.writeLine(formatAlarm(this.sounding.kind, this.sounding.origin));
        resolve();
      });
    });
  }

  private onClosed(port: SerialPortStream, reason: string): void {
    if (this.port !== port) return;
    this.port = null;
    if (this.stopped) return;
    this.log.error(reason);
    this.emit('down', `${reason}: ${this.o.path}`);
    if (port.isOpen) port.close(() => undefined);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.stopped || this.reopenTimer) return;
    const r = this.o.reopenMs ?? { initial: 1000, max: 10_000 };
    const delay = Math.min(r.max, r.initial * 2 ** Math.min(this.reopenAttempt++, 20));
    this.reopenTimer = this.o.clock.setTimer(delay, () => {
      this.reopenTimer = null;
      void this.open();
    });
  }

  private onData(chunk: Buffer): void {
    for (const framed of this.framer.push(chunk)) {
      if (!framed.ok) {
        this.reject(framed.reason, undefined, `${chunk.length} bytes`);
        continue;
      }
      const parsed = parseBoardLine(framed.text, this.o.clock.now());
      if (!parsed.ok) {
        this.reject(parsed.reason, parsed.detail, framed.text);
        continue;
      }
      const line = parsed.line;
      this.linesTotal.inc({ command: line.kind });
      switch (line.kind) {
        case 'hello':
          this.firmware = line.firmware;
          this.log.info({ firmware: line.firmware }, 'board said hello');
          this.writeLine(formatOk());
          this.emit('up', `firmware ${line.firmware}`);
          // A HELLO means the board (re)booted: it forgot what it was sounding.
          if (this.sounding) this.writeLine(formatAlarm(this.sounding.kind, this.sounding.origin));
          break;
        case 'event':
          if (line.type === 'test') {
            this.testTimer?.cancel();
            this.testTimer = null;
          }
          // Emitted first: the listener writes it to the outbox (on disk) before the board hears OK.
          this.emit('event', line.type, line.level);
          this.writeLine(formatOk());
          break;
        case 'telemetry':
          this.emit('telemetry', line.values);
          if (line.rejected.length > 0) {
            const first = line.rejected[0]!;
            this.reject(first.reason, first.key, framed.text);
          } else {
            this.writeLine(formatOk());
          }
          break;
      }
    }
  }

  private reject(reason: SerialErrorReason, detail: string | undefined, sample: string): void {
    this.rejects.inc({ reason });
    this.rateLog.warn(`serial-${reason}`, { reason, detail, sample: sample.slice(0, 40) }, `refused a line from the board: ${reason}`);
    this.writeLine(formatError(reason, detail));
  }

  private writeLine(line: string): void {
    const port = this.port;
    if (!port?.isOpen) {
      this.log.debug({ line }, 'serial port closed; line not written');
      return;
    }
    port.write(`${line}\n`, (err) => {
      if (err) this.rateLog.warn('serial-write', { err: err.message }, 'could not write to the board');
    });
  }
}
