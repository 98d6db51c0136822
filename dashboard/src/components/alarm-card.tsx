/**
 * One open alarm on the board: who, where, state, age, responders (and who answered for them),
 * escalation, hush and silence, the origin's false-alarm report, the fire station's dispatch (with
 * the station's Acknowledge / Dispatch buttons), the dispatch card, who was texted and called,
 * timeline, resolve. A drill is marked as such and has no dispatch.
 */
import { FlameIcon } from './icons.tsx';
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import * as api from '../api.ts';
import { formatClock, formatDuration, respondersSummary } from '../format.ts';
import { householdPath } from '../router.ts';
import { getState, t } from '../store.ts';
import { KindBadge, StateBadge } from './badges.tsx';
import { ErrorBox } from './error-box.tsx';
import { Timeline, describeActor, describeVia, known } from './timeline.tsx';
import { DispatchActions, DispatchStatus } from './dispatch.tsx';
import { DispatchCardView } from './dispatch-card.tsx';
import { ContactList, contactsSummary } from './contacts.tsx';
import type { MsgKey } from '../i18n.ts';

/** Texts and calls change without the alarm view changing: the detail is read again this often. */
const DETAIL_REFRESH_MS = 10_000;
/** A long list of texts and calls starts folded (the timeline stays in view on a wall screen). */
const CONTACTS_OPEN_UP_TO = 6;

