/** The fire station's live alarm board: every open alarm, newest and most serious first; a GSM modem in trouble is said at the top. */
import { useEffect, useState } from 'preact/hooks';
import type { AlarmView, Notice } from '../../../hub/protocol/schema.ts';
import * as api from '../api.ts';
import { AlarmCard } from '../components/alarm-card.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { NoticeList } from '../components/notice-list.tsx';
import { useNow } from '../hooks.ts';
import { noticeText } from '../notice-text.ts';
import { t, useApp } from '../store.ts';
import { silence } from '../alerting.ts';

/** Escalated, active, pre-alarm, then hushed (the household silenced it; the hub watches it); drills after every real alarm. */
const SEVERITY: Record<string, number> = { escalated: 0, active: 1, 'pre-alarm': 2, hushed: 3 };
const rank = (v: AlarmView) => (v.kind === 'drill' ? 10 : 0) + (SEVERITY[v.state] ?? 9);
export function sortAlarms(list: AlarmView[]): AlarmView[] {
  return [...list].sort((a, b) => rank(a) - rank(b) || b.raisedAt - a.raisedAt);
}

export function BoardPage() {
  const app = useApp();
  const now = useNow(1000);
  const alarms = sortAlarms(Object.values(app.alarms));
  const [initialNotices, setInitialNotices] = useState<Notice[]>([]);
  const [noticeError, setNoticeError] = useState<unknown>(null);
  useEffect(() => {
    api.notices({ limit: 50 }).then(setInitialNotices, setNoticeError);
  }, []);
  const seen = new Set(app.notices.map(api.noticeKey));
  const notices = [...app.notices, ...initialNotices.filter((n) => !seen.has(api.noticeKey(n)))].sort((a, b) => b.at - a.at);
  // The GSM modem's latest word: while it is in trouble, texts and calls wait.
  const modem = notices.find((n) => n.notice === 'modem-trouble' || n.notice === 'modem-up');

  return (
    <section class="page board" aria-labelledby="board-title">
      <div class="page-head">
        <h1 id="board-title">{t('board.title')}</h1>
        <p class="count" aria-live="polite">
          {alarms.length ? t('board.open', { n: alarms.length }) : ''}
        </p>
        {alarms.length > 0 && (
          <button type="button" class="btn ghost" onClick={silence}>
            <span aria-hidden="true">✕ </span>
            {t('sound.silence')}
          </button>
        )}
      </div>
      {app.liveError && app.live !== 'online' && <ErrorBox error={new Error(app.liveError)} />}
      {modem?.notice === 'modem-trouble' && (
        <p class="banner banner-warn modem-trouble" role="alert" data-notice="modem-trouble">
          <span aria-hidden="true">⚠ </span>
          {t('notice.modemTrouble')} <span class="muted">{noticeText(app.lang, modem)}</span>
        </p>
      )}
      <div class="board-grid">
        <div class="alarm-list" aria-live="polite" aria-relevant="additions">
          {alarms.length === 0 ? (
            <p class="all-clear">
              <span aria-hidden="true">✓ </span>
              {t('board.empty')}
            </p>
          ) : (
            alarms.map((v) => <AlarmCard key={v.alarm} view={v} version={app.alarmVersion[v.alarm] ?? 0} now={now} canResolve={app.user?.role === 'station'} />)
          )}
        </div>
        <aside class="notices-panel" aria-labelledby="notices-title">
          <h2 id="notices-title">{t('board.notices')}</h2>
          <ErrorBox error={noticeError} />
          <NoticeList notices={notices} limit={30} />
        </aside>
      </div>
    </section>
  );
}
