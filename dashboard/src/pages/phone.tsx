/**
 * The neighbours' phone view: one big, clear alert per open alarm of the team, with one-tap answers.
 * Built for 375×667 and one hand: answers are full-width buttons at the bottom of each alert.
 * The own household's "False alarm" hushes its alarm (after a confirmation that says so); a
 * neighbour's hushed alarm is shown as "stand down". A fire truck on its way is said at the top;
 * a nearby alarm of another team is marked "near you" (told, not counted on); a drill is marked
 * "DRILL" in its own style.
 */
import { FlameIcon, TruckIcon } from '../components/icons.tsx';
import { useState } from 'preact/hooks';
import type { AlarmView, ResponseKind } from '../../../hub/protocol/schema.ts';
import * as api from '../api.ts';
import { StateBadge } from '../components/badges.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { NoticeList } from '../components/notice-list.tsx';
import { formatClock, formatDistance, formatDuration, respondersSummary } from '../format.ts';
import { distanceMeters } from '../geo.ts';
import { useAsync, useNow } from '../hooks.ts';
import { getState, t, useApp } from '../store.ts';
import { known } from '../components/timeline.tsx';
import { publishResponse } from '../live.ts';
import type { MsgKey } from '../i18n.ts';
import { PhoneNotifyPanel } from '../components/phone-notify-panel.tsx';

/**
 * Which alarms a household sees: its own at once, a neighbour's once neighbours are alerted, and a
 * neighbour's `hushed` alarm when the hub told this household (it had been alerted: stand down).
 */
export function visibleToHousehold(alarms: AlarmView[], own: string, pushed: Record<string, true> = {}): AlarmView[] {
  return alarms
    .filter((a) => a.origin.household === own || a.state === 'active' || a.state === 'escalated' || (a.state === 'hushed' && pushed[a.alarm] === true))
    .sort((a, b) => b.raisedAt - a.raisedAt);
}

function ownAnswer(view: AlarmView, household: string): ResponseKind | null {
  let best: { response: ResponseKind; at: number } | null = null;
  for (const r of view.responders) if (r.household === household && (!best || r.at >= best.at)) best = r;
  return best?.response ?? null;
}

