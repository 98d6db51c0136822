/** Formatting of times, durations, distances and states for display. Pure but for the hub's time zone (set once at login). */
import { LOCALES, translate, type Lang, type MsgKey } from './i18n.ts';
import { offsetMs } from '../../hub/protocol/local-time.ts';
import type { AlarmState, Responder, ResponseKind } from '../../hub/protocol/schema.ts';

/** The hub's default zone (hub/config/hub-settings.ts); the hub tells its configured one in /api/me. */
export const DEFAULT_TIMEZONE = 'Asia/Ho_Chi_Minh';
let zone = DEFAULT_TIMEZONE;
const formatters = new Map<string, Intl.DateTimeFormat>();

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
/** Every date and time the dashboard shows is in this zone: the hub's, whatever the browser's. */
export function setTimeZone(tz: string | null | undefined): void {
  const next = tz && validZone(tz) ? tz : DEFAULT_TIMEZONE;
  if (next === zone) return;
  zone = next;
  formatters.clear();
}
export function timeZone(): string {
  return zone;
}

const DATE: Intl.DateTimeFormatOptions = { day: '2-digit', month: '2-digit', year: 'numeric' };
const CLOCK: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
const HM: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };

/** The one factory: the language's locale (vi-VN, en-GB), the hub's zone, a 24-hour clock. */
export function dateTimeFormat(lang: Lang, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${lang}|${zone}|${JSON.stringify(opts)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALES[lang], { ...opts, timeZone: zone });
    formatters.set(key, f);
  }
  return f;
}

/** Date and time: "21:05:03 30/11/2026" (vi), "30/11/2026, 21:05:03" (en). */
export function formatTime(lang: Lang, ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms <= 0) return translate(lang, 'common.never');
  return dateTimeFormat(lang, { ...DATE, ...CLOCK }).format(new Date(ms));
}
/** "21:05:03". */
export function formatClock(lang: Lang, ms: number): string {
  return dateTimeFormat(lang, CLOCK).format(new Date(ms));
}
/** "30/11/2026". */
export function formatDate(lang: Lang, ms: number): string {
  return dateTimeFormat(lang, DATE).format(new Date(ms));
}
/** A calendar day (YYYY-MM-DD, as the hub writes expiry dates) as the language writes dates: "31/03/2027"; anything else unchanged. */
export function formatDay(lang: Lang, iso: unknown): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  return m ? formatDate(lang, zonedEpoch(Number(m[1]), Number(m[2]), Number(m[3]), 12)) : String(iso);
}
/** "21:05". */
export function formatHourMinute(lang: Lang, ms: number): string {
  return dateTimeFormat(lang, HM).format(new Date(ms));
}
/** The zone, named where a time could be doubted: "Asia/Ho_Chi_Minh (GMT+7)". */
export function zoneLabel(lang: Lang, at: number = Date.now()): string {
  const offset = dateTimeFormat(lang, { timeZoneName: 'shortOffset' })
    .formatToParts(new Date(at))
    .find((p) => p.type === 'timeZoneName')?.value;
  return offset ? `${zone} (${offset})` : zone;
}

/** Chart time axis labels: hours and minutes within a day or two, the date at midnight and over longer spans. */
export function axisLabels(lang: Lang, splitsMs: readonly number[], spanMs: number): string[] {
  const dm = dateTimeFormat(lang, { day: '2-digit', month: '2-digit' });
  // dd/mm in both languages (vi-VN alone would write 01-12).
  const day = (ms: number) => {
    const parts = dm.formatToParts(new Date(ms));
    return `${parts.find((p) => p.type === 'day')?.value}/${parts.find((p) => p.type === 'month')?.value}`;
  };
  return splitsMs.map((ms) => {
    const hm = formatHourMinute(lang, ms);
    if (spanMs > 3 * 24 * 3600_000) return day(ms);
    return hm === '00:00' ? `${hm}\n${day(ms)}` : hm;
  });
}

/** The instant of a wall-clock time in the hub's zone. */
export function zonedEpoch(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, msPart = 0, tz: string = zone): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s, msPart);
  let t = guess - offsetMs(guess, tz);
  t = guess - offsetMs(t, tz);
  return t;
}

