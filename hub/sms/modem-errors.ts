/**
 * Errors of the GSM modem adapter, with stable codes for the caller's queue:
 * - `modem_unavailable`: no usable modem (port closed or unplugged, SIM not ready, not registered)
 *   — retry later or on another modem;
 * - `modem_error`: the modem refused (`ERROR`, `+CMS ERROR: n`, `+CME ERROR: n`; `cms`/`cme` say n);
 * - `modem_timeout`: no final answer in time;
 * - `bad_request`: the number or text cannot be sent at all — retrying will not help.
 * `maybeSent` is true when the PDU of some part had been handed over before the failure (the
 * message may have gone out); `partsSent` counts the parts the modem confirmed.
 */
import { AtError } from './at-channel.ts';

export type ModemErrorCode = 'modem_unavailable' | 'modem_error' | 'modem_timeout' | 'bad_request';

export class ModemError extends Error {
  readonly code: ModemErrorCode;
  readonly cms?: number;
  readonly cme?: number;
  readonly partsSent: number;
  readonly maybeSent: boolean;
  readonly retryable: boolean;
  constructor(code: ModemErrorCode, message: string, extra: { cms?: number; cme?: number; partsSent?: number; maybeSent?: boolean } = {}) {
    super(message);
    this.name = 'ModemError';
    this.code = code;
    if (extra.cms !== undefined) this.cms = extra.cms;
    if (extra.cme !== undefined) this.cme = extra.cme;
    this.partsSent = extra.partsSent ?? 0;
    this.maybeSent = extra.maybeSent ?? false;
    this.retryable = code !== 'bad_request';
  }
}

/** The ModemError for what a command rejected with, after `partsSent` of `total` parts went. */
export function modemErrorOf(err: unknown, partsSent: number, total: number): ModemError {
  if (err instanceof ModemError) return err;
  if (!(err instanceof AtError)) return new ModemError('modem_error', (err as Error).message, { partsSent });
  const extra = { partsSent, maybeSent: err.payloadSent || partsSent > 0 };
  const msg = total > 1 ? `${err.message} (part ${partsSent + 1} of ${total})` : err.message;
  if (err.kind === 'closed') return new ModemError('modem_unavailable', msg, extra);
  if (err.kind === 'timeout') return new ModemError('modem_timeout', msg, extra);
  if (err.kind === 'cms') return new ModemError('modem_error', msg, { ...extra, cms: err.errorCode! });
  if (err.kind === 'cme') return new ModemError('modem_error', msg, { ...extra, cme: err.errorCode! });
  return new ModemError('modem_error', msg, extra);
}
