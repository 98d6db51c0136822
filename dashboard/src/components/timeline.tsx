/** An alarm's journaled timeline, in words: what happened, who did it, and through which channel. */
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
  if (typeof d.how === 'string') parts.push(known('how', d.how));
  if (typeof d.why === 'string') parts.push(known('why', d.why));
  if (typeof d.reason === 'string') parts.push(known('esc', d.reason));
  if (typeof d.device === 'string') parts.push(t('detail.device', { v: d.device }));
  if (typeof d.kind === 'string') parts.push(known('kind', d.kind));
  if (typeof d.by === 'string') parts.push(t('detail.by', { v: d.by }));
  if (Array.isArray(d.households)) parts.push(d.households.join(', '));
  // Texts and calls, the station's dispatch.
  if (typeof d.to === 'string') parts.push(t('detail.to', { v: d.to }));
  if (typeof d.outcome === 'string') parts.push(known('outcome', d.outcome));
  if (typeof d.parts === 'number' && d.parts > 1) parts.push(t('contacts.parts', { n: d.parts }));
  if (typeof d.error === 'string') parts.push(t('detail.error', { v: d.error }));
  if (d.final === true) parts.push(t('detail.final'));
  if (typeof d.etaMin === 'number') parts.push(t('dispatch.eta', { n: d.etaMin }));
  if (typeof d.note === 'string' && d.note) parts.push(`“${d.note}”`);
  return parts.join(' · ');
}

/**
 * Who did it: "chief (trạm)", "thiết bị A-s", "hệ thống: hết thời gian xác minh", "SMS from +84…".
 * Takes any actor the hub sends (an unknown kind is shown by its fields).
 */
export function describeActor(by: { kind: string; [k: string]: unknown } | null | undefined): string {
  if (!by) return '';
  const f = (k: string) => (by[k] === undefined || by[k] === null ? '' : String(by[k]));
  switch (by.kind) {
    case 'device':
      return t('by.device', { id: f('id') });
    case 'user':
      return t('by.user', { id: f('id'), role: known('byRole', f('role')) });
    case 'hub':
      return t('by.hub', { reason: known('hubReason', f('reason')) });
    case 'sms':
      return t('by.sms', { phone: f('phone') });
    default:
      return (
        Object.entries(by)
          .filter(([k]) => k !== 'kind')
          .map(([, v]) => String(v))
          .join(' ') || by.kind
      );
  }
}

export function describeVia(via: string | null | undefined): string {
  return via ? known('via', via) : '';
}

export function Timeline({ entries }: { entries: TimelineEntry[] }) {
  const lang = getState().lang;
  return (
    <ol class="timeline">
      {entries.map((e, i) => {
        const detail = describeDetail(e.detail);
        const by = describeActor(e.by);
        const via = describeVia(e.via);
        return (
          <li key={i} data-transition={e.transition}>
            <time dateTime={new Date(e.at).toISOString()}>{formatClock(lang, e.at)}</time> <strong>{known('tr', e.transition)}</strong>
            {detail && <span class="muted"> — {detail}</span>}
            {(by || via) && (
              <span class="tl-by">
                {' · '}
                {by && <span class="by">{by}</span>}
                {by && via && ', '}
                {via && <span class="via muted">{via}</span>}
              </span>
            )}
          </li>
        );
      })}
    </ol>
  );
}
