/** Who the hub texted and called about an alarm, when, and how it went (`contacts` of GET /api/alarms/:id). */
import type { Contact } from '../api.ts';
import { formatClock } from '../format.ts';
import { householdPath } from '../router.ts';
import { getState, t } from '../store.ts';
import { known } from './timeline.tsx';

/** The state in words: a call that went out is "called"; its outcome is the result. */
export function contactStateText(c: Contact): string {
  return c.kind === 'call' && c.state === 'sent' ? t('contactState.called') : known('contactState', c.state);
}

export function contactResultText(c: Contact): string {
  const parts: string[] = [];
  if (c.outcome) parts.push(known('outcome', c.outcome));
  if (c.kind === 'sms' && c.parts !== null && c.parts > 1) parts.push(t('contacts.parts', { n: c.parts }));
  if (c.attempts > 1) parts.push(t('contacts.attempts', { n: c.attempts }));
  // A cancelled call says why: the household answered first, or the alarm ended (its state).
  if (c.error && c.state === 'cancelled') parts.push(c.error === 'answered' ? t('contacts.cancelAnswered') : known('state', c.error));
  else if (c.error && c.state !== 'sent') parts.push(c.error);
  return parts.join(' · ');
}

const STATE_ICON: Record<string, string> = { queued: '…', sending: '↻', sent: '✓', failed: '✕', cancelled: '⊘' };

/** "10 SMS, 3 call(s)". */
export function contactsSummary(contacts: Contact[]): string {
  const sms = contacts.filter((c) => c.kind === 'sms').length;
  return t('contacts.summary', { sms, calls: contacts.length - sms });
}

export function ContactList({ contacts }: { contacts: Contact[] }) {
  const lang = getState().lang;
  if (contacts.length === 0) return <p class="muted contacts-none">{t('contacts.none')}</p>;
  // Updates (stand-down, dispatch) go to every number texted, without a household: name it from the others.
  const householdOf = new Map<string, string>();
  for (const c of contacts) if (c.household) householdOf.set(c.to, c.household);
  return (
    <div class="contacts">
      <div class="table-scroll">
        <table class="contact-table">
          <thead>
            <tr>
              <th scope="col">{t('contacts.col.kind')}</th>
              <th scope="col">{t('contacts.col.to')}</th>
              <th scope="col">{t('contacts.col.household')}</th>
              <th scope="col">{t('contacts.col.state')}</th>
              <th scope="col">{t('contacts.col.time')}</th>
              <th scope="col">{t('contacts.col.result')}</th>
            </tr>
          </thead>
          <tbody>
            {contacts.map((c, i) => (
              <tr key={i} class={`contact contact-${c.state}`} data-kind={c.kind} data-to={c.to} data-state={c.state} data-outcome={c.outcome ?? undefined}>
                <td>{known('contactKind', c.kind)}</td>
                <td>
                  <a href={`tel:${c.to}`}>{c.to}</a>
                </td>
                <td>
                  {(() => {
                    const h = c.household ?? householdOf.get(c.to);
                    return h ? <a href={`#${householdPath(h)}`}>{h}</a> : '—';
                  })()}
                </td>
                <td>
                  <span aria-hidden="true">{STATE_ICON[c.state] ?? '•'} </span>
                  {contactStateText(c)}
                </td>
                <td>
                  {(() => {
                    const at = c.sentAt ?? c.queuedAt;
                    return at ? <time dateTime={new Date(at).toISOString()}>{formatClock(lang, at)}</time> : '—';
                  })()}
                </td>
                <td>{contactResultText(c)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
