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
