/**
 * AT commands on the modem's channel, watching for a modem that stopped answering: two timeouts
 * in a row (on any command, across reopens) close the channel, and the adapter reopens the port.
 */
import { AtError, type AtChannel, type AtResult, type CommandOptions } from './at-channel.ts';
import type { AtRunner } from './modem-setup.ts';
import type { Logger } from '../observability/logger.ts';

export class ModemCommands {
  private timeouts = 0;

  constructor(private readonly log: Logger) {}

  /** A command; a modem that stops answering (two timeouts in a row) is closed and reopened. */
  async send(ch: AtChannel, cmd: string, opts: CommandOptions = {}): Promise<AtResult> {
    try {
      const r = await ch.send(cmd, opts);
      this.timeouts = 0;
      return r;
    } catch (err) {
      const timeout = err instanceof AtError && err.kind === 'timeout';
      this.timeouts = timeout ? this.timeouts + 1 : 0;
      if (timeout && this.timeouts >= 2) {
        this.timeouts = 0;
        ch.close('the modem stopped answering');
      }
      throw err;
    }
  }

  /** The set-up steps' view of `ch`: commands that must succeed, and optional ones (null when refused). */
  runner(ch: AtChannel): AtRunner {
    return {
      send: (cmd, opts) => this.send(ch, cmd, opts),
      optional: async (cmd, opts) => {
        try {
          return await this.send(ch, cmd, opts);
        } catch (err) {
          if (err instanceof AtError && err.kind === 'closed') throw err;
          this.log.debug({ cmd, err: (err as Error).message }, 'optional modem command refused');
          return null;
        }
      },
    };
  }
}
