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
import { known } from '../components/timeline.tsx';
import { VirtualList } from '../components/virtual-list.tsx';
import { formatAgo, formatTime } from '../format.ts';
import { filterRows, joinHealth, LOW_BATTERY_PCT, problemsOf, selfTestState, sortRows, type HealthFilter, type SortKey } from '../health-rows.ts';
import { useHouseholds } from '../households-cache.ts';
import { useDevicesHealth } from '../use-devices-health.ts';
import { HealthTabs } from '../components/health-tabs.tsx';
import { householdPath } from '../router.ts';
import { getState, t, useApp } from '../store.ts';
import type { MsgKey } from '../i18n.ts';

type Column = Exclude<SortKey, 'urgency'>;
const COLUMNS: [Column, MsgKey][] = [
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
/** Rows keep a fixed height (the list is virtualised): one line on a wide screen, a five-line card on a phone. */
const ROW_HEIGHT = 36;
const CARD_HEIGHT = 128;
/** Below this width the rows become cards (the same media query as styles.css). */
const NARROW = '(max-width: 760px)';

function useNarrow(): boolean {
  const query = typeof window === 'undefined' ? null : window.matchMedia(NARROW);
  const [narrow, setNarrow] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const on = () => setNarrow(query.matches);
    query.addEventListener('change', on);
    return () => query.removeEventListener('change', on);
  }, []);
  return narrow;
}
export function HealthPage() {
  useApp();
  const lang = getState().lang;
  const { list, error, refresh } = useHouseholds();
  const health = useDevicesHealth();
  const [text, setText] = useState('');
  const [show, setShow] = useState<HealthFilter>('problems');
  const [team, setTeam] = useState('');
  // Most urgent first (faults, then flapping, offline, low battery, overdue self-tests) until a column is chosen.
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'urgency', dir: 1 });
  const narrow = useNarrow();
  const rowHeight = narrow ? CARD_HEIGHT : ROW_HEIGHT;
  const [notices, setNotices] = useState<Notice[]>([]);
  const [noticeError, setNoticeError] = useState<unknown>(null);
  const now = health.loadedAt;

  useEffect(() => {
    api.notices({ limit: 1000 }).then(setNotices, setNoticeError);
  }, []);

  const all = useMemo(() => (health.devices ? joinHealth(health.devices, list) : []), [health.devices, list]);
  const teams = useMemo(() => [...new Set(all.map((r) => r.team))].sort(), [all]);
  const rows = useMemo(() => sortRows(filterRows(all, { text, show, team }, now), sort.key, sort.dir, now), [all, text, show, team, sort, now]);
  const height = Math.max(240, Math.min(rows.length * rowHeight + 2, (typeof window === 'undefined' ? 800 : window.innerHeight) - 300));

  const header = (key: Column, label: MsgKey) => {
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

  /** The self-test cell's text (a detector only), and whether it is a problem. */
  const selfTestText = (d: api.DeviceInfo, at: number): string => {
    const state = selfTestState(d, at);
    if (state === 'none') return '—';
    if (d.lastSelfTest === null) {
      if (state === 'notYet') return `○ ${t('health.notYetTested')}`;
      return `⚠ ${t('health.never')}`;
    }
    const failed = d.selfTestOk === false;
    const why = d.selfTestReason === 'no-answer' || d.selfTestReason === 'offline' ? t(`health.reason.${d.selfTestReason}`) : d.selfTestReason;
    const reason = failed && why ? ` (${why})` : '';
    const icon = failed ? '✕' : state === 'overdue' ? '⚠' : '✓';
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
      <HealthTabs current="health" />
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
        <button type="button" class="btn ghost" id="sort-urgency" aria-pressed={sort.key === 'urgency'} onClick={() => setSort({ key: 'urgency', dir: 1 })}>
          {t('health.sortUrgent')}
        </button>
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
      <div class={`vtable ${narrow ? 'cards' : ''}`} role="table" aria-rowcount={rows.length + 1} aria-labelledby="health-title">
        <div class="vhead" role="row" aria-rowindex={1}>
          {COLUMNS.map(([k, label]) => header(k, label))}
        </div>
        <VirtualList
          items={rows}
          rowHeight={rowHeight}
          height={height}
          label={t('health.title')}
          renderRow={(r) => {
            const p = problemsOf(r, now);
            const d = r.device;
            const test = selfTestText(d, now);
            const testState = selfTestState(d, now);
            const lastSeen = d.lastSeen === null ? t('health.unknown') : formatAgo(lang, d.lastSeen, now);
            return (
              <>
                <div role="cell" class="cell col-household" title={r.household}>
                  <a class="id" href={`#${householdPath(r.household)}`}>
                    {r.household}
                  </a>
                </div>
                <div role="cell" class="cell col-name" title={r.address ? `${r.name} — ${r.address}` : r.name}>
                  {r.name}
                </div>
                <div role="cell" class="cell col-team" title={r.team}>
                  <span class="id">{r.team}</span>
                </div>
                <div role="cell" class="cell col-device" title={d.label ? `${d.label} (${d.id})` : d.id}>
                  {d.label ? <span class="device-label">{d.label}</span> : null}
                  <span class="id">{d.id}</span>
                </div>
                <div role="cell" class="cell col-kind" data-kind={d.kind} title={known('kind', d.kind)}>
                  {known('kind', d.kind)}
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
                <div role="cell" class="cell col-lastSeen" title={d.lastSeen === null ? lastSeen : `${lastSeen} — ${formatTime(lang, d.lastSeen)}`}>
                  {lastSeen}
                </div>
                <div
                  role="cell"
                  class={`cell col-selfTest ${testState === 'overdue' || testState === 'failed' ? 'bad' : ''} ${testState === 'notYet' ? 'muted' : ''}`}
                  data-outcome={d.lastSelfTest === null ? undefined : d.selfTestOk === false ? 'fail' : 'pass'}
                  data-state={testState}
                  title={
                    d.lastSelfTest !== null
                      ? `${t('health.testAt', { time: formatTime(lang, d.lastSelfTest) })} — ${test}`
                      : testState === 'none'
                        ? undefined
                        : `${test} — ${t('health.enrolled', { ago: formatAgo(lang, d.enrolledAt, now), time: formatTime(lang, d.enrolledAt) })}`
                  }
                >
                  {test}
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
