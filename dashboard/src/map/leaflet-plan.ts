/**
 * The area plan on Leaflet, loaded only by the map page (its own chunk: Leaflet, pmtiles, and
 * protomaps-leaflet only when the map file is a vector one). Under the households: the operator's
 * offline street map (DATA/map/*.pmtiles, read by byte ranges from the hub) or nothing (today's
 * plain plan). Over it, one canvas layer for all households (one path per colour, redrawn when a
 * move or zoom ends, carried by a CSS transform while dragging or animating, like Leaflet's own
 * canvas renderer) with team outlines, and a second canvas for the alarms (pulsing), the alarm's
 * team, its nearby radius and the nearby households. A scale bar; a click opens the nearest house.
 */
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { PMTiles, leafletRasterLayer } from 'pmtiles';
import { metresToWorld, nearest, type PlanIndex, type PlanPoint } from './plan-geometry.ts';
import { mapFileUrl, type MapFile } from './map-api.ts';

// pmtiles' and protomaps-leaflet's Leaflet layers extend the global L.
(globalThis as unknown as { L?: typeof L }).L ??= L;

export interface PlanAlarm {
  household: string;
  team: string;
  /** r,g,b of the pulse. */
  colour: string;
  nearby: readonly string[];
}

export interface PlanOptions {
  label: string;
  onOpen(household: string): void;
}

const PAD = 0.3;
const OSM_ATTRIBUTION = '© OpenStreetMap contributors';

/** Households' dot size (px) by zoom. */
function dotRadius(zoom: number): number {
  return Math.max(1.5, Math.min(6, 1.5 + (zoom - 12) * 0.75));
}

class HouseLayer extends L.Layer {
  index: PlanIndex<PlanPoint> | null = null;
  alarms: PlanAlarm[] = [];
  radiusM = 0;
  private box!: HTMLDivElement;
  readonly base = document.createElement('canvas');
  readonly over = document.createElement('canvas');
  private min = L.point(0, 0);
  private zoom = 0;
  private center = L.latLng(0, 0);
  private w = 0;
  private h = 0;
  private raf = 0;
  private alarmTeams = new Set<string>();
  private nearbySet = new Set<string>();
  /** Last full redraw, ms (a diagnostic for tests: data-redraw-ms). */
  redrawMs = 0;

  override onAdd(map: L.Map): this {
    this.box = L.DomUtil.create('div', 'map-houses');
    if ((map as unknown as { _zoomAnimated: boolean })._zoomAnimated) L.DomUtil.addClass(this.box, 'leaflet-zoom-animated');
    this.base.className = 'map-base';
    this.over.className = 'map-over';
    this.base.setAttribute('aria-hidden', 'true');
    this.over.setAttribute('aria-hidden', 'true');
    this.box.append(this.base, this.over);
    map.getPane('overlayPane')!.appendChild(this.box);
    this.update();
    return this;
  }
  override onRemove(): this {
    cancelAnimationFrame(this.raf);
    this.box.remove();
    return this;
  }
  override getEvents(): Record<string, L.LeafletEventHandlerFn> {
    const map = this._map as L.Map;
    const ev: Record<string, L.LeafletEventHandlerFn> = {
      viewreset: () => {
        this.update();
        this.transform(this.center, this.zoom);
      },
      zoom: () => this.transform(map.getCenter(), map.getZoom()),
      moveend: () => this.update(),
      resize: () => this.update(),
    };
    if ((map as unknown as { _zoomAnimated: boolean })._zoomAnimated)
      ev.zoomanim = (e) => this.transform((e as L.ZoomAnimEvent).center, (e as L.ZoomAnimEvent).zoom);
    return ev;
  }

  /** While zooming: scale what was drawn (Leaflet's L.Renderer._updateTransform). */
  private transform(center: L.LatLng, zoom: number): void {
    const map = this._map as L.Map & { _getNewPixelOrigin(c: L.LatLng, z: number): L.Point };
    const scale = map.getZoomScale(zoom, this.zoom);
    const viewHalf = map.getSize().multiplyBy(0.5 + PAD);
    const centerPoint = map.project(this.center, zoom);
    const topLeft = viewHalf.multiplyBy(-scale).add(centerPoint).subtract(map._getNewPixelOrigin(center, zoom));
    L.DomUtil.setTransform(this.box, topLeft, scale);
  }

