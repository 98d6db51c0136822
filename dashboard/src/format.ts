/** Formatting of times, durations, distances and states for display. Pure. */
import { LOCALES, translate, type Lang, type MsgKey } from './i18n.ts';
import type { AlarmState, Responder, ResponseKind } from '../../hub/protocol/schema.ts';

export function formatTime(lang: Lang, ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms <= 0) return translate(lang, 'common.never');
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(ms));
}
export function formatClock(lang: Lang, ms: number): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { timeStyle: 'medium' }).format(new Date(ms));
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
