/**
 * Firmata profile: johnny-five drives a board running StandardFirmata, through firmata-io over
 * serialport 13 (johnny-five's optional `firmata` → serialport 8 native build is not needed).
 *
 * Wiring (defaults, all configurable): smoke sensor (MQ-2 analog out) on A0, alarm at a
 * threshold with hysteresis; a push button on pin 2 to ground (internal pull-up, debounced by
 * johnny-five) — press = panic when quiet, silence/hush while sounding, hold = panic always;
 * an active piezo buzzer on pin 3 playing the T3 pattern; the status LED on pin 13 mirrors it;
 * optionally a TMP36 temperature sensor on an analog pin.
 *
 * `fault` is raised (via `down`) when the board stops answering: no analog report within the
 * watchdog window (StandardFirmata reports analog pins continuously), or the port closed.
 * The port is reopened on its own, without a restart.
 */
import { EventEmitter } from 'node:events';
import five from 'johnny-five';
import firmataIo from 'firmata-io';
import { SerialPort } from 'serialport';
import type { BoardProfile, BoardProfileEvents, SoundRequest } from './board-profile.ts';
import { PatternPlayer } from './t3-pattern.ts';
import { SmokeThreshold } from './smoke-threshold.ts';
import { describeOpenError } from './serial-profile.ts';
import type { Clock, TimerHandle } from '../hub/core/clock.ts';
import type { Logger } from '../hub/observability/logger.ts';
import type { MetricsRegistry } from '../hub/observability/metrics.ts';
import { TELEMETRY_FIELDS } from '../hub/protocol/schema.ts';

/** The parts of a Firmata IO object (firmata-io, mock-firmata) the profile uses. */
export interface FirmataIo extends EventEmitter {
  MODES: { INPUT: number; OUTPUT: number; ANALOG: number };
  isReady?: boolean;
  pinMode(pin: number, mode: number): void;
  digitalWrite(pin: number, value: number): void;
  analogRead(pin: number, cb: (value: number) => void): void;
  transport?: { isOpen?: boolean; close?: (cb?: (err?: Error | null) => void) => void };
}

export type OpenFirmataIo = (path: string, baud: number) => FirmataIo;

export const openRealFirmataIo: OpenFirmataIo = (path, baud) => {
  const port = new SerialPort({ path, baudRate: baud });
  return new firmataIo.Firmata(port, { reportVersionTimeout: 5000 }) as unknown as FirmataIo;
};

export interface FirmataSettings {
  path: string;
  baud: number;
  /** Analog pin of the smoke sensor, e.g. `A0`. */
  smokePin: string;
  smokeThreshold: number;
  smokeHysteresis: number;
  buttonPin: number;
  holdMs: number;
  piezoPin: number;
  ledPin: number;
  /** Analog pin of a TMP36, or null when none is wired. */
  temperaturePin: string | null;
  telemetryIntervalMs: number;
  /** No analog report for this long → the board stopped answering. */
  watchdogMs: number;
}

export const DEFAULT_FIRMATA: Omit<FirmataSettings, 'path'> = {
  baud: 57600,
  smokePin: 'A0',
  smokeThreshold: 400,
  smokeHysteresis: 50,
  buttonPin: 2,
  holdMs: 3000,
  piezoPin: 3,
  ledPin: 13,
  temperaturePin: null,
  telemetryIntervalMs: 60_000,
  watchdogMs: 5000,
};

/** `A0` → analog channel 0. */
export function analogChannel(pin: string): number {
  const m = /^A(\d{1,2})$/i.exec(pin.trim());
  if (!m) throw new RangeError(`analog pin must look like A0..A15, got "${pin}"`);
  return Number(m[1]);
}

/** TMP36: 10 mV/°C with a 500 mV offset, on a 10-bit ADC at 5 V. */
export function tmp36Celsius(raw: number): number {
  return Math.round((((raw * 5000) / 1023 - 500) / 10) * 10) / 10;
}

