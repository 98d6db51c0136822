/**
 * The teams' readiness (#/readiness): per team and per household, are the detectors working and is
 * the fire equipment in date. The bulk device health and the equipment list (both scoped by the
 * hub: the station sees every team, a team leader its own) joined in readiness.ts.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import * as api from '../api.ts';
import { equipment as fetchEquipment } from '../api-equipment.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { HealthTabs } from '../components/health-tabs.tsx';
import { formatDay, formatTime } from '../format.ts';
import { joinHealth } from '../health-rows.ts';
import { useHouseholds } from '../households-cache.ts';
import { expiryState, needsAction, readinessOf, teamsOf, type Equipment, type HouseholdReadiness } from '../readiness.ts';
import { householdPath } from '../router.ts';
import { getState, t, useApp } from '../store.ts';
import { useDevicesHealth } from '../use-devices-health.ts';

/** Rows drawn at most (16,000 households in a province): a team filter shows the rest. */
const MAX_ROWS = 300;

/** Expired equipment first, then detectors or devices in trouble, then equipment expiring, then the rest. */
function severity(r: HouseholdReadiness): number {
  if (r.expired > 0) return 0;
  if (r.detectorsOk < r.detectors || r.devicesWithProblems > 0) return 1;
  if (r.expiring > 0) return 2;
  return r.detectors === 0 ? 3 : 4;
}

function useEquipment(): { data: { horizonDays: number; items: Equipment[] } | null; error: unknown; reload: () => void } {
  const [state, setState] = useState<{ data: { horizonDays: number; items: Equipment[] } | null; error: unknown }>({ data: null, error: null });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let alive = true;
    fetchEquipment().then(
      (data) => alive && setState({ data, error: null }),
      (error: unknown) => {
        // Without the supervision extension there is no equipment on record.
        if (!alive) return;
        if (error instanceof api.ApiError && error.status === 404) setState({ data: { horizonDays: 30, items: [] }, error: null });
        else setState((s) => ({ ...s, error }));
      },
    );
    return () => {
      alive = false;
    };
  }, [nonce]);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}

function DetectorsCell({ r }: { r: HouseholdReadiness }) {
  if (r.detectors === 0) return <span class="bad">⚠ {t('readiness.noDetectors')}</span>;
  const ok = r.detectorsOk === r.detectors;
  const others = r.devicesWithProblems - (r.detectors - r.detectorsOk);
  return (
    <>
      <span class={ok ? 'ok-text' : 'bad'}>
        <span aria-hidden="true">{ok ? '✓ ' : '⚠ '}</span>
        {t('readiness.detectorsOk', { ok: r.detectorsOk, n: r.detectors })}
      </span>
      {others > 0 && <span class="bad other-devices"> · {t('readiness.otherDevices', { n: others })}</span>}
    </>
  );
}

function EquipmentCell({ r }: { r: HouseholdReadiness }) {
  if (r.equipment === 0) return <span class="muted">{t('readiness.eqNone')}</span>;
  const inDate = r.equipment - r.expired - r.expiring;
  return (
    <span class="eq-badges">
      {r.expired > 0 && (
        <span class="badge eq-expired" data-expiry="expired">
          <span aria-hidden="true">✕ </span>
          {t('readiness.eqExpired', { n: r.expired })}
        </span>
      )}
      {r.expiring > 0 && (
        <span class="badge eq-expiring" data-expiry="expiring">
          <span aria-hidden="true">⚠ </span>
          {t('readiness.eqExpiring', { n: r.expiring })}
        </span>
      )}
      {inDate > 0 && (
        <span class="badge eq-ok" data-expiry="ok">
          <span aria-hidden="true">✓ </span>
          {t('readiness.eqOk', { n: inDate })}
        </span>
      )}
    </span>
  );
}

