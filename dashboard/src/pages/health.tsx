/**
 * Device health for the whole province: offline, flapping, low battery, faults, self-tests;
 * sortable, filterable, virtualised. One bulk request (`GET /api/devices/health`) gives every
 * device's state; the household list (shared with the area plan) gives names and addresses.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Notice } from '../../../hub/protocol/schema.ts';
import * as api from '../api.ts';
import { DeviceStatusBadge } from '../components/badges.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { NoticeList } from '../components/notice-list.tsx';
import { VirtualList } from '../components/virtual-list.tsx';
import { formatAgo, formatTime } from '../format.ts';
import { filterRows, joinHealth, LOW_BATTERY_PCT, problemsOf, SELF_TEST_KINDS, sortRows, type HealthFilter, type SortKey } from '../health-rows.ts';
import { useHouseholds } from '../households-cache.ts';
import { householdPath } from '../router.ts';
import { getState, t, useApp } from '../store.ts';
import type { MsgKey } from '../i18n.ts';

const COLUMNS: [SortKey, MsgKey][] = [
  ['household', 'health.col.household'],
  ['name', 'health.col.name'],
  ['team', 'health.col.team'],
  ['device', 'health.col.device'],
  ['kind', 'health.col.kind'],
  ['status', 'health.col.status'],
  ['battery', 'health.col.battery'],
  ['lastSeen', 'health.col.lastSeen'],
  ['selfTest', 'health.col.selfTest'],
];
const FILTERS: [HealthFilter, MsgKey][] = [
  ['all', 'health.all'],
  ['problems', 'health.problems'],
  ['offline', 'health.offline'],
  ['flapping', 'health.flapping'],
  ['lowBattery', 'health.lowBattery'],
  ['fault', 'health.fault'],
  ['noSelfTest', 'health.noSelfTest'],
];
const ROW_HEIGHT = 36;
/** The listing is a snapshot; it is fetched again this often while the page is open. */
const REFRESH_MS = 60_000;