export interface FirmataProfileOptions extends FirmataSettings {
  logger: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
  openIo?: OpenFirmataIo;
  /** How long the board may take to become ready after opening (default 15 s). */
  readyTimeoutMs?: number;
}

export class FirmataProfile extends EventEmitter<BoardProfileEvents> implements BoardProfile {
  readonly name = 'firmata';
  private io: FirmataIo | null = null;
  private board: five.Board | null = null;
  private led: five.Led | null = null;
  private readonly sounder: PatternPlayer;
  private readonly detector: SmokeThreshold;
  private readonly log: Logger;
  private stopped = false;
  private sounding = false;
  private alive = false;
  private lastSmoke: number | null = null;
  private lastTemperature: number | null = null;
  private lastReportAt = 0;
  private watchdog: TimerHandle | null = null;
  private telemetryTimer: TimerHandle | null = null;
  private reopenTimer: TimerHandle | null = null;
  private readyTimer: TimerHandle | null = null;
  private reopenAttempt = 0;
  private held = false;
  private generation = 0;

  constructor(private readonly o: FirmataProfileOptions) {
    super();
    this.log = o.logger.child({ module: 'firmata', path: o.path });
    analogChannel(o.smokePin);
    if (o.temperaturePin) analogChannel(o.temperaturePin);
    this.detector = new SmokeThreshold({ threshold: o.smokeThreshold, hysteresis: o.smokeHysteresis, confirmSamples: 3 });
    this.sounder = new PatternPlayer(o.clock, (on) => this.writeSounder(on));
  }