export function ReadinessPage() {
  useApp();
  const lang = getState().lang;
  const { list, error, refresh } = useHouseholds();
  const health = useDevicesHealth();
  const eq = useEquipment();
  const [team, setTeam] = useState('');
  const [onlyAction, setOnlyAction] = useState(true);
  const now = health.loadedAt;
  const horizon = eq.data?.horizonDays ?? 30;

  const all = useMemo(() => {
    if (!health.devices || !eq.data) return null;
    return readinessOf(list, joinHealth(health.devices, list), eq.data.items, horizon, now);
  }, [health.devices, eq.data, list, now]);
  const teams = useMemo(() => [...new Set((all ?? []).map((r) => r.team))].sort(), [all]);
  const inTeam = useMemo(() => (all ?? []).filter((r) => !team || r.team === team), [all, team]);
  const summary = useMemo(() => teamsOf(inTeam).sort((a, b) => b.expired - a.expired || b.expiring - a.expiring || a.team.localeCompare(b.team)), [inTeam]);
  const shown = useMemo(
    () => inTeam.filter((r) => !onlyAction || needsAction(r)).sort((a, b) => severity(a) - severity(b) || a.team.localeCompare(b.team)),
    [inTeam, onlyAction],
  );

  return (
    <section class="page readiness-page" aria-labelledby="readiness-title">
      <div class="page-head">
        <h1 id="readiness-title">{t('readiness.title')}</h1>
        <button
          type="button"
          class="btn ghost"
          onClick={() => {
            refresh();
            health.reload();
            eq.reload();
          }}
        >
          {t('common.refresh')}
        </button>
      </div>
      <HealthTabs current="readiness" />
      <p class="muted">{t('readiness.intro')}</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('health.team')}
          <select name="team" value={team} onChange={(e) => setTeam((e.target as HTMLSelectElement).value)}>
            <option value="">{t('health.allTeams')}</option>
            {teams.map((x) => (
              <option value={x} key={x}>
                {x}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('health.show')}
          <select name="show" value={onlyAction ? 'action' : 'all'} onChange={(e) => setOnlyAction((e.target as HTMLSelectElement).value === 'action')}>
            <option value="action">{t('readiness.needsAction')}</option>
            <option value="all">{t('readiness.all')}</option>
          </select>
        </label>
        <p class="count" aria-live="polite" id="readiness-count">
          {t('readiness.rows', { n: shown.length, m: inTeam.length })}
        </p>
      </form>
      {health.loadedAt > 0 && <p class="muted">{t('health.updated', { time: formatTime(lang, health.loadedAt) })}</p>}
      <ErrorBox error={health.error} onRetry={health.reload} />
      <ErrorBox error={eq.error} onRetry={eq.reload} />
      <ErrorBox error={error} onRetry={refresh} />
      {!all && !health.error && !eq.error && <p class="muted">{t('common.loading')}</p>}
      {all && (
        <>
          <h2>{t('readiness.teams')}</h2>
          <div class="table-scroll">
            <table class="readiness-teams">
              <thead>
                <tr>
                  <th scope="col">{t('health.col.team')}</th>
                  <th scope="col">{t('readiness.col.households')}</th>
                  <th scope="col">{t('readiness.col.detectorsReady')}</th>
                  <th scope="col">{t('readiness.col.inDate')}</th>
                  <th scope="col">{t('readiness.col.expiring')}</th>
                  <th scope="col">{t('readiness.col.expired')}</th>
                </tr>
              </thead>
              <tbody>
                {summary.slice(0, MAX_ROWS).map((s) => (
                  <tr key={s.team} data-team={s.team}>
                    <td>
                      <span class="id">{s.team}</span>
                    </td>
                    <td>{s.households}</td>
                    <td class={s.detectorsReady < s.households ? 'bad' : ''}>
                      {s.detectorsReady}/{s.households}
                    </td>
                    <td class={s.inDate < s.equipped ? 'bad' : ''}>{t('readiness.ofEquipped', { n: s.inDate, m: s.equipped })}</td>
                    <td data-col="expiring">
                      {s.expiring > 0 ? (
                        <span class="badge eq-expiring">
                          <span aria-hidden="true">⚠ </span>
                          {s.expiring}
                        </span>
                      ) : (
                        '0'
                      )}
                    </td>
                    <td data-col="expired">
                      {s.expired > 0 ? (
                        <span class="badge eq-expired">
                          <span aria-hidden="true">✕ </span>
                          {s.expired}
                        </span>
                      ) : (
                        '0'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>{t('readiness.households')}</h2>
          <div class="table-scroll">
            <table class="readiness">
              <thead>
                <tr>
                  <th scope="col">{t('health.col.household')}</th>
                  <th scope="col">{t('health.col.name')}</th>
                  <th scope="col">{t('health.col.team')}</th>
                  <th scope="col">{t('readiness.col.detectors')}</th>
                  <th scope="col">{t('readiness.col.equipment')}</th>
                  <th scope="col">{t('readiness.col.nextExpiry')}</th>
                </tr>
              </thead>
              <tbody>
                {shown.slice(0, MAX_ROWS).map((r) => (
                  <tr key={r.household} data-household={r.household}>
                    <td>
                      <a class="id" href={`#${householdPath(r.household)}`}>
                        {r.household}
                      </a>
                    </td>
                    <td>{r.name}</td>
                    <td>
                      <span class="id">{r.team}</span>
                    </td>
                    <td class="col-detectors">
                      <DetectorsCell r={r} />
                    </td>
                    <td class="col-equipment">
                      <EquipmentCell r={r} />
                    </td>
                    <td class="col-next" data-expiry={expiryState(r.nextDaysLeft, horizon)}>
                      {r.nextExpiry === null ? '—' : formatDay(lang, r.nextExpiry)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {shown.length > MAX_ROWS && <p class="muted">{t('readiness.capped', { n: MAX_ROWS })}</p>}
          <p class="muted eq-legend">{t('equipment.horizon', { n: horizon })}</p>
        </>
      )}
    </section>
  );
}
