/**
 * Area plan: every household drawn by lat/lon on a plain canvas (no map tiles: the hub is offline).
 * Two layers: the households (redrawn only when the view or the data changes, one path for all
 * 16,000 dots) and the alarms (pulsing, redrawn each animation frame while any is open).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { StateBadge } from '../components/badges.tsx';
import { useHouseholds } from '../households-cache.ts';
import { boundsOf, makeProjection } from '../geo.ts';
import { householdPath, navigate } from '../router.ts';
import { t, useApp } from '../store.ts';
import type { HouseholdInfo } from '../api.ts';

interface World {
  /** Households with a position, in projection order. */
  items: HouseholdInfo[];
  /** World coordinates (pixels at zoom 1, in a WORLD×WORLD box). */
  xs: Float32Array;
  ys: Float32Array;
  byId: Map<string, number>;
  missing: number;
}
const WORLD = 1000;

function buildWorld(list: HouseholdInfo[]): World | null {
  const b = boundsOf(list);
  if (!b) return null;
  const proj = makeProjection(b, WORLD, WORLD, 20);
  const items = list.filter((h) => h.lat !== null && h.lon !== null);
  const xs = new Float32Array(items.length);
  const ys = new Float32Array(items.length);
  const byId = new Map<string, number>();
  items.forEach((h, i) => {
    xs[i] = proj.x(h.lon!);
    ys[i] = proj.y(h.lat!);
    byId.set(h.id, i);
  });
  return { items, xs, ys, byId, missing: list.length - items.length };
}

interface View {
  zoom: number;
  /** World point at the centre of the canvas. */
  cx: number;
  cy: number;
}

