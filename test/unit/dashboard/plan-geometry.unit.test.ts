/**
 * The area plan's pure geometry (dashboard/src/map/plan-geometry.ts, issue 14.2): Web Mercator world
 * pixels agree with Leaflet's (EPSG:3857, 256 px tiles), team outlines are convex hulls, the nearby
 * radius in pixels matches the ground distance, the nearest house is found within a bound, and the
 * geo: link is RFC 5870. Also the hub side's Range parsing and PMTiles header reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlanIndex, convexHull, geoUri, coordsText, metresToWorld, nearest, worldX, worldY } from '../../../dashboard/src/map/plan-geometry.ts';
import { distanceMeters } from '../../../dashboard/src/geo.ts';
import { describeHeader, parseRange } from '../../../hub/http/map-routes.ts';
import { rasterPmtiles, solidPng } from '../../helpers/pmtiles-writer.ts';

test('world pixels: EPSG:3857 at zoom 0 (256 px), as Leaflet projects', () => {
  assert.equal(worldX(-180), 0);
  assert.equal(worldX(0), 128);
  assert.ok(Math.abs(worldY(0) - 128) < 1e-9);
  // The slippy-map tile formula (OSM wiki), the scheme of every XYZ/PMTiles tile.
  const r = (20.951 * Math.PI) / 180;
  assert.ok(Math.abs(worldX(107.081) - ((107.081 + 180) / 360) * 256) < 1e-9);
  assert.ok(Math.abs(worldY(20.951) - ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 256) < 1e-9);
});

test('the nearby radius in pixels is the ground distance', () => {
  const lat = 20.951;
  const m = 450;
  const px = metresToWorld(m, lat) * 2 ** 17;
  // 450 m east, in pixels at zoom 17, from the projection itself.
  const dLon = (m / distanceMeters(lat, 107.0, lat, 108.0)) * 1.0;
  const expected = (worldX(107.0 + dLon) - worldX(107.0)) * 2 ** 17;
  assert.ok(Math.abs(px - expected) / expected < 0.005, `${px} vs ${expected}`);
});

test('team outlines are convex hulls; the nearest house within a bound', () => {
  const hull = convexHull([
    [0, 0],
    [2, 0],
    [1, 1],
    [2, 2],
    [0, 2],
    [1, 0],
  ]);
  assert.deepEqual(new Set(hull.map((p) => p.join(','))), new Set(['0,0', '2,0', '2,2', '0,2']));
  assert.deepEqual(convexHull([[1, 1]]), [[1, 1]]);
  const idx = buildPlanIndex([
    { id: 'a', team: 'T1', lat: 21, lon: 107 },
    { id: 'b', team: 'T1', lat: 21.001, lon: 107.001 },
    { id: 'c', team: 'T2', lat: null, lon: null },
  ]);
  assert.equal(idx.items.length, 2);
  assert.deepEqual([...idx.outlines.keys()], ['T1']);
  assert.equal(idx.outlines.get('T1')!.length, 4);
  assert.equal(nearest(idx, worldX(107.0002), worldY(21.0002), 1e-3), 0);
  assert.equal(nearest(idx, worldX(106), worldY(21), 1e-3), -1);
});

test('geo: link and coordinates', () => {
  assert.equal(geoUri(20.951, 107.081), 'geo:20.951000,107.081000');
  assert.equal(geoUri(20.951, 107.081, 'Nhà 1'), 'geo:20.951000,107.081000?q=20.951000,107.081000(Nh%C3%A0%201)');
  assert.equal(coordsText(20.951, 107.081), '20.951000, 107.081000');
});

test('hub: Range headers and the PMTiles header', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=0-16383', 1000), { start: 0, end: 999 });
  assert.deepEqual(parseRange('bytes=0-', 5 * 1024 * 1024), { start: 0, end: 1024 * 1024 - 1 });
  for (const bad of ['bytes=1000-', 'bytes=5-1', 'bytes=-0', 'bytes=-', 'items=0-1', 'bytes=x-1']) assert.equal(parseRange(bad, 1000), null, bad);
  const a = rasterPmtiles({ bounds: [107, 20.9, 107.1, 21], minZoom: 2, maxZoom: 9, png: () => solidPng([1, 2, 3], 4, 4) });
  assert.deepEqual(describeHeader(a.bytes.subarray(0, 127)), { kind: 'raster', tileType: 'png', minZoom: 2, maxZoom: 9, bounds: [107, 20.9, 107.1, 21] });
  assert.equal(describeHeader(Buffer.from('not a pmtiles file'.padEnd(127))).kind, 'unknown');
});
