/**
 * One household: its phone numbers and dispatch card, its devices and their state, its fire
 * equipment and when it expires, telemetry charts over a chosen time range, alarms and events marked.
 */
import { useMemo, useState } from 'preact/hooks';
import type { TelemetryField } from '../../../hub/protocol/schema.ts';
import * as api from '../api.ts';
import { DeviceStatusBadge, StateBadge } from '../components/badges.tsx';
import { TimeChart, type Mark } from '../components/chart.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { DispatchCardView } from '../components/dispatch-card.tsx';
import { EquipmentTable } from '../components/equipment-table.tsx';
import { householdHealth, type HouseholdHealth } from '../api-equipment.ts';
import { useAsync } from '../hooks.ts';
import { DATE_TIME_PATTERN, formatAgo, formatTime, parseDateTimeInput, toDateTimeInput, zoneLabel } from '../format.ts';
import { getState, t, useApp } from '../store.ts';
import { known } from '../components/timeline.tsx';
import { selfTestState } from '../health-rows.ts';
import { DICTIONARIES, LOCALES, type MsgKey } from '../i18n.ts';

const RANGES: [string, number, MsgKey][] = [
  ['1h', 3600_000, 'household.range.1h'],
  ['6h', 6 * 3600_000, 'household.range.6h'],
  ['24h', 24 * 3600_000, 'household.range.24h'],
  ['7d', 7 * 24 * 3600_000, 'household.range.7d'],
];
const CHARTS: [TelemetryField, MsgKey, string, string][] = [
  ['smoke', 'household.field.smoke', 'raw', '#c4161c'],
  ['temperature', 'household.field.temperature', '°C', '#d97706'],
  ['battery', 'household.field.battery', '%', '#1f5fbf'],
];

/** A stored event's type: a device event (smoke, test, …) or an alarm transition (raised, activated, response, …). */
export function eventLabel(type: string): string {
  const key = `event.${type}`;
  return key in DICTIONARIES.en ? t(key as MsgKey) : known('tr', type);
}