  /** After a move or zoom: place the canvases over the view (with a margin) and redraw. */
  update(): void {
    const map = this._map as L.Map | undefined;
    if (!map) return;
    const size = map.getSize();
    this.min = map.containerPointToLayerPoint(size.multiplyBy(-PAD)).round();
    this.w = Math.round(size.x * (1 + 2 * PAD));
    this.h = Math.round(size.y * (1 + 2 * PAD));
    this.zoom = map.getZoom();
    this.center = map.getCenter();
    L.DomUtil.setPosition(this.box, this.min);
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.base, this.over]) {
      c.width = Math.round(this.w * dpr);
      c.height = Math.round(this.h * dpr);
      c.style.width = `${this.w}px`;
      c.style.height = `${this.h}px`;
    }
    this.drawBase();
    this.startOverlay();
  }

  /** Canvas x/y of world pixel coordinates at the drawn zoom. */
  private frame(): { k: number; ox: number; oy: number } {
    const map = this._map as L.Map;
    const k = 2 ** this.zoom;
    const origin = map.getPixelOrigin();
    return { k, ox: origin.x + this.min.x, oy: origin.y + this.min.y };
  }

  setAlarms(alarms: PlanAlarm[], radiusM: number): void {
    this.alarms = alarms;
    this.radiusM = radiusM;
    this.alarmTeams = new Set(alarms.map((a) => a.team));
    this.nearbySet = new Set(alarms.flatMap((a) => a.nearby));
    if (this._map) {
      this.drawBase();
      this.startOverlay();
    }
  }

  drawBase(): void {
    const idx = this.index;
    if (!this._map) return;
    const t0 = performance.now();
    const g = this.base.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, this.w, this.h);
    if (!idx) return;
    const { k, ox, oy } = this.frame();
    const r = dotRadius(this.zoom);
    const W = this.w;
    const H = this.h;

    // Team outlines: a padded hull per team (halo stroke), the alarm's team in strong blue.
    g.lineJoin = 'round';
    g.lineCap = 'round';
    const outline = (pts: Float64Array, path: Path2D): boolean => {
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (let j = 0; j < pts.length; j += 2) {
        const x = pts[j]! * k - ox;
        const y = pts[j + 1]! * k - oy;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
      if (maxX < -20 || maxY < -20 || minX > W + 20 || minY > H + 20) return false;
      for (let j = 0; j < pts.length; j += 2) {
        const x = pts[j]! * k - ox;
        const y = pts[j + 1]! * k - oy;
        if (j === 0) path.moveTo(x, y);
        else path.lineTo(x, y);
      }
      path.closePath();
      return true;
    };
    const teams = new Path2D();
    const hot = new Path2D();
    const labels: [string, number, number][] = [];
    let drawnOutlines = 0;
    for (const [team, pts] of idx.outlines) {
      const into = this.alarmTeams.has(team) ? hot : teams;
      const shown = outline(pts, into);
      if (shown) drawnOutlines++;
      if (shown && this.zoom >= 16) {
        let cx = 0;
        let top = Infinity;
        for (let j = 0; j < pts.length; j += 2) {
          cx += pts[j]!;
          top = Math.min(top, pts[j + 1]!);
        }
        labels.push([team, (cx / (pts.length / 2)) * k - ox, top * k - oy - r - 8]);
      }
    }
    // The padded halo (a wide round-joined stroke) only when teams are big enough to need it: it is the costly part.
    const halo = 2 * r + 10;
    const withHalo = this.zoom >= 14;
    // Filled one team at a time: Skia fills one path of 1,600 subpaths some twenty times slower.
    g.fillStyle = 'rgba(31,95,191,0.06)';
    for (const [team, pts] of idx.outlines) {
      if (this.alarmTeams.has(team)) continue;
      const one = new Path2D();
      if (outline(pts, one)) g.fill(one);
    }
    if (withHalo) {
      g.strokeStyle = 'rgba(31,95,191,0.16)';
      g.lineWidth = halo;
      g.stroke(teams);
    }
    g.strokeStyle = 'rgba(31,95,191,0.55)';
    g.lineWidth = 1;
    g.stroke(teams);
    if (this.alarmTeams.size) {
      g.fillStyle = 'rgba(31,95,191,0.18)';
      g.fill(hot);
      g.strokeStyle = 'rgba(31,95,191,0.35)';
      g.lineWidth = halo + 4;
      g.stroke(hot);
      g.strokeStyle = '#1f5fbf';
      g.lineWidth = 2.5;
      g.stroke(hot);
    }

    // Households: a few paths per colour (chunks of CHUNK squares: one huge path fills slower).
    const CHUNK = 512;
    const dots = (pick: (i: number) => boolean, fill: string, radius: number) => {
      g.fillStyle = fill;
      g.strokeStyle = '#fff';
      g.lineWidth = 1;
      let p = new Path2D();
      let n = 0;
      const flush = () => {
        if (n === 0) return;
        g.fill(p);
        if (radius >= 3) g.stroke(p);
        p = new Path2D();
        n = 0;
      };
      for (let i = 0; i < idx.items.length; i++) {
        if (!pick(i)) continue;
        const x = idx.xs[i]! * k - ox;
        const y = idx.ys[i]! * k - oy;
        if (x < -radius || y < -radius || x > W + radius || y > H + radius) continue;
        p.rect(x - radius, y - radius, radius * 2, radius * 2);
        if (++n === CHUNK) flush();
      }
      flush();
    };
    const special = this.alarmTeams.size > 0 || this.nearbySet.size > 0;
    const teamOf = (i: number) => idx.items[i]!.team;
    dots((i) => !special || (!this.alarmTeams.has(teamOf(i)) && !this.nearbySet.has(idx.items[i]!.id)), '#4b5058', r);
    if (this.alarmTeams.size) dots((i) => this.alarmTeams.has(teamOf(i)), '#1f5fbf', r + 1.5);
    if (this.nearbySet.size) dots((i) => this.nearbySet.has(idx.items[i]!.id), '#d97706', r + 1.5);

    if (labels.length && labels.length < 200) {
      g.font = '600 12px system-ui, sans-serif';
      g.textAlign = 'center';
      g.lineWidth = 3;
      g.strokeStyle = 'rgba(255,255,255,0.9)';
      g.fillStyle = '#1f3f7f';
      for (const [team, x, y] of labels) {
        g.strokeText(team, x, y);
        g.fillText(team, x, y);
      }
    }
    this.redrawMs = performance.now() - t0;
    this.base.dataset.drawn = String(idx.items.length);
    this.base.dataset.outlines = String(drawnOutlines);
    this.base.dataset.nearby = String(this.nearbySet.size);
    this.base.dataset.hotTeams = String(this.alarmTeams.size);
    this.base.dataset.redrawMs = this.redrawMs.toFixed(2);
  }

  private startOverlay(): void {
    cancelAnimationFrame(this.raf);
    const idx = this.index;
    const g = this.over.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    const points = idx
      ? this.alarms.flatMap((a) => {
          const i = idx.byId.get(a.household);
          return i === undefined ? [] : [{ a, x: idx.xs[i]!, y: idx.ys[i]!, lat: idx.items[i]!.lat }];
        })
      : [];
    this.over.dataset.alarms = String(points.length);
    const reduced = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    const frame = (ms: number) => {
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, this.w, this.h);
      if (!this._map) return;
      const { k, ox, oy } = this.frame();
      const phase = reduced ? 0.5 : (ms % 1200) / 1200;
      for (const p of points) {
        const x = p.x * k - ox;
        const y = p.y * k - oy;
        if (this.radiusM > 0) {
          const rr = metresToWorld(this.radiusM, p.lat) * k;
          g.beginPath();
          g.arc(x, y, rr, 0, Math.PI * 2);
          g.fillStyle = 'rgba(217,119,6,0.10)';
          g.fill();
          g.setLineDash([6, 4]);
          g.lineWidth = 2;
          g.strokeStyle = 'rgba(217,119,6,0.9)';
          g.stroke();
          g.setLineDash([]);
        }
        g.beginPath();
        g.arc(x, y, 7 + 22 * phase, 0, Math.PI * 2);
        g.fillStyle = `rgba(${p.a.colour},${0.45 * (1 - phase)})`;
        g.fill();
        g.beginPath();
        g.arc(x, y, 7, 0, Math.PI * 2);
        g.fillStyle = `rgb(${p.a.colour})`;
        g.fill();
        g.lineWidth = 2;
        g.strokeStyle = '#fff';
        g.stroke();
      }
      if (points.length && !reduced) this.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
  }
}

