/** A ManagedModem for extension tests: up as soon as started, started again after a stop, records what it sends. */
import { EventEmitter } from 'node:events';
import type { ModemStatus } from '../../hub/sms/gsm-modem.ts';
import type { ManagedModem } from '../../hub/sms/sms-extension.ts';

/** A modem that is up as soon as started, and can be started again after a stop. */
export class FakeModem extends EventEmitter implements ManagedModem {
  status: ModemStatus = { up: false, registered: false, signal: null, sim: 'unknown', reason: 'not started' };
  starts = 0;
  stops = 0;
  readonly sent: Array<{ to: string; text: string }> = [];
  async start(): Promise<void> {
    this.starts++;
    this.setStatus({ up: true, registered: true, signal: 20, sim: 'ready' });
  }
  async stop(): Promise<void> {
    this.stops++;
    this.setStatus({ up: false, registered: false, signal: null, sim: 'unknown', reason: 'stopped' });
  }
  async sendSms(to: string, text: string): Promise<{ parts: number; refs: number[] }> {
    if (!this.status.up) throw new Error('the port is closed');
    this.sent.push({ to, text });
    return { parts: 1, refs: [this.sent.length] };
  }
  async call(): Promise<'answered'> {
    return 'answered';
  }
  private setStatus(s: ModemStatus): void {
    this.status = s;
    this.emit('status', s);
  }
}
