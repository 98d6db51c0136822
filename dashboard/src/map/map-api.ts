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

/** The file the plan draws: a raster or vector one (the first by name; raster first when both). */
export function pickMapFile(files: readonly MapFile[]): MapFile | null {
  return files.find((f) => f.kind === 'raster') ?? files.find((f) => f.kind === 'vector') ?? null;
}
