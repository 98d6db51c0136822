/** Opening and closing the modem's serial port (serialport 13, or any Duplex a test hands in). */
import { existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import type { Clock, TimerHandle } from '../core/clock.ts';

export type OpenModemPort = (path: string, baudRate: number) => Duplex;

/** 8N1, no flow control: what SIM800 / SIM7600 / EC2x use over USB and UART. */
export const openSerialPort: OpenModemPort = (path, baudRate) => new SerialPort({ path, baudRate });

/** Waits for a SerialPort's `open` (a plain Duplex is taken as open). */
export function waitOpen(port: Duplex, clock: Clock, timeoutMs = 10_000): Promise<void> {
  const sp = port as Duplex & { isOpen?: boolean };
  if (sp.isOpen !== false) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = clock.setTimer(timeoutMs, () => done(new Error('open timed out')));
    const onOpen = () => done(null);
    const onError = (err: Error) => done(err);
    function done(err: Error | null): void {
      timer.cancel();
      port.off('open', onOpen);
      port.off('error', onError);
      if (err) {
        closePort(port);
        reject(err);
      } else resolve();
    }
    port.once('open', onOpen);
    port.once('error', onError);
  });
}

export function closePort(port: Duplex): void {
  const sp = port as Duplex & { isOpen?: boolean; close?: (cb?: (err?: Error | null) => void) => void };
  try {
    if (sp.isOpen && typeof sp.close === 'function') sp.close(() => undefined);
    else port.destroy();
  } catch {
    // already gone
  }
}

/**
 * Watches that the modem's device node is still there (every `everyMs`, default 1 s) and calls
 * `onGone` once when it is not: a USB modem pulled out takes /dev/ttyUSB* with it. The serial
 * binding alone may never say so: on Linux a vanished tty can answer reads with 0 bytes, which
 * serialport's bindings-cpp retries for ever (issue #162) instead of closing the port — the hub
 * would notice only when a command times out. Only a path that exists when the watch starts is
 * watched (a test's stand-in port has none). Returns the function that stops the watch.
 */
export function watchPresence(path: string, clock: Clock, onGone: () => void, everyMs = 1000): () => void {
  if (!existsSync(path)) return () => undefined;
  let timer: TimerHandle | null = null;
  let stopped = false;
  const tick = () => {
    timer = null;
    if (stopped) return;
    if (!existsSync(path)) {
      stopped = true;
      onGone();
      return;
    }
    timer = clock.setTimer(everyMs, tick);
  };
  timer = clock.setTimer(everyMs, tick);
  return () => {
    stopped = true;
    timer?.cancel();
    timer = null;
  };
}