export class LeafletPlan {
  readonly map: L.Map;
  private readonly houses = new HouseLayer();
  private tiles: L.Layer | null = null;
  private tileFile: string | null = null;
  private fitted = false;
  private bounds: L.LatLngBounds | null = null;

  constructor(
    el: HTMLElement,
    private readonly opts: PlanOptions,
  ) {
    this.map = L.map(el, {
      zoomControl: false,
      attributionControl: true,
      minZoom: 2,
      maxZoom: 20,
      zoomSnap: 0.25,
      zoomDelta: 1,
      wheelPxPerZoomLevel: 90,
      preferCanvas: true,
      worldCopyJump: false,
    });
    this.map.attributionControl.setPrefix(false);
    L.control.scale({ metric: true, imperial: false, position: 'bottomleft', maxWidth: 160 }).addTo(this.map);
    el.setAttribute('aria-label', opts.label);
    el.setAttribute('role', 'application');
    this.map.setView([16, 106], 5);
    this.houses.addTo(this.map);
    this.map.on('click', (e: L.LeafletMouseEvent) => {
      const id = this.houseAt(e.latlng);
      if (id) this.opts.onOpen(id);
    });
    let pending = false;
    this.map.on('mousemove', (e: L.LeafletMouseEvent) => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        el.classList.toggle('over-house', this.houseAt(e.latlng) !== null);
      });
    });
  }

  private houseAt(ll: L.LatLng): string | null {
    const idx = this.houses.index;
    if (!idx) return null;
    const k = 2 ** this.map.getZoom();
    const p = this.map.project(ll, 0);
    const i = nearest(idx, p.x, p.y, 12 / k);
    return i >= 0 ? idx.items[i]!.id : null;
  }

  setHouseholds(index: PlanIndex<PlanPoint> | null): void {
    this.houses.index = index;
    if (index && index.items.length) {
      let s = 90;
      let n = -90;
      let w = 180;
      let e = -180;
      for (const h of index.items) {
        s = Math.min(s, h.lat);
        n = Math.max(n, h.lat);
        w = Math.min(w, h.lon);
        e = Math.max(e, h.lon);
      }
      this.bounds = L.latLngBounds([s, w], [n, e]);
      if (!this.fitted) {
        this.fitted = true;
        this.fit(false);
        return;
      }
    }
    this.houses.update();
  }

  setAlarms(alarms: PlanAlarm[], radiusM: number): void {
    this.houses.setAlarms(alarms, radiusM);
  }

  /** The street map under the households: a raster or vector PMTiles file from the hub, or none. */
  async setMapFile(file: MapFile | null): Promise<void> {
    const key = file ? `${file.name}:${file.bytes}:${file.modifiedAt}` : null;
    if (key === this.tileFile) return;
    this.tileFile = key;
    if (this.tiles) this.map.removeLayer(this.tiles);
    this.tiles = null;
    this.map.getContainer().classList.toggle('has-tiles', Boolean(file));
    if (!file) return;
    const bounds = file.bounds ? L.latLngBounds([file.bounds[1]!, file.bounds[0]!], [file.bounds[3]!, file.bounds[2]!]) : undefined;
    let layer: L.Layer;
    if (file.kind === 'vector') {
      const { leafletLayer } = await import('protomaps-leaflet');
      if (this.tileFile !== key) return;
      // protomaps-leaflet reads the archive with its own pmtiles copy (same-origin fetches, the session cookie).
      layer = leafletLayer({
        url: mapFileUrl(file.name),
        flavor: 'light',
        lang: 'vi',
        maxDataZoom: file.maxZoom ?? 15,
        attribution: OSM_ATTRIBUTION,
      }) as unknown as L.Layer;
    } else {
      layer = leafletRasterLayer(new PMTiles(mapFileUrl(file.name)), {
        maxNativeZoom: file.maxZoom ?? 18,
        minNativeZoom: file.minZoom ?? 0,
        maxZoom: 20,
        bounds,
        attribution: OSM_ATTRIBUTION,
        className: 'map-tiles',
      }) as L.Layer;
    }
    this.tiles = layer;
    layer.addTo(this.map);
    if (!this.bounds && bounds && !this.fitted) {
      this.fitted = true;
      this.map.fitBounds(bounds);
    }
  }

  fit(animate = true): void {
    if (this.bounds) this.map.fitBounds(this.bounds, { padding: [24, 24], maxZoom: 18, animate });
  }
  zoomIn(): void {
    this.map.zoomIn(1);
  }
  zoomOut(): void {
    this.map.zoomOut(1);
  }
  focus(lat: number, lon: number): void {
    this.map.setView([lat, lon], Math.max(this.map.getZoom(), 17));
  }
  /** Last households redraw, ms. */
  get redrawMs(): number {
    return this.houses.redrawMs;
  }
  destroy(): void {
    this.map.remove();
  }
}
