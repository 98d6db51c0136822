/** The hub's offline map files (`GET /api/map`) and the URL a PMTiles reader fetches ranges from. */
import { request } from '../api-core.ts';
import type { MapFile, MapFilesAnswer } from '../../../hub/protocol/http/map.ts';

export type { MapFile };

export async function mapFiles(): Promise<MapFilesAnswer> {
  const r = await request<MapFilesAnswer>('GET', '/api/map');
  return { files: Array.isArray(r.files) ? r.files : [], nearbyRadiusM: typeof r.nearbyRadiusM === 'number' ? r.nearbyRadiusM : 0 };
}

export function mapFileUrl(name: string): string {
  return `/api/map/${encodeURIComponent(name)}`;
}

/** A file the plan can draw (raster or vector tiles; not an unreadable one). */
export function drawable(files: readonly MapFile[]): MapFile[] {
  return files.filter((f) => f.kind === 'raster' || f.kind === 'vector');
}

/**
 * The file the plan draws: the station's choice when it is still there and drawable, else the
 * default (the first raster file by name, else the first vector one).
 */
export function pickMapFile(files: readonly MapFile[], chosen: string | null = null): MapFile | null {
  const ok = drawable(files);
  return ok.find((f) => f.name === chosen) ?? ok.find((f) => f.kind === 'raster') ?? ok[0] ?? null;
}

/** The station's choice of map file, remembered in this browser (localStorage). */
const MAP_FILE_KEY = 'smokehub.mapFile';
export function savedMapFile(): string | null {
  try {
    return localStorage.getItem(MAP_FILE_KEY);
  } catch {
    return null;
  }
}
export function saveMapFile(name: string | null): void {
  try {
    if (name) localStorage.setItem(MAP_FILE_KEY, name);
    else localStorage.removeItem(MAP_FILE_KEY);
  } catch {
    // Private mode or storage full: the choice lasts for this page only.
  }
}
