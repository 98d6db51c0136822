/** Opening and closing the modem's serial port (serialport 13, or any Duplex a test hands in). */
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import type { Clock } from '../core/clock.ts';

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
