/**
 * Fire drills (station and team leaders): start one ("Bắt đầu diễn tập": a team leader for its own
 * team, the station for a team it picks), list them (GET /api/drills), and each drill's report
 * (GET /api/drills/:id): every household's first response and after how many seconds. A running
 * drill's report follows its responses live (the drill is an open alarm in the store).
 */
import { useMemo, useState } from 'preact/hooks';
import * as drillsApi from '../api-drills.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { StateBadge } from '../components/badges.tsx';
import { known } from '../components/timeline.tsx';
import { formatDuration, formatTime } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { useHouseholds } from '../households-cache.ts';
import { householdPath } from '../router.ts';
import { getState, t, useApp } from '../store.ts';

function DrillReportView({ id, version }: { id: string; version: number }) {
  const lang = getState().lang;
  const report = useAsync(() => drillsApi.drillReport(id), [id, version]);
  if (report.error) return <ErrorBox error={report.error} onRetry={report.reload} />;
  const r = report.data;
  if (!r) return <p class="muted">{t('common.loading')}</p>;
  const answered = r.households.filter((h) => h.response !== null).length;
  return (
    <div class="drill-report" data-drill={id}>
      <h3>{t('drills.reportTitle')}</h3>
      <p class="drill-answered" data-answered={answered} data-of={r.households.length}>
        {t('drills.answered', { n: answered, m: r.households.length })}
      </p>
      <table class="drill-households">
        <thead>
          <tr>
            <th scope="col">{t('drills.col.household')}</th>
            <th scope="col">{t('drills.col.name')}</th>
            <th scope="col">{t('drills.col.response')}</th>
            <th scope="col">{t('drills.col.after')}</th>
          </tr>
        </thead>
        <tbody>
          {r.households.map((h) => (
            <tr key={h.household} data-household={h.household} data-response={h.response ?? 'none'} data-after={h.afterS ?? undefined}>
              <td>
                <a class="id" href={`#${householdPath(h.household)}`}>
                  {h.household}
                </a>
                {h.household === r.drill.origin.household && <span class="muted"> ({t('drills.col.origin')})</span>}
              </td>
              <td>{h.name}</td>
              <td class={h.response ? `resp-${h.response}` : 'muted'}>{h.response ? known('response', h.response) : t('drills.noAnswer')}</td>
              <td title={h.at ? formatTime(lang, h.at) : undefined}>{h.afterS === null ? '—' : formatDuration(lang, h.afterS * 1000)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StartDrill({ onStarted }: { onStarted: (d: drillsApi.DrillSummary) => void }) {
  const user = useApp().user!;
  const station = user.role === 'station';
  const households = useHouseholds();
  const teams = useMemo(() => [...new Set((households.list ?? []).map((h) => h.team))].sort(), [households.list]);
  const [picked, setPicked] = useState('');
  const team = station ? picked : (user.team ?? '');
  const [household, setHousehold] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const members = (households.list ?? []).filter((h) => h.team === team);
  if (!station && !user.team) return <p class="notice-box">{t('drills.noTeam')}</p>;

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const d = await drillsApi.startDrill(team, household || undefined);
      setConfirming(false);
      onStarted(d);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="filters drill-start"
      onSubmit={(e) => {
        e.preventDefault();
        if (team) setConfirming(true);
      }}
    >
      {station ? (
        <label>
          {t('drills.team')}
          <select
            name="team"
            value={picked}
            onChange={(e) => {
              setPicked((e.target as HTMLSelectElement).value);
              setHousehold('');
              setConfirming(false);
            }}
          >
            <option value="">{t('drills.pickTeam')}</option>
            {teams.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <p class="drill-team">
          {t('drills.team')}: <strong>{team}</strong>
        </p>
      )}
      <label>
        {t('drills.household')}
        <select name="household" value={household} disabled={!team} onChange={(e) => setHousehold((e.target as HTMLSelectElement).value)}>
          <option value="">{t('drills.householdFirst')}</option>
          {members.map((h) => (
            <option key={h.id} value={h.id}>
              {h.id} — {h.name}
            </option>
          ))}
        </select>
      </label>
      {!confirming ? (
        <button type="submit" class="btn primary" data-action="start-drill" disabled={!team || busy}>
          <span aria-hidden="true">◎ </span>
          {t('drills.start')}
        </button>
      ) : (
        <div class="drill-confirm" role="alertdialog" aria-labelledby="drill-confirm-text">
          <p id="drill-confirm-text">{t('drills.confirm', { team })}</p>
          <button type="button" class="btn primary" data-action="confirm-drill" disabled={busy} onClick={() => void start()}>
            {t('drills.confirmYes')}
          </button>
          <button type="button" class="btn ghost" disabled={busy} onClick={() => setConfirming(false)}>
            {t('dispatch.cancel')}
          </button>
        </div>
      )}
      <ErrorBox error={households.error ?? error} />
    </form>
  );
}

export function DrillsPage() {
  const app = useApp();
  const lang = app.lang;
  const station = app.user?.role === 'station';
  // A drill that starts, gets an answer or ends changes the store: the list is read again.
  const openDrills = Object.values(app.alarms).filter((a) => a.kind === 'drill');
  const liveKey = openDrills
    .map((a) => `${a.alarm}:${a.updatedAt}`)
    .sort()
    .join(',');
  const list = useAsync(() => drillsApi.drills(), [liveKey]);
  const [open, setOpen] = useState<string | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  const [endError, setEndError] = useState<unknown>(null);

  return (
    <section class="page drills-page" aria-labelledby="drills-title">
      <div class="page-head">
        <h1 id="drills-title">{t('drills.title')}</h1>
      </div>
      {app.user?.role !== 'household' && (
        <StartDrill
          onStarted={(d) => {
            setStarted(d.alarm);
            setOpen(d.alarm);
            list.reload();
          }}
        />
      )}
      {started && (
        <p class="banner banner-ok" role="status">
          <span aria-hidden="true">✓ </span>
          {t('drills.started')}
        </p>
      )}
      <ErrorBox error={list.error ?? endError} onRetry={list.error ? list.reload : undefined} />
      {list.data && list.data.length === 0 && <p class="muted drills-empty">{t('drills.empty')}</p>}
      {list.data && list.data.length > 0 && (
        <div class="table-scroll">
          <table class="drills">
            <thead>
              <tr>
                <th scope="col">{t('drills.col.started')}</th>
                <th scope="col">{t('drills.col.team')}</th>
                <th scope="col">{t('drills.col.origin')}</th>
                <th scope="col">{t('drills.col.state')}</th>
                <th scope="col">{t('drills.col.answered')}</th>
                <th scope="col">
                  <span class="sr-only">{t('drills.report')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((d) => {
                const running = d.closedAt === null;
                const answered = new Set(d.responders.map((r) => r.household)).size;
                return [
                  <tr key={d.alarm} data-drill={d.alarm} class={running ? 'drill-running' : ''}>
                    <td>{formatTime(lang, d.raisedAt)}</td>
                    <td>{d.team}</td>
                    <td>
                      <a class="id" href={`#${householdPath(d.origin.household)}`}>
                        {d.origin.household}
                      </a>{' '}
                      {d.origin.name}
                    </td>
                    <td>{running ? <StateBadge state={d.state} drill /> : t('drills.ended', { at: formatTime(lang, d.closedAt) })}</td>
                    <td>{answered}</td>
                    <td class="row-actions">
                      <button
                        type="button"
                        class="btn small"
                        data-action="drill-report"
                        aria-expanded={open === d.alarm}
                        onClick={() => setOpen(open === d.alarm ? null : d.alarm)}
                      >
                        {open === d.alarm ? t('drills.hideReport') : t('drills.report')}
                      </button>
                      {running && (station || app.user?.role === 'team-leader') && (
                        <button
                          type="button"
                          class="btn small"
                          data-action="end-drill"
                          onClick={() => {
                            setEndError(null);
                            drillsApi.endDrill(d.alarm).then(list.reload, setEndError);
                          }}
                        >
                          {t('drills.end')}
                        </button>
                      )}
                    </td>
                  </tr>,
                  open === d.alarm && (
                    <tr key={`${d.alarm}-report`} class="timeline-row">
                      <td colSpan={6}>
                        <DrillReportView id={d.alarm} version={app.alarmVersion[d.alarm] ?? 0} />
                      </td>
                    </tr>
                  ),
                ];
              })}
            </tbody>
          </table>
        </div>
      )}
      {list.loading && !list.data && <p class="muted">{t('common.loading')}</p>}
    </section>
  );
}