export function MapPage() {
  const app = useApp();
  const { list, error, loading, refresh } = useHouseholds();
  const world = useMemo(() => (list ? buildWorld(list) : null), [list]);
  const alarms = Object.values(app.alarms);
  const alarmTeams = useMemo(() => new Set(alarms.map((a) => a.team)), [alarms.map((a) => a.team).join('|')]);

  const wrapRef = useRef<HTMLDivElement>(null);
  const baseRef = useRef<HTMLCanvasElement>(null);
  const overRef = useRef<HTMLCanvasElement>(null);
  const [size, setSize] = useState({ w: 800, h: 560 });
  const [view, setView] = useState<View>({ zoom: 1, cx: WORLD / 2, cy: WORLD / 2 });
  const fitZoom = Math.min(size.w, size.h) / WORLD;
  const scale = fitZoom * view.zoom;
  const toScreen = (x: number, y: number): [number, number] => [(x - view.cx) * scale + size.w / 2, (y - view.cy) * scale + size.h / 2];

  useEffect(() => {
    const el = wrapRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setSize({ w: Math.max(200, el.clientWidth), h: Math.max(200, el.clientHeight) }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Base layer: households.
  useEffect(() => {
    const c = baseRef.current;
    if (!c || !world) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(size.w * dpr);
    c.height = Math.round(size.h * dpr);
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#f4f1ea';
    g.fillRect(0, 0, size.w, size.h);
    const r = Math.max(1.2, Math.min(5, 1.2 * Math.sqrt(view.zoom)));
    const drawSet = (pick: (h: HouseholdInfo) => boolean, colour: string, radius: number) => {
      g.beginPath();
      for (let i = 0; i < world.items.length; i++) {
        if (!pick(world.items[i]!)) continue;
        const [x, y] = toScreen(world.xs[i]!, world.ys[i]!);
        if (x < -5 || y < -5 || x > size.w + 5 || y > size.h + 5) continue;
        g.rect(x - radius, y - radius, radius * 2, radius * 2);
      }
      g.fillStyle = colour;
      g.fill();
    };
    drawSet((h) => !alarmTeams.has(h.team), '#6b6f76', r);
    if (alarmTeams.size) drawSet((h) => alarmTeams.has(h.team), '#1f5fbf', r + 1.5);
    c.dataset.drawn = String(world.items.length);
  }, [world, size, view, alarmTeams]);

  // Overlay: pulsing alarms.
  useEffect(() => {
    const c = overRef.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(size.w * dpr);
    c.height = Math.round(size.h * dpr);
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const points = alarms
      .map((a) => {
        const i = world?.byId.get(a.origin.household);
        return i === undefined || !world ? null : { a, x: world.xs[i]!, y: world.ys[i]! };
      })
      .filter((p): p is { a: AlarmView; x: number; y: number } => p !== null);
    let raf = 0;
    const reduced = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    const frame = (ms: number) => {
      g.clearRect(0, 0, size.w, size.h);
      const phase = reduced ? 0.5 : (ms % 1200) / 1200;
      for (const p of points) {
        const [x, y] = toScreen(p.x, p.y);
        // Purple: a drill; amber: pre-alarm; blue: hushed (silenced by the household, watched); red otherwise.
        const colour = p.a.kind === 'drill' ? '75,46,131' : p.a.state === 'pre-alarm' ? '217,119,6' : p.a.state === 'hushed' ? '31,95,191' : '196,22,28';
        g.beginPath();
        g.arc(x, y, 7 + 22 * phase, 0, Math.PI * 2);
        g.fillStyle = `rgba(${colour},${0.45 * (1 - phase)})`;
        g.fill();
        g.beginPath();
        g.arc(x, y, 7, 0, Math.PI * 2);
        g.fillStyle = `rgb(${colour})`;
        g.fill();
        g.lineWidth = 2;
        g.strokeStyle = '#fff';
        g.stroke();
      }
      if (points.length && !reduced) raf = requestAnimationFrame(frame);
    };
    raf = requestAnimationFrame(frame);
    c.dataset.alarms = String(points.length);
    return () => cancelAnimationFrame(raf);
  }, [world, size, view, alarms.map((a) => `${a.alarm}:${a.state}`).join('|')]);

  // Interaction: drag to pan, wheel to zoom, keys, click to open a household.
  const drag = useRef<{ x: number; y: number; cx: number; cy: number; moved: boolean } | null>(null);
  const zoomAt = (factor: number, sx = size.w / 2, sy = size.h / 2) =>
    setView((v) => {
      const zoom = Math.min(200, Math.max(0.5, v.zoom * factor));
      const s0 = fitZoom * v.zoom;
      const s1 = fitZoom * zoom;
      const wx = (sx - size.w / 2) / s0 + v.cx;
      const wy = (sy - size.h / 2) / s0 + v.cy;
      return { zoom, cx: wx - (sx - size.w / 2) / s1, cy: wy - (sy - size.h / 2) / s1 };
    });
  const panBy = (dx: number, dy: number) => setView((v) => ({ ...v, cx: v.cx + dx / scale, cy: v.cy + dy / scale }));
  const focusOn = (household: string) => {
    const i = world?.byId.get(household);
    if (i === undefined || !world) return;
    setView((v) => ({ zoom: Math.max(v.zoom, 8), cx: world.xs[i]!, cy: world.ys[i]! }));
  };
  const pick = (sx: number, sy: number): HouseholdInfo | null => {
    if (!world) return null;
    let best = -1;
    let bestD = 10 * 10;
    for (let i = 0; i < world.items.length; i++) {
      const [x, y] = toScreen(world.xs[i]!, world.ys[i]!);
      const d = (x - sx) ** 2 + (y - sy) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best >= 0 ? world.items[best]! : null;
  };

  const onPointerDown = (e: PointerEvent) => {
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, cx: view.cx, cy: view.cy, moved: false };
  };
  const onPointerMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) d.moved = true;
    if (d.moved) setView((v) => ({ ...v, cx: d.cx - dx / scale, cy: d.cy - dy / scale }));
  };
  const onPointerUp = (e: PointerEvent) => {
    const d = drag.current;
    drag.current = null;
    if (d && !d.moved) {
      const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
      const h = pick(e.clientX - rect.left, e.clientY - rect.top);
      if (h) navigate(householdPath(h.id));
    }
  };
  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - rect.left, e.clientY - rect.top);
  };
  const onKey = (e: KeyboardEvent) => {
    const step = 60;
    const actions: Record<string, () => void> = {
      ArrowLeft: () => panBy(-step, 0),
      ArrowRight: () => panBy(step, 0),
      ArrowUp: () => panBy(0, -step),
      ArrowDown: () => panBy(0, step),
      '+': () => zoomAt(1.25),
      '=': () => zoomAt(1.25),
      '-': () => zoomAt(0.8),
      '0': () => setView({ zoom: 1, cx: WORLD / 2, cy: WORLD / 2 }),
    };
    const a = actions[e.key];
    if (a) {
      e.preventDefault();
      a();
    }
  };

  return (
    <section class="page map-page" aria-labelledby="map-title">
      <div class="page-head">
        <h1 id="map-title">{t('map.title')}</h1>
        <div class="toolbar">
          <button type="button" class="btn" onClick={() => zoomAt(1.25)} aria-label={t('map.zoomIn')}>
            +
          </button>
          <button type="button" class="btn" onClick={() => zoomAt(0.8)} aria-label={t('map.zoomOut')}>
            −
          </button>
          <button type="button" class="btn" onClick={() => setView({ zoom: 1, cx: WORLD / 2, cy: WORLD / 2 })}>
            {t('map.reset')}
          </button>
          <button type="button" class="btn ghost" onClick={refresh}>
            {t('common.refresh')}
          </button>
        </div>
      </div>
      <ErrorBox error={error} onRetry={refresh} />
      {loading && !list && <p class="muted">{t('common.loading')}</p>}
      {list && !world && <p class="notice-box">{t('map.noPositions')}</p>}
      <div class="map-grid">
        <div class="map-wrap" ref={wrapRef}>
          <canvas ref={baseRef} class="map-base" style={{ width: `${size.w}px`, height: `${size.h}px` }} aria-hidden="true" />
          <canvas
            ref={overRef}
            class="map-over"
            tabIndex={0}
            role="img"
            aria-label={t('map.canvasLabel')}
            style={{ width: `${size.w}px`, height: `${size.h}px` }}
            onPointerDown={onPointerDown}
            onPointerMove={onPointerMove}
            onPointerUp={onPointerUp}
            onWheel={onWheel}
            onKeyDown={onKey}
          />
        </div>
        <aside class="map-side">
          <p class="muted">{t('map.help')}</p>
          {world && <p>{t('map.households', { n: world.items.length, m: world.missing })}</p>}
          <ul class="legend">
            <li>
              <span class="swatch" style={{ background: '#6b6f76' }} aria-hidden="true" /> {t('map.legendHousehold')}
            </li>
            <li>
              <span class="swatch" style={{ background: '#1f5fbf' }} aria-hidden="true" /> {t('map.legendTeam')}
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
              {alarms.map((a) => (
                <li key={a.alarm}>
                  <button type="button" class="btn small" onClick={() => focusOn(a.origin.household)}>
                    {a.origin.name || a.origin.household}
                  </button>{' '}
                  <StateBadge state={a.state} />{' '}
                  <a class="id" href={`#${householdPath(a.origin.household)}`}>
                    {a.origin.household}
                  </a>
                </li>
              ))}
            </ul>
          )}
        </aside>
      </div>
    </section>
  );
}