function useDevicesHealth(): { devices: api.DeviceHealthInfo[] | null; loadedAt: number; error: unknown; reload: () => void } {
  const [state, setState] = useState<{ devices: api.DeviceHealthInfo[] | null; loadedAt: number; error: unknown }>({ devices: null, loadedAt: 0, error: null });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let alive = true;
    api.devicesHealth().then(
      (devices) => alive && setState({ devices, loadedAt: Date.now(), error: null }),
      (error: unknown) => alive && setState((s) => ({ ...s, error })),
    );
    return () => {
      alive = false;
    };
  }, [nonce]);
  useEffect(() => {
    const timer = setInterval(() => setNonce((n) => n + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}

export function HealthPage() {
  useApp();
  const lang = getState().lang;
  const { list, error, refresh } = useHouseholds();
  const health = useDevicesHealth();
  const [text, setText] = useState('');
  const [show, setShow] = useState<HealthFilter>('problems');
  const [team, setTeam] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'status', dir: 1 });
  const [notices, setNotices] = useState<Notice[]>([]);
  const [noticeError, setNoticeError] = useState<unknown>(null);
  const now = health.loadedAt;

  useEffect(() => {
    api.notices({ limit: 1000 }).then(setNotices, setNoticeError);
  }, []);

  const all = useMemo(() => (health.devices ? joinHealth(health.devices, list) : []), [health.devices, list]);
  const teams = useMemo(() => [...new Set(all.map((r) => r.team))].sort(), [all]);
  const rows = useMemo(() => sortRows(filterRows(all, { text, show, team }, now), sort.key, sort.dir), [all, text, show, team, sort, now]);
  const height = Math.max(240, Math.min(rows.length * ROW_HEIGHT + 2, (typeof window === 'undefined' ? 800 : window.innerHeight) - 300));

  const header = (key: SortKey, label: MsgKey) => {
    const active = sort.key === key;
    return (
      <div role="columnheader" class={`cell col-${key}`} aria-sort={active ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'} key={key}>
        <button
          type="button"
          class="sort-btn"
          onClick={() => setSort({ key, dir: active ? (-sort.dir as 1 | -1) : 1 })}
          aria-label={t('health.sortBy', { col: t(label) })}
        >
          {t(label)}
          <span aria-hidden="true">{active ? (sort.dir === 1 ? ' ▲' : ' ▼') : ' ↕'}</span>
        </button>
      </div>
    );
  };

  const selfTestText = (d: api.DeviceInfo, overdue: boolean, at: number): string => {
    if (d.lastSelfTest === null) return `⚠ ${t('health.never')}`;
    const failed = d.selfTestOk === false;
    const why = d.selfTestReason === 'no-answer' || d.selfTestReason === 'offline' ? t(`health.reason.${d.selfTestReason}`) : d.selfTestReason;
    const reason = failed && why ? ` (${why})` : '';
    const icon = failed ? '✕' : overdue ? '⚠' : '✓';
    return `${icon} ${t(failed ? 'health.testFailed' : 'health.testPassed')}${reason} · ${formatAgo(lang, d.lastSelfTest, at)}`;
  };

  return (
    <section class="page health-page" aria-labelledby="health-title">
      <div class="page-head">
        <h1 id="health-title">{t('health.title')}</h1>
        <button
          type="button"
          class="btn ghost"
          onClick={() => {
            refresh();
            health.reload();
          }}
        >
          {t('common.refresh')}
        </button>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('health.filter')}
          <input type="search" value={text} placeholder={t('health.filterPlaceholder')} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t('health.show')}
          <select value={show} onChange={(e) => setShow((e.target as HTMLSelectElement).value as HealthFilter)}>
            {FILTERS.map(([v, k]) => (
              <option value={v} key={v}>
                {t(k)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('health.team')}
          <select value={team} onChange={(e) => setTeam((e.target as HTMLSelectElement).value)}>
            <option value="">{t('health.allTeams')}</option>
            {teams.map((x) => (
              <option value={x} key={x}>
                {x}
              </option>
            ))}
          </select>
        </label>
        <p class="count" aria-live="polite" id="health-count">
          {t('health.rows', { n: rows.length, m: all.length })}
        </p>
      </form>
      <p class="muted">
        {t('health.source')}
        {health.loadedAt > 0 && <> {t('health.updated', { time: formatTime(lang, health.loadedAt) })}</>}
      </p>
      <ErrorBox error={health.error} onRetry={health.reload} />
      <ErrorBox error={error} onRetry={refresh} />
      {!health.devices && !health.error && <p class="muted">{t('common.loading')}</p>}
      <div class="vtable" role="table" aria-rowcount={rows.length + 1} aria-labelledby="health-title">
        <div class="vhead" role="row" aria-rowindex={1}>
          {COLUMNS.map(([k, label]) => header(k, label))}
        </div>
        <VirtualList
          items={rows}
          rowHeight={ROW_HEIGHT}
          height={height}
          label={t('health.title')}
          renderRow={(r) => {
            const p = problemsOf(r, now);
            const d = r.device;
            return (
              <>
                <div role="cell" class="cell col-household">
                  <a href={`#${householdPath(r.household)}`}>{r.household}</a>
                </div>
                <div role="cell" class="cell col-name" title={r.address}>
                  {r.name}
                </div>
                <div role="cell" class="cell col-team">
                  {r.team}
                </div>
                <div role="cell" class="cell col-device">
                  {d.id}
                </div>
                <div role="cell" class="cell col-kind">
                  {d.kind}
                </div>
                <div role="cell" class="cell col-status">
                  <DeviceStatusBadge device={d} />
                </div>
                <div
                  role="cell"
                  class={`cell col-battery ${p.has('lowBattery') ? 'bad' : ''}`}
                  title={d.batteryAt === null ? undefined : t('health.batteryAt', { time: formatTime(lang, d.batteryAt) })}
                >
                  {d.battery === null ? t('health.unknown') : `${d.battery < LOW_BATTERY_PCT ? '⚠ ' : ''}${Math.round(d.battery)} %`}
                </div>
                <div role="cell" class="cell col-lastSeen" title={formatTime(lang, d.lastSeen)}>
                  {d.lastSeen === null ? t('health.unknown') : formatAgo(lang, d.lastSeen, now)}
                </div>
                <div
                  role="cell"
                  class={`cell col-selfTest ${p.has('noSelfTest') || d.selfTestOk === false ? 'bad' : ''}`}
                  data-outcome={d.lastSelfTest === null ? undefined : d.selfTestOk === false ? 'fail' : 'pass'}
                  title={d.lastSelfTest === null ? undefined : t('health.testAt', { time: formatTime(lang, d.lastSelfTest) })}
                >
                  {SELF_TEST_KINDS.includes(d.kind) ? selfTestText(d, p.has('noSelfTest'), now) : '—'}
                </div>
              </>
            );
          }}
        />
      </div>
      <h2>{t('health.noticesTitle')}</h2>
      <ErrorBox error={noticeError} />
      <NoticeList notices={notices} limit={100} />
    </section>
  );
}