  /** The current smoke reading (raw ADC units). */
  get smokeLevel(): number | null {
    return this.lastSmoke;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.watchdog, this.telemetryTimer, this.reopenTimer, this.readyTimer]) t?.cancel();
    if (this.alive) this.sounder.stop();
    this.teardown();
  }

  sound(req: SoundRequest): void {
    this.log.warn({ alarm: req.alarm, origin: req.origin }, 'sounding T3');
    this.sounding = true;
    this.sounder.play();
  }

  standDown(alarm: string): void {
    this.log.info({ alarm }, 'stand-down');
  }

  silence(): void {
    this.sounding = false;
    this.sounder.stop();
  }

  test(): void {
    // One T3 cycle proves the sounder; the reading proves the sensor and the board.
    if (this.sounding) {
      this.emit('event', 'test', this.lastSmoke ?? undefined);
      return;
    }
    this.sounder.play(1, () => {
      if (this.alive) this.emit('event', 'test', this.lastSmoke ?? undefined);
      else this.emit('event', 'fault', undefined);
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    let io: FirmataIo;
    try {
      io = (this.o.openIo ?? openRealFirmataIo)(this.o.path, this.o.baud);
    } catch (err) {
      this.fail(gen, describeOpenError(this.o.path, err as Error));
      return;
    }
    this.io = io;
    io.on('error', (err: Error) => this.fail(gen, describeOpenError(this.o.path, err)));
    io.on('close', () => this.fail(gen, `serial port ${this.o.path} closed (cable pulled?)`));
    io.on('disconnect', () => this.fail(gen, `board on ${this.o.path} disconnected`));
    this.readyTimer = this.o.clock.setTimer(this.o.readyTimeoutMs ?? 15_000, () => {
      this.readyTimer = null;
      if (gen === this.generation && !this.board?.isReady) this.fail(gen, `board on ${this.o.path} did not answer (is StandardFirmata flashed?)`);
    });
    const board = new five.Board({ io, repl: false, debug: false, sigint: false } as five.BoardOption);
    this.board = board;
    board.on('error', (err: Error) => this.fail(gen, `board error on ${this.o.path}: ${err.message}`));
    board.on('ready', () => {
      if (gen !== this.generation) return;
      this.readyTimer?.cancel();
      this.readyTimer = null;
      this.onReady(io, board, gen);
    });
  }

  private onReady(io: FirmataIo, board: five.Board, gen: number): void {
    this.reopenAttempt = 0;
    this.log.info('board ready');
    io.analogRead(analogChannel(this.o.smokePin), (raw) => {
      if (gen !== this.generation) return;
      this.onSmokeReading(raw);
    });
    if (this.o.temperaturePin) {
      io.analogRead(analogChannel(this.o.temperaturePin), (raw) => {
        if (gen !== this.generation) return;
        const c = tmp36Celsius(raw);
        if (c >= TELEMETRY_FIELDS.temperature.min && c <= TELEMETRY_FIELDS.temperature.max) this.lastTemperature = c;
      });
    }
    io.pinMode(this.o.piezoPin, io.MODES.OUTPUT);
    io.digitalWrite(this.o.piezoPin, 0);
    this.led = new five.Led({ pin: this.o.ledPin, board } as five.LedOption);
    const button = new five.Button({ pin: this.o.buttonPin, isPullup: true, holdtime: this.o.holdMs, board } as five.ButtonOption);
    button.on('press', () => {
      if (gen !== this.generation) return;
      this.held = false;
      this.emit('press');
    });
    button.on('hold', () => {
      if (gen !== this.generation || this.held) return;
      this.held = true;
      this.emit('hold');
    });
    this.lastReportAt = this.o.clock.now();
    this.armWatchdog(gen);
    this.scheduleTelemetry(gen);
    if (this.sounding) this.sounder.play();
  }

  private onSmokeReading(raw: number): void {
    this.lastSmoke = raw;
    this.lastReportAt = this.o.clock.now();
    if (!this.alive) {
      this.alive = true;
      this.emit('up', `firmata ${this.o.path}`);
    }
    const change = this.detector.sample(raw);
    if (change) this.emit('event', change, raw);
  }

  private armWatchdog(gen: number): void {
    this.watchdog?.cancel();
    const check = () => {
      if (gen !== this.generation || this.stopped) return;
      const silentFor = this.o.clock.now() - this.lastReportAt;
      if (silentFor >= this.o.watchdogMs) {
        if (this.alive) {
          this.alive = false;
          this.log.error({ silentForMs: silentFor }, 'board stopped answering');
          this.emit('down', `board on ${this.o.path} stopped answering`);
        }
      }
      this.watchdog = this.o.clock.setTimer(Math.max(250, Math.floor(this.o.watchdogMs / 2)), check);
    };
    this.watchdog = this.o.clock.setTimer(this.o.watchdogMs, check);
  }

  private scheduleTelemetry(gen: number): void {
    this.telemetryTimer?.cancel();
    this.telemetryTimer = this.o.clock.setTimer(this.o.telemetryIntervalMs, () => {
      if (gen !== this.generation || this.stopped) return;
      if (this.alive && this.lastSmoke !== null) {
        const values: { smoke: number; temperature?: number } = { smoke: this.lastSmoke };
        if (this.lastTemperature !== null) values.temperature = this.lastTemperature;
        this.emit('telemetry', values);
      }
      this.scheduleTelemetry(gen);
    });
  }

  private fail(gen: number, reason: string): void {
    if (gen !== this.generation || this.stopped) return;
    this.generation++;
    this.log.error(reason);
    this.alive = false;
    this.emit('down', reason);
    this.teardown();
    const delay = Math.min(10_000, 1000 * 2 ** Math.min(this.reopenAttempt++, 10));
    this.reopenTimer?.cancel();
    this.reopenTimer = this.o.clock.setTimer(delay, () => {
      this.reopenTimer = null;
      this.connect();
    });
  }

  private teardown(): void {
    this.watchdog?.cancel();
    this.telemetryTimer?.cancel();
    this.readyTimer?.cancel();
    const io = this.io;
    this.io = null;
    this.board = null;
    this.led = null;
    const transport = io?.transport;
    if (transport?.isOpen && typeof transport.close === 'function') transport.close(() => undefined);
  }

  private writeSounder(on: boolean): void {
    const io = this.io;
    if (!io || !this.board?.isReady) return;
    io.digitalWrite(this.o.piezoPin, on ? 1 : 0);
    if (on) this.led?.on();
    else this.led?.off();
  }
}
