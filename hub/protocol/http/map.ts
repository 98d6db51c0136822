/** `GET /api/map`, `GET /api/map/:name`: the operator's offline map files (DATA/map/*.pmtiles). */
import { Type, type Static } from 'typebox';

/** A map file's name: letters, digits, `_ . -`, ending in `.pmtiles` (no path). */
export const MAP_FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,90}\.pmtiles$/;
/** The most bytes one Range answer carries (a longer range is answered with its first MAX_RANGE_BYTES). */
export const MAX_RANGE_BYTES = 1024 * 1024;

export const MapKind = Type.Union([Type.Literal('raster'), Type.Literal('vector'), Type.Literal('unknown')], {
  description: 'raster (PNG/JPEG/WebP/AVIF tiles), vector (Mapbox Vector Tiles) or unknown (not a PMTiles v3 file)',
});
export type MapKind = Static<typeof MapKind>;

export const MapFile = Type.Object({
  name: Type.String({ description: 'the file name in DATA/map, e.g. quang-ninh.pmtiles' }),
  bytes: Type.Integer({ minimum: 0 }),
  kind: MapKind,
  tileType: Type.String({ description: 'mvt, png, jpeg, webp, avif, mlt or unknown' }),
  minZoom: Type.Union([Type.Integer(), Type.Null()]),
  maxZoom: Type.Union([Type.Integer(), Type.Null()]),
  bounds: Type.Union([Type.Array(Type.Number(), { minItems: 4, maxItems: 4 }), Type.Null()], { description: '[west, south, east, north] in degrees' }),
  modifiedAt: Type.Number({ description: 'milliseconds since the epoch' }),
});
export type MapFile = Static<typeof MapFile>;

export const MapFilesAnswer = Type.Object(
  {
    files: Type.Array(MapFile),
    nearbyRadiusM: Type.Number({ minimum: 0, description: "the hub's --nearby-radius: metres around a fire within which other teams' households are alerted" }),
  },
  { description: 'the map files in DATA/map, by name, and what the area plan highlights around an alarm' },
);
export type MapFilesAnswer = Static<typeof MapFilesAnswer>;

export const MapFileParams = Type.Object({ name: Type.String({ description: 'a file name listed by GET /api/map (…\\.pmtiles)', maxLength: 100 }) });