/** Typed dates and times are dd/mm/yyyy and HH:mm (24 h) in both languages, in the hub's zone. */
export const DATE_PATTERN = '\\d{1,2}/\\d{1,2}/\\d{4}';
export const DATE_TIME_PATTERN = '\\d{1,2}/\\d{1,2}/\\d{4} \\d{1,2}:\\d{2}';

/** "30/11/2026" → its day's parts; null when it is not a real date. */
export function parseDayInput(s: string): { y: number; m: number; d: number } | null {
  const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(s);
  if (!m) return null;
  const d = Number(m[1]);
  const mo = Number(m[2]);
  const y = Number(m[3]);
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return { y, m: mo, d };
}
/** Start (00:00:00.000) or end (23:59:59.999) of a typed day in the hub's zone; null for no/bad input. */
export function dayBound(s: string, end: boolean): number | null {
  const p = parseDayInput(s);
  if (!p) return null;
  return end ? zonedEpoch(p.y, p.m, p.d, 23, 59, 59, 999) : zonedEpoch(p.y, p.m, p.d);
}
/** "30/11/2026 21:05" → ms in the hub's zone; null when it is not one. */
export function parseDateTimeInput(s: string): number | null {
  const m = /^\s*(\d{1,2}\/\d{1,2}\/\d{4})\s+(\d{1,2}):(\d{2})\s*$/.exec(s);
  if (!m) return null;
  const p = parseDayInput(m[1]!);
  const h = Number(m[2]);
  const mi = Number(m[3]);
  if (!p || h > 23 || mi > 59) return null;
  return zonedEpoch(p.y, p.m, p.d, h, mi);
}
/** ms → "30/11/2026 21:05" in the hub's zone (the value of a typed date-time field). */
export function toDateTimeInput(ms: number): string {
  const parts = dateTimeFormat('en', { ...DATE, ...HM }).formatToParts(new Date(ms));
  const v = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${v('day')}/${v('month')}/${v('year')} ${v('hour')}:${v('minute')}`;
}

/** "2 min", "1 h 5 min"; seconds under a minute. */
export function formatDuration(lang: Lang, ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return translate(lang, 'common.sec', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return translate(lang, 'common.min', { n: m });
  const h = Math.floor(m / 60);
  if (h < 48) return `${translate(lang, 'common.hour', { n: h })} ${m % 60 ? translate(lang, 'common.min', { n: m % 60 }) : ''}`.trim();
  return translate(lang, 'common.day', { n: Math.floor(h / 24) });
}
export function formatAgo(lang: Lang, since: number | null, now: number): string {
  if (since === null || since <= 0) return translate(lang, 'common.never');
  return translate(lang, 'common.ago', { t: formatDuration(lang, now - since) });
}

export function formatDistance(meters: number): string {
  if (meters < 1000) return `${Math.round(meters / 5) * 5} m`;
  return `${(meters / 1000).toFixed(meters < 10_000 ? 1 : 0)} km`;
}

export const STATE_ICON: Record<AlarmState, string> = {
  'pre-alarm': '⚠',
  active: '▲',
  escalated: '⚑',
  hushed: '⊘',
  cancelled: '✕',
  resolved: '✓',
};

export const RESPONSE_ORDER: ResponseKind[] = ['coming', 'unable', 'need-help', 'false-alarm'];

/** "3 coming, 1 unable" (latest answer of each household counts). */
export function respondersSummary(lang: Lang, responders: Responder[]): string {
  const latest = new Map<string, Responder>();
  for (const r of responders) {
    const prev = latest.get(r.household);
    if (!prev || prev.at <= r.at) latest.set(r.household, r);
  }
  const counts = new Map<ResponseKind, number>();
  for (const r of latest.values()) counts.set(r.response, (counts.get(r.response) ?? 0) + 1);
  const parts = RESPONSE_ORDER.filter((k) => counts.get(k)).map((k) => `${counts.get(k)} ${translate(lang, `response.${k}` as MsgKey)}`);
  return parts.length ? parts.join(', ') : translate(lang, 'responders.none');
}
