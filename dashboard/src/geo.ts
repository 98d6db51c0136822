/** Geometry on households' lat/lon: great-circle distance and a flat projection for the area plan. Pure. */
const EARTH_RADIUS_M = 6_371_008.8;
const rad = (d: number) => (d * Math.PI) / 180;

/** Haversine distance in metres. */
export function distanceMeters(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

export interface Bounds {
  minLat: number;
  maxLat: number;
  minLon: number;
  maxLon: number;
}
export function boundsOf(points: Iterable<{ lat: number | null; lon: number | null }>): Bounds | null {
  let b: Bounds | null = null;
  for (const p of points) {
    if (p.lat === null || p.lon === null) continue;
    if (!b) b = { minLat: p.lat, maxLat: p.lat, minLon: p.lon, maxLon: p.lon };
    else {
      if (p.lat < b.minLat) b.minLat = p.lat;
      if (p.lat > b.maxLat) b.maxLat = p.lat;
      if (p.lon < b.minLon) b.minLon = p.lon;
      if (p.lon > b.maxLon) b.maxLon = p.lon;
    }
  }
  return b;
}

/**
 * Equirectangular projection of the bounds into a width×height box with padding, keeping the
 * aspect (metres east and north at the centre latitude). Returns x/y in box pixels at zoom 1.
 */
export function makeProjection(b: Bounds, width: number, height: number, pad = 24): { x: (lon: number) => number; y: (lat: number) => number; scale: number } {
  const kx = Math.cos(rad((b.minLat + b.maxLat) / 2));
  const spanX = Math.max((b.maxLon - b.minLon) * kx, 1e-6);
  const spanY = Math.max(b.maxLat - b.minLat, 1e-6);
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const offX = (width - spanX * scale) / 2;
  const offY = (height - spanY * scale) / 2;
  return {
    x: (lon) => offX + (lon - b.minLon) * kx * scale,
    y: (lat) => height - offY - (lat - b.minLat) * scale,
    scale,
  };
}
