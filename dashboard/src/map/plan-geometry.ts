/**
 * Geometry of the area plan on a Web Mercator map (the projection of street tiles), pure: every
 * household projected once to "world" pixels at zoom 0 (a 256×256 square), so that drawing at a
 * zoom is a multiply and a subtraction per house, with no per-house library call; team outlines
 * (convex hulls), the nearby radius in world pixels, the nearest house to a point.
 */
export const TILE = 256;
const EARTH_CIRCUMFERENCE_M = 40_075_016.686;
const MAX_LAT = 85.0511287798;

export function worldX(lon: number): number {
  return ((lon + 180) / 360) * TILE;
}
export function worldY(lat: number): number {
  const s = Math.sin((Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180);
  return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * TILE;
}

/** Metres on the ground at a latitude, in world pixels (zoom 0). */
export function metresToWorld(m: number, lat: number): number {
  return (m / (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180))) * TILE;
}

export interface PlanPoint {
  id: string;
  team: string;
  lat: number;
  lon: number;
}

export interface PlanIndex<T extends PlanPoint> {
  items: T[];
  xs: Float64Array;
  ys: Float64Array;
  byId: Map<string, number>;
  /** Each team's outline: its convex hull in world pixels (1 or 2 points for tiny teams). */
  outlines: Map<string, Float64Array>;
}

/** Andrew's monotone chain; returns the hull as x0,y0,x1,y1,… counter-clockwise (screen axes). */
export function convexHull(points: [number, number][]): [number, number][] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const uniq = p.filter((q, i) => i === 0 || q[0] !== p[i - 1]![0] || q[1] !== p[i - 1]![1]);
  if (uniq.length < 3) return uniq;
  const cross = (o: [number, number], a: [number, number], b: [number, number]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const q of uniq) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: [number, number][] = [];
  for (let i = uniq.length - 1; i >= 0; i--) {
    const q = uniq[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push(q);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

export function buildPlanIndex<T extends { id: string; team: string; lat: number | null; lon: number | null }>(list: readonly T[]): PlanIndex<T & PlanPoint> {
  const items = list.filter((h): h is T & PlanPoint => h.lat !== null && h.lon !== null && Number.isFinite(h.lat) && Number.isFinite(h.lon));
  const xs = new Float64Array(items.length);
  const ys = new Float64Array(items.length);
  const byId = new Map<string, number>();
  const byTeam = new Map<string, [number, number][]>();
  items.forEach((h, i) => {
    xs[i] = worldX(h.lon);
    ys[i] = worldY(h.lat);
    byId.set(h.id, i);
    let pts = byTeam.get(h.team);
    if (!pts) byTeam.set(h.team, (pts = []));
    pts.push([xs[i]!, ys[i]!]);
  });
  const outlines = new Map<string, Float64Array>();
  for (const [team, pts] of byTeam) outlines.set(team, Float64Array.from(convexHull(pts).flat()));
  return { items, xs, ys, byId, outlines };
}

/** The index of the house nearest to world point (wx, wy) within `maxWorld`, or -1. */
export function nearest(index: { xs: Float64Array; ys: Float64Array }, wx: number, wy: number, maxWorld: number): number {
  let best = -1;
  let bestD = maxWorld * maxWorld;
  for (let i = 0; i < index.xs.length; i++) {
    const d = (index.xs[i]! - wx) ** 2 + (index.ys[i]! - wy) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** `geo:` URI (RFC 5870) of a position, 6 decimals (~0.1 m): opens the phone's map app, ready to route. */
export function geoUri(lat: number, lon: number, label?: string): string {
  const p = `${lat.toFixed(6)},${lon.toFixed(6)}`;
  return label ? `geo:${p}?q=${p}(${encodeURIComponent(label)})` : `geo:${p}`;
}
export function coordsText(lat: number, lon: number): string {
  return `${lat.toFixed(6)}, ${lon.toFixed(6)}`;
}
