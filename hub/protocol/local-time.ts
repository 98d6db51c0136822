/**
 * Calendar dates in a timezone (pure, Intl only, browser-safe: the hub and the dashboard share it): the local date of an instant, the [start, end)
 * instants of a local day, and whole-day arithmetic on `YYYY-MM-DD` strings.
 */
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 24 * 3600 * 1000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timezone, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Wall-clock parts of an instant in a timezone. */
export function localParts(ms: number, timezone: string): LocalParts {
  const out: Record<string, number> = {};
  for (const p of partsFormatter(timezone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

/** Offset of the timezone from UTC at an instant, in ms (Asia/Ho_Chi_Minh: +7 h). */
export function offsetMs(ms: number, timezone: string): number {
  const p = localParts(ms, timezone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The local calendar date (`YYYY-MM-DD`) of an instant. */
export function localDate(ms: number, timezone: string): string {
  const p = localParts(ms, timezone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

/** `YYYY-MM-DD HH:MM:SS` of an instant in a timezone (tables, reports). */
export function localDateTime(ms: number, timezone: string): string {
  const p = localParts(ms, timezone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** True for a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** The instant a local wall-clock time happens (the earlier one when a DST change repeats it). */
export function localToInstant(date: string, timezone: string, hour = 0, minute = 0): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const guess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), hour, minute);
  let t = guess - offsetMs(guess, timezone);
  // A second pass settles offsets that differ on both sides of a DST change.
  t = guess - offsetMs(t, timezone);
  return t;
}

/** [start, end) of a local day, in ms. */
export function localDayBounds(date: string, timezone: string): { start: number; end: number } {
  return { start: localToInstant(date, timezone), end: localToInstant(addDays(date, 1), timezone) };
}

/** `date` plus `days` calendar days. */
export function addDays(date: string, days: number): string {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const t = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + days * DAY_MS);
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** Whole days from `a` to `b` (negative when b is earlier). */
export function daysBetween(a: string, b: string): number {
  const pa = DATE_RE.exec(a);
  const pb = DATE_RE.exec(b);
  if (!pa || !pb) throw new RangeError('not YYYY-MM-DD dates');
  return Math.round((Date.UTC(Number(pb[1]), Number(pb[2]) - 1, Number(pb[3])) - Date.UTC(Number(pa[1]), Number(pa[2]) - 1, Number(pa[3]))) / DAY_MS);
}
