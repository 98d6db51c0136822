/**
 * The operator's offline street map: PMTiles v3 archives dropped in DATA/map (docs/dashboard.md).
 *   GET /api/map          the files (name, size, raster/vector, zooms, bounds) and the nearby radius
 *   GET /api/map/:name    the file itself, with HTTP Range requests (PMTiles reads byte ranges)
 * Any logged-in user may read them. Names are confined to DATA/map (a plain file name ending in
 * `.pmtiles`; no separators, no dot files, no symlink out of the folder). A Range answer is a 206
 * with the slice read at its offset (at most MAX_RANGE_BYTES: a longer range gets its first MiB,
 * as Content-Range says); a range past the end or one that cannot be parsed is a 416 with
 * `Content-Range: bytes * /size`; several ranges are not served (416). Without Range the whole file
 * is streamed (200). Strong ETag from size and mtime; If-None-Match → 304, If-Range honoured.
 */
import { createReadStream, type Stats } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ERROR_CODES, NotFoundError, SmokehubError } from '../protocol/errors.ts';
import { MAP_FILE_PATTERN, MAX_RANGE_BYTES, MapFileParams, MapFilesAnswer, type MapFile, type MapKind } from '../protocol/http/map.ts';
import type { ApiResponse, Router } from './router.ts';

export interface MapRouteDeps {
  /** DATA/map (it may not exist: no files). */
  dir: string;
  nearbyRadiusM: number;
}

export const PMTILES_CONTENT_TYPE = 'application/vnd.pmtiles';
const HEADER_BYTES = 127;
const TILE_TYPES: Record<number, [string, MapKind]> = {
  1: ['mvt', 'vector'],
  2: ['png', 'raster'],
  3: ['jpeg', 'raster'],
  4: ['webp', 'raster'],
  5: ['avif', 'raster'],
  6: ['mlt', 'vector'],
};

/** What a PMTiles v3 header says of the tiles (bytes 0..126), or unknown. */
export function describeHeader(b: Buffer): Pick<MapFile, 'kind' | 'tileType' | 'minZoom' | 'maxZoom' | 'bounds'> {
  if (b.length < HEADER_BYTES || b.toString('latin1', 0, 7) !== 'PMTiles' || b[7] !== 3) {
    return { kind: 'unknown', tileType: 'unknown', minZoom: null, maxZoom: null, bounds: null };
  }
  const [tileType, kind] = TILE_TYPES[b[99]!] ?? ['unknown', 'unknown'];
  const deg = (o: number) => b.readInt32LE(o) / 1e7;
  return { kind, tileType, minZoom: b[100]!, maxZoom: b[101]!, bounds: [deg(102), deg(106), deg(110), deg(114)] };
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against a size: the inclusive slice, or null when unsatisfiable or malformed. */
export function parseRange(header: string, size: number): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return null;
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (!Number.isSafeInteger(start) || start >= size || end < start) return null;
  return { start, end: Math.min(end, start + MAX_RANGE_BYTES - 1) };
}

class RangeNotSatisfiable extends SmokehubError {
  constructor(message: string) {
    super(ERROR_CODES.BAD_REQUEST, message);
  }
}

async function readSlice(path: string, start: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buf : buf.subarray(0, done);
  } finally {
    await fh.close();
  }
}

/** The file for a name, confined to the folder (also through symlinks), or a 404. */
async function resolveFile(dir: string, name: string): Promise<{ path: string; st: Stats }> {
  if (!MAP_FILE_PATTERN.test(name) || name.includes('..'))
    throw new NotFoundError(`no map file "${name.slice(0, 100)}" (names: letters, digits, _ . - ending in .pmtiles)`);
  try {
    const root = await realpath(dir);
    const path = await realpath(join(root, name));
    if (!path.startsWith(root + sep)) throw new Error('outside');
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a file');
    return { path, st };
  } catch {
    throw new NotFoundError(`no map file "${name}" in the hub's map folder`);
  }
}

export function etagOf(st: Stats): string {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
}

export async function listMapFiles(dir: string): Promise<MapFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: MapFile[] = [];
  for (const name of names.filter((n) => MAP_FILE_PATTERN.test(n)).sort()) {
    try {
      const { path, st } = await resolveFile(dir, name);
      const head = await readSlice(path, 0, Math.min(HEADER_BYTES, st.size));
      out.push({ name, bytes: st.size, modifiedAt: Math.floor(st.mtimeMs), ...describeHeader(head) });
    } catch {
      // Vanished or unreadable between the listing and the read: not listed.
    }
  }
  return out;
}

export function registerMapRoutes(router: Router, deps: MapRouteDeps): void {
  router.get('/api/map', async () => ({ body: { files: await listMapFiles(deps.dir), nearbyRadiusM: deps.nearbyRadiusM } }), {
    schema: { summary: 'The offline map files in DATA/map (PMTiles) and the nearby radius the area plan draws', response: { 200: MapFilesAnswer } },
  });

  router.get(
    '/api/map/:name',
    async (req): Promise<ApiResponse> => {
      const { path, st } = await resolveFile(deps.dir, req.params.name!);
      const etag = etagOf(st);
      const base = {
        ETag: etag,
        'Last-Modified': new Date(st.mtimeMs).toUTCString(),
        'Accept-Ranges': 'bytes',
        'Cache-Control': 'private, no-cache',
      };
      const range = req.headers.range;
      const ifRange = req.headers['if-range'];
      const rangeApplies = typeof range === 'string' && (ifRange === undefined || ifRange === etag);
      if (!rangeApplies) {
        if (req.headers['if-none-match'] === etag) return { status: 304, headers: base };
        return { status: 200, headers: { ...base, 'Content-Length': String(st.size) }, contentType: PMTILES_CONTENT_TYPE, body: createReadStream(path) };
      }
      const r = range.includes(',') ? null : parseRange(range, st.size);
      if (!r) {
        const err = new RangeNotSatisfiable(`range "${range.slice(0, 60)}" cannot be served: the file has ${st.size} bytes (one range: bytes=start-end)`);
        return { status: 416, headers: { ...base, 'Content-Range': `bytes */${st.size}` }, body: err.toJSON() };
      }
      const data = await readSlice(path, r.start, r.end - r.start + 1);
      return {
        status: 206,
        headers: { ...base, 'Content-Range': `bytes ${r.start}-${r.start + data.length - 1}/${st.size}` },
        contentType: PMTILES_CONTENT_TYPE,
        body: data,
      };
    },
    {
      schema: {
        summary: 'A map file, by byte ranges (Range: bytes=a-b → 206, at most 1 MiB a range; bad or past the end → 416)',
        params: MapFileParams,
        produces: PMTILES_CONTENT_TYPE,
        ranges: true,
      },
    },
  );
}