function AlertCard({ view, own, ownPos, now }: { view: AlarmView; own: string; ownPos: { lat: number; lon: number } | null; now: number }) {
  const lang = getState().lang;
  const [sending, setSending] = useState<ResponseKind | null>(null);
  const [sent, setSent] = useState<ResponseKind | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const isOwn = view.origin.household === own;
  const drill = view.kind === 'drill';
  const nearby = view.nearby === true && !isOwn;
  const hushed = view.state === 'hushed';
  const standDown = !isOwn && hushed;
  const what = t(`headline.${view.kind}` as MsgKey);
  const o = view.origin;
  const distance = !isOwn && ownPos && o.lat !== null && o.lon !== null ? formatDistance(distanceMeters(ownPos.lat, ownPos.lon, o.lat, o.lon)) : null;
  const answer = ownAnswer(view, own) ?? sent ?? (isOwn && view.originSaysFalseAlarm ? 'false-alarm' : null);

  const send = async (response: ResponseKind) => {
    setSending(response);
    setError(null);
    try {
      try {
        await api.respond(view.alarm, own, response);
      } catch (err) {
        // Another team's alarm: the HTTP route answers 403; the MQTT contract takes a household's answer.
        if (!(nearby && err instanceof api.ApiError && err.status === 403)) throw err;
        await publishResponse(own, view.alarm, response);
      }
      setSent(response);
      setConfirming(false);
    } catch (err) {
      setError(err);
    } finally {
      setSending(null);
    }
  };
  // Own alarm: "False alarm" hushes it (pre-alarm, active) or is reported to the station (escalated);
  // once hushed only "Need help" is left. A neighbour told to stand down can still ask for help.
  // A drill is never a false alarm (the hub refuses it): its origin can only practise asking for help.
  const buttons: [ResponseKind, MsgKey, string][] =
    isOwn && drill
      ? [['need-help', 'phone.needHelp', '⚠']]
      : isOwn
        ? hushed
          ? [['need-help', 'phone.needHelp', '⚠']]
          : [
              ['false-alarm', 'phone.falseAlarm', '↺'],
              ['need-help', 'phone.needHelp', '⚠'],
            ]
        : standDown
          ? [['need-help', 'phone.needHelp', '⚠']]
          : [
              ['coming', 'phone.coming', '➜'],
              ['unable', 'phone.unable', '✕'],
              ['need-help', 'phone.needHelp', '⚠'],
            ];
  const press = (r: ResponseKind) => (r === 'false-alarm' ? setConfirming(true) : void send(r));

  return (
    <article
      class={`phone-alert state-${view.state} ${isOwn ? 'own' : ''} ${standDown ? 'stand-down' : ''} ${drill ? 'drill' : ''} ${nearby ? 'nearby' : ''}`}
      data-alarm={view.alarm}
      data-kind={view.kind}
      data-nearby={nearby ? 'true' : undefined}
      aria-labelledby={`pa-${view.alarm}`}
    >
      {drill && (
        <p class="phone-drill-banner" data-flag="drill">
          <span aria-hidden="true">◎ </span>
          {t('phone.drill')}
        </p>
      )}
      {nearby && (
        <p class="phone-nearby-badge" data-flag="nearby">
          <span aria-hidden="true">◉ </span>
          {t('phone.nearby')}
        </p>
      )}
      {view.dispatch?.state === 'dispatched' && (
        <p class="phone-truck" role="status" data-dispatch="dispatched">
          <TruckIcon size="1.4em" /> {t('phone.truckComing')}
          {view.dispatch.etaMin !== undefined && <span class="phone-eta"> · {t('dispatch.eta', { n: view.dispatch.etaMin })}</span>}
          <span class="phone-truck-at"> ({formatClock(lang, view.dispatch.at)})</span>
        </p>
      )}
      {view.dispatch?.state === 'acknowledged' && (
        <p class="phone-acknowledged" role="status" data-dispatch="acknowledged">
          <span aria-hidden="true">✓ </span>
          {t('phone.acknowledged')}
        </p>
      )}
      <h2 id={`pa-${view.alarm}`} class="phone-headline">
        {view.kind === 'panic' ? <span aria-hidden="true">⚠ </span> : <FlameIcon />}{' '}
        {isOwn ? t('phone.yourHome', { what }) : t('phone.fireAt', { what, name: o.name || o.household })}
      </h2>
      <p class="phone-where">
        {o.address}
        {!isOwn && <strong> — {distance ?? t('phone.noPosition')}</strong>}
      </p>
      <p class="phone-meta">
        <StateBadge state={view.state} drill={drill} /> <span class="muted">{formatDuration(lang, now - view.raisedAt)}</span>
      </p>
      {drill && <p class="phone-drill-hint">{isOwn ? t('phone.drillOwn') : t('phone.drillHint')}</p>}
      {nearby && !standDown && <p class="phone-nearby-hint">{t('phone.nearbyHint')}</p>}
      {view.dispatch?.note && <p class="phone-dispatch-note">“{view.dispatch.note}”</p>}
      {standDown && (
        <>
          <p class="phone-standdown" role="status">
            <span aria-hidden="true">⊘ </span>
            {t('phone.standDown')}
          </p>
          <p class="muted">{t('phone.standDownHint')}</p>
        </>
      )}
      {!standDown && (
        <p class="phone-responders">
          {t('responders.label')}: {respondersSummary(lang, view.responders)}
        </p>
      )}
      {isOwn && hushed && (
        <p class="phone-hushed" role="status">
          {t('phone.hushedOwn', { at: formatClock(lang, view.hushedAt ?? view.updatedAt), until: view.hushUntil ? formatClock(lang, view.hushUntil) : '—' })}
        </p>
      )}
      {isOwn && !hushed && view.silencedAt != null && <p class="phone-silenced">{t('phone.silenced', { at: formatClock(lang, view.silencedAt) })}</p>}
      {isOwn && view.originSaysFalseAlarm && <p class="phone-reported">{t('phone.reportedFalse')}</p>}
      {isOwn && !drill && (view.state === 'pre-alarm' || view.state === 'active') && <p class="muted">{t('phone.ownHint')}</p>}
      {answer && (
        <p class="phone-answer" role="status">
          <span aria-hidden="true">✓ </span>
          {t('phone.yourAnswer', { r: known('response', answer) })}
        </p>
      )}
      <ErrorBox error={error} />
      {confirming ? (
        <div class="phone-confirm" role="alertdialog" aria-labelledby={`pc-${view.alarm}`}>
          <p id={`pc-${view.alarm}`} class="confirm-text">
            {t(view.state === 'escalated' ? 'phone.confirmFalseEscalated' : 'phone.confirmFalse')}
          </p>
          <div class="phone-buttons">
            <button
              type="button"
              class="btn huge resp-false-alarm"
              data-action="confirm-false-alarm"
              disabled={sending !== null}
              onClick={() => void send('false-alarm')}
            >
              <span aria-hidden="true">↺ </span>
              {t('phone.confirmYes')}
            </button>
            <button type="button" class="btn huge confirm-no" disabled={sending !== null} onClick={() => setConfirming(false)}>
              {t('phone.confirmNo')}
            </button>
          </div>
        </div>
      ) : (
        <div class="phone-buttons">
          {buttons.map(([r, label, icon]) => (
            <button
              key={r}
              type="button"
              class={`btn huge resp-${r}`}
              data-response={r}
              aria-pressed={answer === r}
              disabled={sending !== null}
              onClick={() => press(r)}
            >
              <span aria-hidden="true">{icon} </span>
              {t(label)}
            </button>
          ))}
        </div>
      )}
    </article>
  );
}

export function PhonePage() {
  const app = useApp();
  const now = useNow(1000);
  const own = app.user?.household ?? null;
  const hh = useAsync(() => (own ? api.household(own) : Promise.resolve(null)), [own]);
  if (!own) {
    return (
      <section class="page phone-page">
        <p class="notice-box">{t('phone.notHousehold')}</p>
      </section>
    );
  }
  const ownPos = hh.data && hh.data.lat !== null && hh.data.lon !== null ? { lat: hh.data.lat, lon: hh.data.lon } : null;
  const alarms = visibleToHousehold(Object.values(app.alarms), own, app.pushed);
  return (
    <section class="page phone-page" aria-labelledby="phone-title">
      <h1 id="phone-title" class="sr-only">
        {t('phone.title')}
      </h1>
      <ErrorBox error={hh.error} onRetry={hh.reload} />
      {alarms.length === 0 ? (
        <div class="phone-clear">
          <p class="phone-clear-big">
            <span aria-hidden="true">✓ </span>
            {t('phone.allClear')}
          </p>
          <p>{t('phone.allClearText')}</p>
          {hh.data && (
            <p class="muted">
              {hh.data.name} · {hh.data.address}
            </p>
          )}
          <NoticeList notices={app.notices} limit={10} />
        </div>
      ) : (
        alarms.map((v) => <AlertCard key={v.alarm} view={v} own={own} ownPos={ownPos} now={now} />)
      )}
      <PhoneNotifyPanel />
    </section>
  );
}
