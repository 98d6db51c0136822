/**
 * A tiny PMTiles v3 writer for tests (spec: github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md):
 * solid-colour 256×256 PNG tiles built with node:zlib, an uncompressed root directory (no leaf
 * directories) and `{}` metadata. Enough for a reader (pmtiles' FetchSource) to find every tile.
 */
import { deflateSync } from 'node:zlib';
import { zxyToTileId } from 'pmtiles';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A width×height RGB PNG, each pixel's colour from `pixel`. */
export function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(pixel(x, y), y * (1 + width * 3) + 1 + x * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A width×height PNG of one RGB colour. */
export function solidPng(rgb: [number, number, number], width = 256, height = 256): Buffer {
  return png(width, height, () => rgb);
}

/** A 256×256 tile that looks like a city block: `ground` with a `road` cross `roadWidth` wide through its middle. */
export function blockPng(ground: [number, number, number], road: [number, number, number], roadWidth = 10): Buffer {
  const lo = 128 - roadWidth / 2;
  const hi = 128 + roadWidth / 2;
  return png(256, 256, (x, y) => ((x >= lo && x < hi) || (y >= lo && y < hi) ? road : ground));
}

function varint(n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/** The tiles (x, y) at zoom z covering a bounding box (degrees). */
export function tilesCovering(z: number, west: number, south: number, east: number, north: number): [number, number][] {
  const n = 2 ** z;
  const tx = (lon: number) => Math.min(n - 1, Math.max(0, Math.floor(((lon + 180) / 360) * n)));
  const ty = (lat: number) => {
    const r = (lat * Math.PI) / 180;
    return Math.min(n - 1, Math.max(0, Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)));
  };
  const out: [number, number][] = [];
  for (let x = tx(west); x <= tx(east); x++) for (let y = ty(north); y <= ty(south); y++) out.push([x, y]);
  return out;
}

export interface RasterArchiveOptions {
  bounds: [number, number, number, number];
  minZoom: number;
  maxZoom: number;
  /** A tile's bytes by its zoom (the same bytes are stored once): PNG, or MVT with tileType 1. */
  png: (z: number) => Buffer;
  /** PMTiles tile type: 2 PNG (default), 1 MVT (vector). */
  tileType?: number;
}

/** Protocol buffer pieces for a Mapbox Vector Tile (spec 2.1). */
function pbVarint(n: number): number[] {
  const out: number[] = [];
  varint(n, out);
  return out;
}
function pbField(field: number, wire: 0 | 2, payload: number[] | Buffer): number[] {
  const key = pbVarint((field << 3) | wire);
  if (wire === 0) return [...key, ...(payload as number[])];
  return [...key, ...pbVarint(payload.length), ...payload];
}
const zigzag = (n: number) => (n << 1) ^ (n >> 31);

/**
 * A vector tile with one layer, `name`, holding one polygon that covers the whole tile (extent 4096):
 * e.g. `earth`, which the Protomaps basemap styles paint in their land colour.
 */
export function mvtSquareTile(name = 'earth'): Buffer {
  const e = 4096;
  const geometry = [
    (1 & 7) | (1 << 3),
    zigzag(0),
    zigzag(0), // MoveTo (0,0)
    (2 & 7) | (3 << 3),
    zigzag(e),
    zigzag(0),
    zigzag(0),
    zigzag(e),
    zigzag(-e),
    zigzag(0), // LineTo ×3
    (7 & 7) | (1 << 3), // ClosePath
  ];
  const packed = geometry.flatMap(pbVarint);
  const feature = [...pbField(1, 0, pbVarint(1)), ...pbField(3, 0, pbVarint(3)), ...pbField(4, 2, packed)];
  const layer = [...pbField(15, 0, pbVarint(2)), ...pbField(1, 2, Buffer.from(name)), ...pbField(2, 2, feature), ...pbField(5, 0, pbVarint(e))];
  return Buffer.from(pbField(3, 2, layer));
}

/** A raster PMTiles v3 archive covering `bounds` from minZoom to maxZoom. */
export function rasterPmtiles(o: RasterArchiveOptions): { bytes: Buffer; tiles: number } {
  const [w, s, e, n] = o.bounds;
  const entries: { id: number; offset: number; length: number }[] = [];
  const blobs: Buffer[] = [];
  const stored = new Map<number, { offset: number; length: number }>();
  let offset = 0;
  const raw: { id: number; z: number }[] = [];
  for (let z = o.minZoom; z <= o.maxZoom; z++) for (const [x, y] of tilesCovering(z, w, s, e, n)) raw.push({ id: zxyToTileId(z, x, y), z });
  raw.sort((a, b) => a.id - b.id);
  for (const t of raw) {
    let at = stored.get(t.z);
    if (!at) {
      const png = o.png(t.z);
      at = { offset, length: png.length };
      stored.set(t.z, at);
      blobs.push(png);
      offset += png.length;
    }
    entries.push({ id: t.id, ...at });
  }
  const dir: number[] = [];
  varint(entries.length, dir);
  let last = 0;
  for (const en of entries) {
    varint(en.id - last, dir);
    last = en.id;
  }
  for (const _ of entries) varint(1, dir);
  for (const en of entries) varint(en.length, dir);
  for (let i = 0; i < entries.length; i++) {
    const prev = entries[i - 1];
    varint(prev && entries[i]!.offset === prev.offset + prev.length ? 0 : entries[i]!.offset + 1, dir);
  }
  const root = Buffer.from(dir);
  const meta = Buffer.from('{}');
  const data = Buffer.concat(blobs);
  const h = Buffer.alloc(127);
  h.write('PMTiles', 0, 'latin1');
  h[7] = 3;
  const u64 = (at: number, v: number) => h.writeBigUInt64LE(BigInt(v), at);
  u64(8, 127);
  u64(16, root.length);
  u64(24, 127 + root.length);
  u64(32, meta.length);
  u64(40, 127 + root.length + meta.length);
  u64(48, 0);
  u64(56, 127 + root.length + meta.length);
  u64(64, data.length);
  u64(72, entries.length);
  u64(80, entries.length);
  u64(88, stored.size);
  h[96] = 1; // clustered
  h[97] = 1; // internal compression: none
  h[98] = 1; // tile compression: none
  h[99] = o.tileType ?? 2; // 2: png, 1: mvt
  h[100] = o.minZoom;
  h[101] = o.maxZoom;
  const e7 = (at: number, v: number) => h.writeInt32LE(Math.round(v * 1e7), at);
  e7(102, w);
  e7(106, s);
  e7(110, e);
  e7(114, n);
  h[118] = Math.round((o.minZoom + o.maxZoom) / 2);
  e7(119, (w + e) / 2);
  e7(123, (s + n) / 2);
  return { bytes: Buffer.concat([h, root, meta, data]), tiles: entries.length };
}