export function AlarmCard({ view, version, now, canResolve }: { view: AlarmView; version: number; now: number; canResolve: boolean }) {
  const lang = getState().lang;
  const [detail, setDetail] = useState<api.AlarmDetail | null>(null);
  const [showContacts, setShowContacts] = useState<boolean | null>(null);
  const [timelineError, setTimelineError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [resolveError, setResolveError] = useState<unknown>(null);
  const [resolving, setResolving] = useState(false);

  useEffect(() => {
    let alive = true;
    const load = () =>
      api.alarm(view.alarm).then(
        (d) => {
          if (!alive) return;
          setDetail(d);
          setTimelineError(null);
        },
        (err: unknown) => alive && setTimelineError(err),
      );
    void load();
    const timer = setInterval(() => void load(), DETAIL_REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [view.alarm, version]);
  const timeline = detail?.timeline ?? null;
  const drill = view.kind === 'drill';
  const nearby = view.nearbyHouseholds ?? [];

  const resolve = async () => {
    setResolving(true);
    setResolveError(null);
    try {
      await api.resolveAlarm(view.alarm);
      setConfirming(false);
    } catch (err) {
      setResolveError(err);
    } finally {
      setResolving(false);
    }
  };

  const o = view.origin;
  const others = (view.households ?? []).filter((h) => h !== o.household);
  return (
    <article class={`alarm-card state-${view.state} ${drill ? 'drill' : ''}`} data-alarm={view.alarm} data-kind={view.kind} aria-labelledby={`h-${view.alarm}`}>
      <header>
        <h3 id={`h-${view.alarm}`}>
          {view.kind === 'panic' ? <span aria-hidden="true">⚠ </span> : <FlameIcon />} {t(`headline.${view.kind}` as MsgKey)} — {o.name || o.household}
        </h3>
        {drill && (
          <span class="badge drill-badge" data-flag="drill">
            <span aria-hidden="true">◎ </span>
            {t('drill.badge')}
          </span>
        )}
        <StateBadge state={view.state} drill={drill} />
        {!drill && <KindBadge kind={view.kind} />}
        {view.originSaysFalseAlarm && (
          <span class="badge flag-false" data-flag="origin-says-false-alarm">
            <span aria-hidden="true">↺ </span>
            {t('board.originSaysFalse')}
          </span>
        )}
      </header>
      {drill && <p class="drill-text">{t('board.drillText')}</p>}
      <DispatchStatus dispatch={view.dispatch} />
      <dl class="facts">
        <div>
          <dt>{t('board.origin')}</dt>
          <dd>
            <span class="address">{o.address}</span> ·{' '}
            <a class="id" href={`#${householdPath(o.household)}`}>
              {o.household}
            </a>
            {o.device && (
              <span class="muted">
                {' '}
                · {t('board.device')} {o.device}
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt>{t('board.team')}</dt>
          <dd>{view.team}</dd>
        </div>
        <div>
          <dt>{t('board.age')}</dt>
          <dd class="age">
            {formatDuration(lang, now - view.raisedAt)}{' '}
            <span class="muted">
              ({t('board.raised')} {formatClock(lang, view.raisedAt)})
            </span>
          </dd>
        </div>
        <div>
          <dt>{t('responders.label')}</dt>
          <dd class="responders">{respondersSummary(lang, view.responders)}</dd>
        </div>
        {view.state === 'escalated' && view.escalation && (
          <div>
            <dt>{t('board.escalation')}</dt>
            <dd class="escalation">
              <span aria-hidden="true">⚑ </span>
              {known('esc', view.escalation)}
            </dd>
          </div>
        )}
        {view.state === 'hushed' && (
          <div class="wide">
            <dt>{t('board.hushed')}</dt>
            <dd class="hushed-info">
              <span aria-hidden="true">⊘ </span>
              {t('board.hushedText', {
                at: formatClock(lang, view.hushedAt ?? view.updatedAt),
                until: view.hushUntil ? formatClock(lang, view.hushUntil) : '—',
                left: formatDuration(lang, Math.max(0, (view.hushUntil ?? now) - now)),
              })}
            </dd>
          </div>
        )}
        {view.state !== 'hushed' && view.silencedAt != null && (
          <div class="wide">
            <dt>{t('board.silenced')}</dt>
            <dd class="silenced-info">
              <span aria-hidden="true">✕ </span>
              {t('board.silencedText', { at: formatClock(lang, view.silencedAt) })}
            </dd>
          </div>
        )}
        {view.originSaysFalseAlarm && (
          <div class="wide">
            <dt>{t('board.originSaysFalse')}</dt>
            <dd class="origin-false">{t('board.originSaysFalseText')}</dd>
          </div>
        )}
        {others.length > 0 && (
          <div>
            <dt>{t('board.others')}</dt>
            <dd class="escalation">{t('board.alsoAlarming', { list: others.join(', ') })}</dd>
          </div>
        )}
        {nearby.length > 0 && (
          <div>
            <dt>{t('board.nearby')}</dt>
            <dd class="nearby-list">
              {nearby.map((h, i) => (
                <Fragment key={h}>
                  {i > 0 && ', '}
                  <a class="id" href={`#${householdPath(h)}`}>
                    {h}
                  </a>
                </Fragment>
              ))}
            </dd>
          </div>
        )}
      </dl>
      {view.responders.length > 0 && (
        <ul class="responder-list">
          {view.responders.map((r) => (
            <li key={`${r.household}-${r.at}`} class={`resp-${r.response}`}>
              <a class="id" href={`#${householdPath(r.household)}`}>
                {r.household}
              </a>
              : {known('response', r.response)} <span class="muted">{formatClock(lang, r.at)}</span>
              {(r.by || r.via) && <span class="muted responder-by"> ({[describeActor(r.by), describeVia(r.via)].filter(Boolean).join(', ')})</span>}
            </li>
          ))}
        </ul>
      )}
      {detail && !drill && <DispatchCardView card={detail.card} />}
      {detail && (!drill || detail.contacts.length > 0) && (
        <details
          class="contacts-box"
          open={showContacts ?? detail.contacts.length <= CONTACTS_OPEN_UP_TO}
          onToggle={(e) => setShowContacts((e.currentTarget as HTMLDetailsElement).open)}
        >
          <summary>
            {t('contacts.title')}
            {detail.contacts.length > 0 && <span class="muted"> · {contactsSummary(detail.contacts)}</span>}
          </summary>
          <ContactList contacts={detail.contacts} />
        </details>
      )}
      <details class="timeline-box" open>
        <summary>{t('board.timeline')}</summary>
        {timelineError ? <ErrorBox error={timelineError} /> : timeline ? <Timeline entries={timeline} /> : <p class="muted">{t('board.timelineLoading')}</p>}
      </details>
      {canResolve && !drill && <DispatchActions view={view} />}
      {canResolve && (
        <div class="actions">
          {!confirming ? (
            <button type="button" class="btn" onClick={() => setConfirming(true)}>
              <span aria-hidden="true">✓ </span>
              {drill ? t('drills.end') : t('board.resolve')}
            </button>
          ) : (
            <>
              <button type="button" class="btn primary" disabled={resolving} onClick={() => void resolve()} data-action="confirm-resolve">
                {t('board.resolveConfirm')}
              </button>
              <button type="button" class="btn ghost" onClick={() => setConfirming(false)}>
                {t('board.resolveCancel')}
              </button>
            </>
          )}
          <ErrorBox error={resolveError} />
        </div>
      )}
    </article>
  );
}