export function HouseholdPage({ id }: { id: string }) {
  const app = useApp();
  const lang = getState().lang;
  /** A detector's last self-test, as the health page says it: one enrolled within the last period is not due yet. */
  const selfTestCell = (d: api.DeviceInfo): string => {
    const state = selfTestState(d, Date.now());
    if (state === 'none') return '—';
    if (d.lastSelfTest === null) return state === 'notYet' ? `○ ${t('health.notYetTested')}` : `⚠ ${t('health.never')}`;
    return `${d.selfTestOk === false ? '✕ ' : state === 'overdue' ? '⚠ ' : '✓ '}${formatTime(lang, d.lastSelfTest)}`;
  };
  const [range, setRange] = useState('24h');
  const [custom, setCustom] = useState<{ from: string; to: string }>(() => ({
    from: toDateTimeInput(Date.now() - 24 * 3600_000),
    to: toDateTimeInput(Date.now() + 60_000),
  }));
  const [stamp, setStamp] = useState(() => Date.now());
  const window_ = useMemo(() => {
    if (range === 'custom') {
      const from = parseDateTimeInput(custom.from);
      const to = parseDateTimeInput(custom.to);
      if (from !== null && to !== null && from < to) return { from, to };
    }
    const span = RANGES.find((r) => r[0] === range)?.[1] ?? 24 * 3600_000;
    return { from: stamp - span, to: stamp };
  }, [range, custom, stamp]);

  const hh = useAsync(async () => {
    const h = await api.household(id);
    // Battery, last self-test and supervision status come from the supervision extension.
    const health = await householdHealth(id).catch((err: unknown): HouseholdHealth | null => {
      if (err instanceof api.ApiError && err.status === 404) return null;
      throw err;
    });
    const byId = new Map((health?.devices ?? []).map((d) => [d.id, d]));
    h.devices = h.devices.map((d) => {
      const x = byId.get(d.id);
      if (!x) return d;
      return {
        ...d,
        battery: x.battery ?? d.battery,
        lastSelfTest: x.lastSelfTest ?? d.lastSelfTest,
        selfTestOk: x.selfTestOk ?? d.selfTestOk,
        selfTestReason: x.selfTestReason ?? d.selfTestReason,
        batteryAt: x.batteryAt ?? d.batteryAt,
        supervision: x.supervision ?? d.supervision,
        fault: d.fault || x.fault,
        lastSeen: d.lastSeen ?? x.lastSeen,
      };
    });
    // Without the supervision extension (404) there is no equipment record: the section is left out.
    return { ...h, equipment: health ? { items: health.equipment, horizonDays: health.horizonDays } : null };
  }, [id]);
  const charts = useAsync(
    () => Promise.all(CHARTS.map(([field]) => api.telemetry({ household: id, field, from: window_.from, to: window_.to }))),
    [id, window_.from, window_.to, hh.data ? 'ok' : 'wait'],
  );
  const events = useAsync(async () => {
    const [alarms, devEvents] = await Promise.all([
      api.alarms({ household: id, from: window_.from - 24 * 3600_000, to: window_.to, limit: 500 }),
      api.telemetryEvents({ household: id, from: window_.from, to: window_.to, limit: 500 }).catch((err: unknown) => {
        if (err instanceof api.ApiError && err.status === 404) return [] as api.DeviceEventMark[];
        throw err;
      }),
    ]);
    return { alarms: alarms.filter((a) => a.origin.household === id), devEvents };
  }, [id, window_.from, window_.to, hh.data ? 'ok' : 'wait']);

  const marks: Mark[] = useMemo(() => {
    const m: Mark[] = [];
    for (const a of events.data?.alarms ?? []) {
      m.push({ at: a.raisedAt, label: `${known('kind', a.kind)} ${a.alarm}`, colour: '#c4161c' });
      if (a.closedAt) m.push({ at: a.closedAt, label: known('state', a.state), colour: '#177245' });
    }
    for (const e of events.data?.devEvents ?? []) {
      if (!e.device) continue; // alarm transitions are already marked from the journal
      m.push({ at: e.at, label: `${e.device}: ${eventLabel(e.type)}`, colour: e.type === 'clear' || e.type === 'test' ? '#177245' : '#d97706' });
    }
    return m.filter((x) => x.at >= window_.from && x.at <= window_.to).sort((a, b) => a.at - b.at);
  }, [events.data, window_.from, window_.to]);

  if (hh.error) {
    const e = hh.error;
    const text =
      e instanceof api.ApiError && e.status === 403
        ? t('household.forbidden')
        : e instanceof api.ApiError && e.status === 404
          ? t('household.notFound', { id })
          : null;
    return (
      <section class="page" aria-labelledby="hh-title">
        <h1 id="hh-title">{t('household.title', { id })}</h1>
        {text ? (
          <p class="error-box" role="alert" data-status={(e as api.ApiError).status}>
            <span aria-hidden="true">✖ </span>
            {text}
          </p>
        ) : (
          <ErrorBox error={e} onRetry={hh.reload} />
        )}
      </section>
    );
  }
  const h = hh.data;
  const openAlarm = Object.values(app.alarms).find((a) => a.origin.household === id);

  return (
    <section class="page household-page" aria-labelledby="hh-title">
      <div class="page-head">
        <h1 id="hh-title">
          {t('household.title', { id })}
          {h?.name ? ` — ${h.name}` : ''}
        </h1>
      </div>
      {!h && <p class="muted">{t('common.loading')}</p>}
      {h && (
        <dl class="facts">
          <div>
            <dt>{t('household.address')}</dt>
            <dd>{h.address}</dd>
          </div>
          <div>
            <dt>{t('board.team')}</dt>
            <dd>{h.team}</dd>
          </div>
          <div class="wide">
            <dt>{t('household.phones')}</dt>
            <dd class="phones">
              {h.phones.length === 0 ? (
                <span class="muted no-phones">{h.phone ? h.phone : t('household.noPhones')}</span>
              ) : (
                <ul class="phone-list">
                  {h.phones.map((p) => (
                    <li key={p}>
                      <a href={`tel:${p}`} data-phone={p}>
                        {p}
                      </a>
                    </li>
                  ))}
                </ul>
              )}
            </dd>
          </div>
        </dl>
      )}
      {h && <DispatchCardView card={h.card} />}
      {openAlarm && (
        <p class="banner banner-alarm" role="alert">
          {t('household.openAlarm')}: <StateBadge state={openAlarm.state} /> {known('kind', openAlarm.kind)}
        </p>
      )}
      {h && (
        <>
          <h2>{t('household.devices')}</h2>
          {h.devices.length === 0 ? (
            <p class="muted">{t('household.noDevices')}</p>
          ) : (
            <table class="devices">
              <thead>
                <tr>
                  <th scope="col">{t('health.col.device')}</th>
                  <th scope="col">{t('health.col.kind')}</th>
                  <th scope="col">{t('health.col.status')}</th>
                  <th scope="col">{t('health.col.battery')}</th>
                  <th scope="col">{t('health.col.lastSeen')}</th>
                  <th scope="col">{t('health.col.selfTest')}</th>
                </tr>
              </thead>
              <tbody>
                {h.devices.map((d) => (
                  <tr key={d.id}>
                    <td title={d.label ? `${d.label} (${d.id})` : d.id}>
                      {d.label ? <span class="device-label">{d.label}</span> : null}
                      <span class="id">{d.id}</span>
                    </td>
                    <td data-kind={d.kind}>{known('kind', d.kind)}</td>
                    <td>
                      <DeviceStatusBadge device={d} />
                    </td>
                    <td>{d.battery === null ? t('health.unknown') : `${Math.round(d.battery)} %`}</td>
                    <td title={formatTime(lang, d.lastSeen)}>{d.lastSeen === null ? t('health.unknown') : formatAgo(lang, d.lastSeen, Date.now())}</td>
                    <td data-selftest={selfTestState(d, Date.now())}>{selfTestCell(d)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {h?.equipment && (
        <section class="household-equipment" aria-labelledby="hh-equipment">
          <h2 id="hh-equipment">{t('household.equipment')}</h2>
          <EquipmentTable items={h.equipment.items} horizonDays={h.equipment.horizonDays} />
        </section>
      )}
      <h2>{t('household.charts')}</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setStamp(Date.now());
        }}
      >
        <fieldset class="range-picker">
          <legend>{t('household.range')}</legend>
          {RANGES.map(([key, , label]) => (
            <label key={key} class="radio">
              <input
                type="radio"
                name="range"
                value={key}
                checked={range === key}
                onChange={() => {
                  setRange(key);
                  setStamp(Date.now());
                }}
              />
              {t(label)}
            </label>
          ))}
          <label class="radio">
            <input type="radio" name="range" value="custom" checked={range === 'custom'} onChange={() => setRange('custom')} />
            {t('household.range.custom')}
          </label>
        </fieldset>
        {range === 'custom' && (
          <>
            <label>
              {t('household.from')}
              <input
                type="text"
                name="from"
                inputMode="numeric"
                lang={LOCALES[lang]}
                pattern={DATE_TIME_PATTERN}
                placeholder={t('common.dateTimeHint')}
                title={t('common.badDateTime')}
                value={custom.from}
                onChange={(e) => setCustom((c) => ({ ...c, from: (e.target as HTMLInputElement).value }))}
              />
            </label>
            <label>
              {t('household.to')}
              <input
                type="text"
                name="to"
                inputMode="numeric"
                lang={LOCALES[lang]}
                pattern={DATE_TIME_PATTERN}
                placeholder={t('common.dateTimeHint')}
                title={t('common.badDateTime')}
                value={custom.to}
                onChange={(e) => setCustom((c) => ({ ...c, to: (e.target as HTMLInputElement).value }))}
              />
            </label>
          </>
        )}
        <button type="submit" class="btn">
          {t('household.apply')}
        </button>
        <p class="muted time-zone" data-timezone>
          {t('common.timeZone', { zone: zoneLabel(lang) })}
        </p>
      </form>
      <ErrorBox error={charts.error} onRetry={charts.reload} />
      {charts.loading && !charts.data && <p class="muted">{t('common.loading')}</p>}
      <div class="charts">
        {charts.data?.map((s, i) => (
          <TimeChart
            key={s.field}
            series={s}
            title={t(CHARTS[i]![1])}
            unit={CHARTS[i]![2] === 'raw' ? t('household.unit.raw') : CHARTS[i]![2]}
            colour={CHARTS[i]![3]}
            marks={marks}
            from={window_.from}
            to={window_.to}
          />
        ))}
      </div>
      <h2>{t('household.marks')}</h2>
      <ErrorBox error={events.error} onRetry={events.reload} />
      {marks.length === 0 ? (
        <p class="muted">{t('household.noMarks')}</p>
      ) : (
        <ul class="marks">
          {marks.map((m, i) => (
            <li key={i}>
              <span class="swatch" style={{ background: m.colour }} aria-hidden="true" /> <time>{formatTime(lang, m.at)}</time> — {m.label}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
