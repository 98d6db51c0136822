/**
 * Joins the parts of concatenated SMS (TS 23.040 §9.2.3.24.1): keyed by sender, reference and
 * part count; parts may arrive in any order and more than once. Bounded: at most `maxMessages`
 * incomplete messages (the oldest is given up first) and each waits at most `timeoutMs` for its
 * missing parts; a message given up is returned with what arrived, marked `partial`. Pure: time
 * is passed in.
 */
import type { Concat } from './pdu.ts';

export interface SmsPart {
  from: string;
  text: string;
  concat?: Concat;
  /** When the SMSC received it (from the PDU), ms. */
  sentAt?: number;
}
export interface AssembledSms {
  from: string;
  text: string;
  /** When the hub had the whole message (or gave up waiting), ms. */
  at: number;
  sentAt?: number;
  parts: number;
  partial?: true;
}

interface Entry {
  from: string;
  total: number;
  texts: Map<number, string>;
  firstAt: number;
  sentAt?: number;
}

export class SmsReassembly {
  private readonly pending = new Map<string, Entry>();
  readonly maxMessages: number;
  readonly timeoutMs: number;

  constructor(opts: { maxMessages?: number; timeoutMs?: number } = {}) {
    this.maxMessages = opts.maxMessages ?? 64;
    this.timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Adds a part; returns the messages it completed (and any it pushed out of the buffer). */
  push(part: SmsPart, now: number): AssembledSms[] {
    const c = part.concat;
    if (!c || c.total <= 1) {
      return [{ from: part.from, text: part.text, at: now, ...(part.sentAt !== undefined ? { sentAt: part.sentAt } : {}), parts: 1 }];
    }
    const out: AssembledSms[] = [];
    const key = `${part.from}\u0000${c.refBits}:${c.ref}:${c.total}`;
    let e = this.pending.get(key);
    if (!e) {
      while (this.pending.size >= this.maxMessages) {
        const [oldKey, old] = this.pending.entries().next().value as [string, Entry];
        this.pending.delete(oldKey);
        out.push(this.assemble(old, now, true));
      }
      e = { from: part.from, total: c.total, texts: new Map(), firstAt: now };
      this.pending.set(key, e);
    }
    if (!e.texts.has(c.seq)) e.texts.set(c.seq, part.text);
    if (c.seq === 1 && part.sentAt !== undefined) e.sentAt = part.sentAt;
    if (e.texts.size === e.total) {
      this.pending.delete(key);
      out.push(this.assemble(e, now, false));
    }
    return out;
  }

  /** Gives up on messages that waited `timeoutMs` or more. */
  expire(now: number): AssembledSms[] {
    const out: AssembledSms[] = [];
    for (const [key, e] of this.pending) {
      if (now - e.firstAt < this.timeoutMs) continue;
      this.pending.delete(key);
      out.push(this.assemble(e, now, true));
    }
    return out;
  }

  /** When the oldest incomplete message times out, or null. */
  nextDeadline(): number | null {
    let min: number | null = null;
    for (const e of this.pending.values()) if (min === null || e.firstAt < min) min = e.firstAt;
    return min === null ? null : min + this.timeoutMs;
  }

  private assemble(e: Entry, now: number, partial: boolean): AssembledSms {
    const seqs = [...e.texts.keys()].sort((a, b) => a - b);
    const msg: AssembledSms = { from: e.from, text: seqs.map((s) => e.texts.get(s)!).join(''), at: now, parts: seqs.length };
    if (e.sentAt !== undefined) msg.sentAt = e.sentAt;
    if (partial) msg.partial = true;
    return msg;
  }
}
