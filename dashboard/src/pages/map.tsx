/**
 * Area plan: every household by lat/lon over the operator's offline street map (DATA/map/*.pmtiles,
 * served by the hub in byte ranges), or over a plain background when there is none — with a scale
 * bar and each team's outline either way. The map library (Leaflet + pmtiles) is its own chunk,
 * loaded only here (map/leaflet-plan.ts). The open alarm's house pulses, its team is outlined, the
 * nearby radius (the hub's --nearby-radius) is drawn and the nearby households alerted are marked;
 * a click on a house opens it; for each alarm the station has a geo: link and a copy button.
 * With several map files the station picks the one drawn (remembered in this browser).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { StateBadge } from '../components/badges.tsx';
import { useHouseholds } from '../households-cache.ts';
import { householdPath, navigate } from '../router.ts';
import { t, useApp } from '../store.ts';
import { buildPlanIndex, coordsText, geoUri } from '../map/plan-geometry.ts';
import { drawable, mapFiles, pickMapFile, saveMapFile, savedMapFile, type MapFile } from '../map/map-api.ts';
import type { LeafletPlan, PlanAlarm } from '../map/leaflet-plan.ts';

/** r,g,b of an alarm's pulse. Purple: a drill; amber: pre-alarm; blue: hushed (silenced, watched); red otherwise. */
function pulseColour(a: AlarmView): string {
  return a.kind === 'drill' ? '75,46,131' : a.state === 'pre-alarm' ? '217,119,6' : a.state === 'hushed' ? '31,95,191' : '196,22,28';
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;
}

/** Copies text; over plain HTTP on the LAN (no secure context) with the old textarea way. */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Fall back below.
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

function CopyCoords({ lat, lon }: { lat: number; lon: number }) {
  const [done, setDone] = useState<boolean | null>(null);
  const text = coordsText(lat, lon);
  return (
    <button
      type="button"
      class="btn small ghost map-copy"
      data-coords={text}
      onClick={async () => {
        const ok = await copyText(text);
        setDone(ok);
        setTimeout(() => setDone(null), 2500);
      }}
    >
      {done === null ? t('map.copy') : done ? t('map.copied') : text}
    </button>
  );
}

