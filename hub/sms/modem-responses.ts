/**
 * Parsers of the information responses the modem adapter reads (3GPP TS 27.007 / 27.005). Pure:
 * they take the intermediate lines of one command (URCs already removed by the AT channel).
 */

export type SimState = 'ready' | 'pin' | 'absent' | 'locked' | 'unknown';

/** `+CPIN: <code>` (TS 27.007 §8.3) → the code (`READY`, `SIM PIN`, `SIM PUK`, …) or null. */
export function parseCpin(lines: string[]): string | null {
  for (const l of lines) {
    const m = /^\+CPIN:\s*"?([^"]+?)"?\s*$/i.exec(l);
    if (m) return m[1]!.toUpperCase().replace(/_/g, '-');
  }
  return null;
}

export function simStateOfCode(code: string): SimState {
  if (code === 'READY') return 'ready';
  if (code === 'SIM PIN') return 'pin';
  return 'locked'; // SIM PUK, PH-SIM PIN, PH-NET PIN, SIM PIN2/PUK2 pending …
}

/** `+CME ERROR: <n>` to AT+CPIN? (TS 27.007 §9.2.1): 10 not inserted, 11 PIN, 12 PUK, 13 failure, 14 busy, 15 wrong. */
export function simStateOfCmeError(n: number | undefined): { sim: SimState; reason: string } {
  switch (n) {
    case 10:
      return { sim: 'absent', reason: 'no SIM card in the modem' };
    case 13:
    case 15:
      return { sim: 'absent', reason: `the SIM card failed (+CME ERROR: ${n})` };
    case 11:
      return { sim: 'pin', reason: 'the SIM needs its PIN' };
    case 12:
      return { sim: 'locked', reason: 'the SIM is locked: it needs its PUK' };
    case 14:
      return { sim: 'unknown', reason: 'the SIM is busy (starting)' };
    default:
      return { sim: 'unknown', reason: `SIM state unknown (+CME ERROR: ${n ?? '?'})` };
  }
}

/** `+CREG: <n>,<stat>[,…]` / `+CEREG: …` (TS 27.007 §7.2, §10.1.22) → stat, or null. */
export function parseRegistration(lines: string[], prefix: '+CREG:' | '+CEREG:'): number | null {
  for (const l of lines) {
    if (!l.toUpperCase().startsWith(prefix)) continue;
    const f = l
      .slice(prefix.length)
      .split(',')
      .map((s) => s.trim());
    const stat = Number(f.length >= 2 ? f[1] : f[0]);
    if (Number.isInteger(stat)) return stat;
  }
  return null;
}

/** 1 registered (home), 5 registered (roaming). */
export function isRegistered(stat: number | null): boolean {
  return stat === 1 || stat === 5;
}

/** `+CSQ: <rssi>,<ber>` (TS 27.007 §8.5) → rssi 0–31, or null for 99 (not known). */
export function parseCsq(lines: string[]): number | null {
  for (const l of lines) {
    const m = /^\+CSQ:\s*(\d+)\s*,/i.exec(l);
    if (m) {
      const v = Number(m[1]);
      return v >= 0 && v <= 31 ? v : null;
    }
  }
  return null;
}

export interface StoredMessage {
  /** Storage index (AT+CMGL); absent for AT+CMGR, whose index the caller knows. */
  index?: number;
  /** 0 received unread, 1 received read, 2 stored unsent, 3 stored sent (TS 27.005 §3.1). */
  stat: number;
  pdu: string;
}

/**
 * PDU-mode listing (TS 27.005 §3.4.2 / §3.4.3): `+CMGL: <index>,<stat>,[<alpha>],<length>` or
 * `+CMGR: <stat>,[<alpha>],<length>`, each followed by its PDU line.
 */
export function parseStoredList(lines: string[], prefix: '+CMGL:' | '+CMGR:'): StoredMessage[] {
  const out: StoredMessage[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.toUpperCase().startsWith(prefix)) continue;
    const f = l
      .slice(prefix.length)
      .split(',')
      .map((s) => s.trim());
    const pdu = lines[i + 1];
    if (pdu === undefined || !/^[0-9A-Fa-f]+$/.test(pdu)) continue;
    i++;
    if (prefix === '+CMGL:') out.push({ index: Number(f[0]), stat: Number(f[1]), pdu });
    else out.push({ stat: Number(f[0]), pdu });
  }
  return out;
}

export interface CurrentCall {
  id: number;
  /** 0 mobile originated, 1 mobile terminated. */
  dir: number;
  /** 0 active, 1 held, 2 dialing, 3 alerting, 4 incoming, 5 waiting, 6 disconnect (SIM800). */
  stat: number;
  /** 0 voice. */
  mode: number;
  number?: string;
}

/** `+CLCC: <id>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>…]` (TS 27.007 §7.18). */
export function parseClcc(lines: string[]): CurrentCall[] {
  const out: CurrentCall[] = [];
  for (const l of lines) {
    const m = /^\+CLCC:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)(?:\s*,\s*"([^"]*)")?/i.exec(l);
    if (!m) continue;
    const call: CurrentCall = { id: Number(m[1]), dir: Number(m[2]), stat: Number(m[3]), mode: Number(m[4]) };
    if (m[6] !== undefined) call.number = m[6];
    out.push(call);
  }
  return out;
}

/** `+CMGS: <mr>` (TS 27.005 §3.5.1). */
export function parseCmgs(lines: string[]): number | null {
  for (const l of lines) {
    const m = /^\+CMGS:\s*(\d+)/i.exec(l);
    if (m) return Number(m[1]);
  }
  return null;
}
