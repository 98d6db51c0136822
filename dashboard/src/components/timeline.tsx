/** An alarm's journaled timeline, in words. */
import type { TimelineEntry } from '../api.ts';
import { formatClock } from '../format.ts';
import { DICTIONARIES, type MsgKey } from '../i18n.ts';
import { getState, t } from '../store.ts';

/** Translates `prefix.value` when the dictionary knows it; the raw value otherwise. */
export function known(prefix: string, value: unknown): string {
  const key = `${prefix}.${String(value)}`;
  return key in DICTIONARIES.en ? t(key as MsgKey) : String(value);
}

export function describeDetail(d: Record<string, unknown> | null): string {
  if (!d) return '';
  const parts: string[] = [];
  if (typeof d.household === 'string') parts.push(t('detail.household', { v: d.household }));
  if (typeof d.response === 'string') parts.push(known('response', d.response));
  if (typeof d.why === 'string') parts.push(known('why', d.why));
  if (typeof d.reason === 'string') parts.push(known('esc', d.reason));
  if (typeof d.device === 'string') parts.push(t('detail.device', { v: d.device }));
  if (typeof d.kind === 'string') parts.push(known('kind', d.kind));
  if (typeof d.by === 'string') parts.push(t('detail.by', { v: d.by }));
  if (Array.isArray(d.households)) parts.push(d.households.join(', '));
  return parts.join(' · ');
}

export function Timeline({ entries }: { entries: TimelineEntry[] }) {
  const lang = getState().lang;
  return (
    <ol class="timeline">
      {entries.map((e, i) => (
        <li key={i}>
          <time dateTime={new Date(e.at).toISOString()}>{formatClock(lang, e.at)}</time> <strong>{known('tr', e.transition)}</strong>
          {describeDetail(e.detail) && <span class="muted"> — {describeDetail(e.detail)}</span>}
        </li>
      ))}
    </ol>
  );
}
