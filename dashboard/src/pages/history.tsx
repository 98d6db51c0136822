/** Closed alarms with filters (team, kind, outcome incl. false alarms, dates), each with its timeline; CSV export. */
import { useState } from 'preact/hooks';
import { ALARM_KINDS, type AlarmKind } from '../../../hub/protocol/schema.ts';
import * as api from '../api.ts';
import { StateBadge, KindBadge } from '../components/badges.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { Timeline } from '../components/timeline.tsx';
import { toCsv } from '../csv.ts';
import { DATE_PATTERN, dayBound, formatDuration, formatTime, respondersSummary, zoneLabel } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { householdPath } from '../router.ts';
import { getState, t, useApp } from '../store.ts';
import { LOCALES, type MsgKey } from '../i18n.ts';

type Outcome = 'closed' | 'resolved' | 'cancelled' | 'false';
interface Filters {
  team: string;
  kind: '' | AlarmKind;
  outcome: Outcome;
  from: string;
  to: string;
}

/** Typed dd/mm/yyyy days, bounded in the hub's time zone. */
const dayStart = (s: string) => dayBound(s, false);
const dayEnd = (s: string) => dayBound(s, true);

export async function fetchHistory(f: Filters): Promise<api.AlarmDetail[]> {
  const list = await api.alarms({
    state: f.outcome === 'resolved' ? 'resolved' : f.outcome === 'cancelled' || f.outcome === 'false' ? 'cancelled' : 'closed',
    team: f.team.trim() || null,
    kind: f.kind || null,
    from: dayStart(f.from),
    to: dayEnd(f.to),
    limit: 5000,
  });
  const filtered = f.outcome === 'false' ? list.filter((a) => a.falseAlarm) : list;
  return filtered.sort((a, b) => b.raisedAt - a.raisedAt);
}

export function historyCsv(rows: api.AlarmDetail[], lang: 'vi' | 'en'): string {
  return toCsv(
    ['alarm', 'team', 'household', 'name', 'address', 'kind', 'state', 'false_alarm', 'escalation', 'raised_at', 'closed_at', 'duration_s', 'responders'],
    rows.map((a) => [
      a.alarm,
      a.team,
      a.origin.household,
      a.origin.name,
      a.origin.address,
      a.kind,
      a.state,
      a.falseAlarm ? 'yes' : 'no',
      a.escalation ?? '',
      new Date(a.raisedAt).toISOString(),
      a.closedAt ? new Date(a.closedAt).toISOString() : '',
      a.closedAt ? Math.round((a.closedAt - a.raisedAt) / 1000) : '',
      respondersSummary(lang, a.responders),
    ]),
  );
}

function HistoryRow({ a }: { a: api.AlarmDetail }) {
  const lang = getState().lang;
  const [open, setOpen] = useState(false);
  const detail = useAsync(() => (open ? api.alarm(a.alarm) : Promise.resolve(null)), [open, a.alarm]);
  return (
    <>
      <tr data-alarm={a.alarm}>
        <td>{formatTime(lang, a.raisedAt)}</td>
        <td>
          <a class="id" href={`#${householdPath(a.origin.household)}`}>
            {a.origin.household}
          </a>{' '}
          {a.origin.name}
          <div class="muted">{a.origin.address}</div>
        </td>
        <td>{a.team}</td>
        <td>
          <KindBadge kind={a.kind} />
        </td>
        <td>
          <StateBadge state={a.state} falseAlarm={a.falseAlarm} />
        </td>
        <td>{a.closedAt ? formatDuration(lang, a.closedAt - a.raisedAt) : '—'}</td>
        <td>{respondersSummary(lang, a.responders)}</td>
        <td>
          <button type="button" class="btn small" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? t('history.hideTimeline') : t('history.showTimeline')}
          </button>
        </td>
      </tr>
      {open && (
        <tr class="timeline-row">
          <td colSpan={8}>
            <ErrorBox error={detail.error} onRetry={detail.reload} />
            {detail.data ? <Timeline entries={detail.data.timeline} /> : !detail.error && <p class="muted">{t('board.timelineLoading')}</p>}
          </td>
        </tr>
      )}
    </>
  );
}

