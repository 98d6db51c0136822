/** Minimal types for untyped dependencies the bridge uses. */
declare module 'firmata-io' {
  import type { EventEmitter } from 'node:events';
  class Firmata extends EventEmitter {
    constructor(transport: unknown, options?: Record<string, unknown>, callback?: (err?: Error) => void);
    isReady: boolean;
  }
  interface FirmataIoModule {
    (transport: unknown): typeof Firmata;
    Firmata: typeof Firmata;
  }
  const bindTransport: FirmataIoModule;
  export default bindTransport;
}

declare module 'mock-firmata' {
  import type { EventEmitter } from 'node:events';
  class MockFirmata extends EventEmitter {
    constructor(opts?: Record<string, unknown>);
    MODES: { INPUT: number; OUTPUT: number; ANALOG: number };
    isReady: boolean;
    pinMode(pin: number, mode: number): void;
    digitalWrite(pin: number, value: number): void;
    analogRead(pin: number, cb: (value: number) => void): void;
    digitalRead(pin: number, cb: (value: number) => void): void;
  }
  const mock: { Firmata: typeof MockFirmata };
  export default mock;
}
