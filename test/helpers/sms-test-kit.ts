/** Shared helpers of the SMS tests: a fake modem stream, polling with a deadline. */
import { Duplex } from 'node:stream';

/** The hub's side of a serial line: `written` is what the hub wrote, `reply()` is the modem talking. */
export class FakeModemStream extends Duplex {
  readonly written: string[] = [];
  private waiters: Array<{ test: (s: string) => boolean; resolve: (s: string) => void }> = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const s = chunk.toString('latin1');
    this.written.push(s);
    this.waiters = this.waiters.filter((w) => (w.test(s) ? (w.resolve(s), false) : true));
    cb();
  }
  override _read(): void {}

  reply(s: string): void {
    this.push(Buffer.from(s, 'latin1'));
  }

  /** Resolves with the next write matching `test` (or one already written). */
  nextWrite(test: (s: string) => boolean): Promise<string> {
    const seen = this.written.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

/** Lets the streams deliver what was pushed (a few turns of the event loop). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

export async function waitFor<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
