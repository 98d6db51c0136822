/** Distances on the Earth's surface (pure): who lives near a fire, across team boundaries. */

const EARTH_RADIUS_M = 6_371_008.8;
const rad = (deg: number) => (deg * Math.PI) / 180;

export interface Located {
  id: string;
  team: string;
  lat: number | null;
  lon: number | null;
}

/** Great-circle distance in metres (haversine). */
export function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Households of other teams within `radiusM` of `origin`, nearest first. Households without
 * coordinates are never "nearby" (and an origin without them has nobody nearby).
 */
export function householdsNear(origin: Located, all: Iterable<Located>, radiusM: number): string[] {
  if (radiusM <= 0 || origin.lat === null || origin.lon === null) return [];
  // A cheap latitude band first: 1° of latitude is ~111 km everywhere.
  const band = radiusM / 111_000 + 1e-6;
  const out: Array<[number, string]> = [];
  for (const h of all) {
    if (h.team === origin.team || h.id === origin.id || h.lat === null || h.lon === null) continue;
    if (Math.abs(h.lat - origin.lat) > band) continue;
    const d = distanceM(origin.lat, origin.lon, h.lat, h.lon);
    if (d <= radiusM) out.push([d, h.id]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, id]) => id);
}