export function HistoryPage() {
  const app = useApp();
  const [draft, setDraft] = useState<Filters>({
    team: app.user?.role === 'team-leader' ? (app.user.team ?? '') : '',
    kind: '',
    outcome: 'closed',
    from: '',
    to: '',
  });
  const [filters, setFilters] = useState(draft);
  const result = useAsync(() => fetchHistory(filters), [filters]);
  const set = <K extends keyof Filters>(k: K, v: Filters[K]) => setDraft((d) => ({ ...d, [k]: v }));

  const exportCsv = () => {
    if (!result.data) return;
    const blob = new Blob(['\uFEFF', historyCsv(result.data, app.lang)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `smokehub-alarms-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const outcomes: [Outcome, MsgKey][] = [
    ['closed', 'history.allClosed'],
    ['resolved', 'state.resolved'],
    ['cancelled', 'state.cancelled'],
    ['false', 'state.falseAlarm'],
  ];
  return (
    <section class="page history-page" aria-labelledby="history-title">
      <div class="page-head">
        <h1 id="history-title">{t('history.title')}</h1>
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...draft });
        }}
      >
        {app.user?.role === 'station' && (
          <label>
            {t('history.team')}
            <input name="team" value={draft.team} onInput={(e) => set('team', (e.target as HTMLInputElement).value)} size={10} />
          </label>
        )}
        <label>
          {t('history.kind')}
          <select name="kind" value={draft.kind} onChange={(e) => set('kind', (e.target as HTMLSelectElement).value as Filters['kind'])}>
            <option value="">{t('history.any')}</option>
            {ALARM_KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`kind.${k}` as MsgKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('history.state')}
          <select name="outcome" value={draft.outcome} onChange={(e) => set('outcome', (e.target as HTMLSelectElement).value as Outcome)}>
            {outcomes.map(([v, k]) => (
              <option key={v} value={v}>
                {t(k)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('history.from')}
          <input
            type="text"
            name="from"
            inputMode="numeric"
            lang={LOCALES[app.lang]}
            pattern={DATE_PATTERN}
            placeholder={t('common.dateHint')}
            title={t('common.badDate')}
            value={draft.from}
            onChange={(e) => set('from', (e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          {t('history.to')}
          <input
            type="text"
            name="to"
            inputMode="numeric"
            lang={LOCALES[app.lang]}
            pattern={DATE_PATTERN}
            placeholder={t('common.dateHint')}
            title={t('common.badDate')}
            value={draft.to}
            onChange={(e) => set('to', (e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="btn primary">
          {t('history.search')}
        </button>
        <button type="button" class="btn" onClick={exportCsv} disabled={!result.data || result.data.length === 0} id="export-csv">
          <span aria-hidden="true">↓ </span>
          {t('history.export')}
        </button>
        <p class="muted time-zone" data-timezone>
          {t('common.timeZone', { zone: zoneLabel(app.lang) })}
        </p>
      </form>
      <ErrorBox error={result.error} onRetry={result.reload} />
      {result.loading && <p class="muted">{t('common.loading')}</p>}
      {result.data && (
        <>
          <p class="count" aria-live="polite">
            {t('history.count', { n: result.data.length })}
          </p>
          {result.data.length === 0 ? (
            <p class="muted">{t('history.empty')}</p>
          ) : (
            <div class="table-scroll">
              <table class="history">
                <thead>
                  <tr>
                    <th scope="col">{t('history.col.raised')}</th>
                    <th scope="col">{t('board.origin')}</th>
                    <th scope="col">{t('history.team')}</th>
                    <th scope="col">{t('history.kind')}</th>
                    <th scope="col">{t('history.state')}</th>
                    <th scope="col">{t('history.col.duration')}</th>
                    <th scope="col">{t('responders.label')}</th>
                    <th scope="col">
                      <span class="sr-only">{t('board.timeline')}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {result.data.map((a) => (
                    <HistoryRow key={a.alarm} a={a} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