export function MapPage() {
  const app = useApp();
  const { list, error, loading, refresh } = useHouseholds();
  const index = useMemo(() => (list ? buildPlanIndex(list) : null), [list]);
  const alarms = Object.values(app.alarms);
  const alarmsKey = alarms.map((a) => `${a.alarm}:${a.state}:${a.team}:${a.origin.household}:${(a.nearbyHouseholds ?? []).join(',')}`).join('|');

  const hostRef = useRef<HTMLDivElement>(null);
  const [plan, setPlan] = useState<LeafletPlan | null>(null);
  const [planError, setPlanError] = useState<unknown>(null);
  const [files, setFiles] = useState<{ files: MapFile[]; nearbyRadiusM: number } | null>(null);
  const [chosen, setChosen] = useState<string | null>(savedMapFile);
  const file = files ? pickMapFile(files.files, chosen) : null;
  const choices = files ? drawable(files.files) : [];

  useEffect(() => {
    let alive = true;
    let made: LeafletPlan | null = null;
    import('../map/leaflet-plan.ts').then(
      ({ LeafletPlan }) => {
        if (!alive || !hostRef.current) return;
        made = new LeafletPlan(hostRef.current, { label: t('map.canvasLabel'), onOpen: (id) => navigate(householdPath(id)) });
        setPlan(made);
      },
      (err) => alive && setPlanError(err),
    );
    return () => {
      alive = false;
      made?.destroy();
    };
  }, []);

  const loadFiles = () => mapFiles().then(setFiles, () => setFiles({ files: [], nearbyRadiusM: 0 }));
  useEffect(() => {
    void loadFiles();
  }, []);

  useEffect(() => plan?.setHouseholds(index), [plan, index]);
  useEffect(() => {
    if (!plan) return;
    const view: PlanAlarm[] = alarms.map((a) => ({ household: a.origin.household, team: a.team, colour: pulseColour(a), nearby: a.nearbyHouseholds ?? [] }));
    plan.setAlarms(view, files?.nearbyRadiusM ?? 0);
  }, [plan, alarmsKey, files?.nearbyRadiusM]);
  useEffect(() => {
    if (plan && files) void plan.setMapFile(file);
  }, [plan, files, file?.name, file?.bytes, file?.modifiedAt]);

  const kindText = (f: MapFile) => t(f.kind === 'raster' ? 'map.kindRaster' : f.kind === 'vector' ? 'map.kindVector' : 'map.kindUnknown');

  const positionOf = (household: string) => {
    const i = index?.byId.get(household);
    return i === undefined || !index ? null : index.items[i]!;
  };

  return (
    <section class="page map-page" aria-labelledby="map-title">
      <div class="page-head">
        <h1 id="map-title">{t('map.title')}</h1>
        <div class="toolbar">
          <button type="button" class="btn" onClick={() => plan?.zoomIn()} aria-label={t('map.zoomIn')}>
            +
          </button>
          <button type="button" class="btn" onClick={() => plan?.zoomOut()} aria-label={t('map.zoomOut')}>
            −
          </button>
          <button type="button" class="btn" onClick={() => plan?.fit()}>
            {t('map.reset')}
          </button>
          <button
            type="button"
            class="btn ghost"
            onClick={() => {
              refresh();
              void loadFiles();
            }}
          >
            {t('common.refresh')}
          </button>
        </div>
      </div>
      <ErrorBox error={error ?? planError} onRetry={refresh} />
      {loading && !list && <p class="muted">{t('common.loading')}</p>}
      {list && index && index.items.length === 0 && <p class="notice-box">{t('map.noPositions')}</p>}
      <div class="map-grid">
        <div class="map-wrap">
          <div class="map-host" ref={hostRef} tabIndex={0} />
        </div>
        <aside class="map-side">
          <p class="muted">{t('map.help')}</p>
          {index && <p>{t('map.households', { n: index.items.length, m: (list?.length ?? 0) - index.items.length })}</p>}
          <p class="map-file" data-file={file?.name ?? ''}>
            {files === null
              ? t('common.loading')
              : file
                ? t('map.file', { name: file.name, kind: kindText(file), size: formatBytes(file.bytes) })
                : t('map.fileNone')}
          </p>
          {file && choices.length > 1 && (
            <label class="map-picker">
              {t('map.pick')}
              <select
                id="map-file-picker"
                value={file.name}
                onChange={(e) => {
                  const name = (e.target as HTMLSelectElement).value;
                  saveMapFile(name);
                  setChosen(name);
                }}
              >
                {choices.map((f) => (
                  <option key={f.name} value={f.name}>
                    {f.name} ({kindText(f)})
                  </option>
                ))}
              </select>
            </label>
          )}
          <ul class="legend">
            <li>
              <span class="swatch" style={{ background: '#4b5058' }} aria-hidden="true" /> {t('map.legendHousehold')}
            </li>
            <li>
              <span class="swatch outline" aria-hidden="true" /> {t('map.legendOutline')}
            </li>
            <li>
              <span class="swatch" style={{ background: '#1f5fbf' }} aria-hidden="true" /> {t('map.legendTeam')}
            </li>
            <li>
              <span class="swatch" style={{ background: '#d97706' }} aria-hidden="true" /> {t('map.legendNearby', { m: files?.nearbyRadiusM ?? 0 })}
            </li>
            <li>
              <span class="swatch round" style={{ background: '#c4161c' }} aria-hidden="true" /> {t('map.legendAlarm')}
            </li>
          </ul>
          <h2>{t('map.alarms')}</h2>
          {alarms.length === 0 ? (
            <p class="muted">{t('board.empty')}</p>
          ) : (
            <ul class="map-alarms">
              {alarms.map((a) => {
                const pos = positionOf(a.origin.household);
                return (
                  <li key={a.alarm}>
                    <div>
                      <button type="button" class="btn small" onClick={() => pos && plan?.focus(pos.lat, pos.lon)}>
                        {a.origin.name || a.origin.household}
                      </button>{' '}
                      <StateBadge state={a.state} />{' '}
                      <a class="id" href={`#${householdPath(a.origin.household)}`}>
                        {a.origin.household}
                      </a>
                    </div>
                    {pos && (
                      <div class="map-route">
                        <a class="btn small map-geo" href={geoUri(pos.lat, pos.lon, a.origin.name || a.origin.household)}>
                          {t('map.geo')}
                        </a>{' '}
                        <CopyCoords lat={pos.lat} lon={pos.lon} /> <span class="id">{coordsText(pos.lat, pos.lon)}</span>
                      </div>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </aside>
      </div>
    </section>
  );
}
