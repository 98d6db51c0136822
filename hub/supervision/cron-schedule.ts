/**
 * Cron expressions with a timezone (node-cron 4.6 semantics): validation with a clear ConfigError,
 * the next scheduled time, and the previous one (node-cron has no such query; a job missed while
 * the hub was off is found by comparing its last run with the previous scheduled time).
 */
import { createTask, validateDetailed, type ScheduledTask } from 'node-cron';
import { ConfigError } from '../protocol/errors.ts';
import { localParts, localToInstant, type LocalParts } from '../protocol/local-time.ts';
import { isValidTimezone } from '../config/config.ts';

export class CronSchedule {
  private readonly matcher: ScheduledTask;
  private readonly seconds: number[];
  private readonly minutes: Set<number>;
  private readonly minuteList: number[];
  private readonly hours: Set<number>;
  private readonly months: Set<number>;
  /** Plain day-of-month / day-of-week numbers (null when the field has L, W or # tokens). */
  private readonly days: Set<number> | null;
  private readonly weekdays: Set<number> | null;

  /** Throws ConfigError naming `what` when the expression or the timezone is not valid. */
  constructor(
    readonly what: string,
    readonly expression: string,
    readonly timezone: string,
  ) {
    if (typeof timezone !== 'string' || !isValidTimezone(timezone)) {
      throw new ConfigError(`${what}: "${timezone}" is not a known timezone (use an IANA name such as Asia/Ho_Chi_Minh)`);
    }
    const v = validateDetailed(expression);
    if (!v.valid || !v.fields) {
      const why = v.errors.map((e) => e.message).join('; ');
      throw new ConfigError(`${what}: "${expression}" is not a valid cron expression (${why}); expected 5 or 6 fields, e.g. "0 9 * * 0"`);
    }
    this.seconds = [...v.fields.second].sort((a, b) => b - a);
    this.minutes = new Set(v.fields.minute);
    this.minuteList = [...this.minutes].sort((a, b) => a - b);
    this.hours = new Set(v.fields.hour);
    this.months = new Set(v.fields.month);
    const dom = v.fields.dayOfMonth;
    const dow = v.fields.dayOfWeek;
    this.days = dom.every((x) => typeof x === 'number') ? new Set(dom as number[]) : null;
    this.weekdays = dow.every((x) => typeof x === 'number') ? new Set((dow as number[]).map((x) => x % 7)) : null;
    // A stopped task, used only for node-cron's own matching (day-of-month/day-of-week tokens).
    this.matcher = createTask(expression, () => undefined, { timezone, name: `${what}:matcher` });
    void this.matcher.destroy();
  }

  matches(ms: number): boolean {
    return this.matcher.match(new Date(ms));
  }

  /** False when the local day certainly has no scheduled time (a quick pre-check; tokens defer to node-cron). */
  private dayMayMatch(p: LocalParts): boolean {
    if (!this.months.has(p.month)) return false;
    if (this.days && !this.days.has(p.day)) return false;
    if (this.weekdays && !this.weekdays.has(new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay())) return false;
    return true;
  }

  private static dateOf(p: LocalParts): string {
    return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
  }

  /** The next scheduled instant strictly after `after` (within ~13 months). */
  next(after: number): number | null {
    const limit = after + 400 * 24 * 3600 * 1000;
    let t = Math.floor(after / 60000) * 60000;
    while (t <= limit) {
      const p = localParts(t, this.timezone);
      if (!this.dayMayMatch(p)) {
        // The first minute of the next local day.
        const nextDay = new Date(Date.UTC(p.year, p.month - 1, p.day + 1));
        const next = localToInstant(nextDay.toISOString().slice(0, 10), this.timezone);
        t = next > t ? next : t + 60000;
        continue;
      }
      if (!this.hours.has(p.hour)) {
        t += (60 - p.minute) * 60000;
        continue;
      }
      if (this.minutes.has(p.minute)) {
        for (let i = this.seconds.length - 1; i >= 0; i--) {
          const cand = t + this.seconds[i]! * 1000;
          if (cand > after && this.matches(cand)) return cand;
        }
      }
      const m = this.minuteList.find((x) => x > p.minute);
      t += (m === undefined ? 60 - p.minute : m - p.minute) * 60000;
    }
    return null;
  }

  /** The latest scheduled instant at or before `now`, looking back at most `lookbackMs`. */
  previous(now: number, lookbackMs: number): number | null {
    const floor = now - lookbackMs;
    let t = Math.floor(now / 60000) * 60000;
    while (t >= floor - 60000) {
      const p = localParts(t, this.timezone);
      if (!this.dayMayMatch(p)) {
        // The last minute of the previous local day.
        const start = localToInstant(CronSchedule.dateOf(p), this.timezone);
        t = start - 60000 < t ? start - 60000 : t - 60000;
        continue;
      }
      if (!this.hours.has(p.hour)) {
        t -= (p.minute + 1) * 60000;
        continue;
      }
      if (this.minutes.has(p.minute)) {
        for (const s of this.seconds) {
          const cand = t + s * 1000;
          if (cand <= now && cand >= floor && this.matches(cand)) return cand;
        }
      }
      let m: number | undefined;
      for (const x of this.minuteList) if (x < p.minute) m = x;
      t -= (m === undefined ? p.minute + 1 : p.minute - m) * 60000;
    }
    return null;
  }
}
