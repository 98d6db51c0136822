/**
 * The offline map files (hub/http/map-routes.ts): GET /api/map lists DATA/map/*.pmtiles with their
 * kind, GET /api/map/:name serves byte ranges (206 with the right bytes, capped at 1 MiB; 416 past
 * the end or malformed), the whole file without Range, 304 on a matching ETag; names cannot leave
 * the folder; a login is required.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, neighbourhoodCsv, type TestHub } from '../../helpers/hub-harness.ts';
import { rasterPmtiles, solidPng } from '../../helpers/pmtiles-writer.ts';

let th: TestHub;
let token: string;
const archive = rasterPmtiles({ bounds: [106.68, 10.76, 106.7, 10.78], minZoom: 0, maxZoom: 14, png: (z) => solidPng([z * 10, 100, 50]) });
const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0);
for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);

before(async () => {
  th = await startTestHub({ csv: neighbourhoodCsv(1, 2), config: { nearbyRadiusM: 75 } });
  const dir = join(th.dataDir, 'map');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'hcm.pmtiles'), archive.bytes);
  writeFileSync(join(dir, 'big.pmtiles'), big);
  writeFileSync(join(dir, 'notes.txt'), 'not a map');
  const outside = mkdtempSync(join(tmpdir(), 'smokehub-outside-'));
  writeFileSync(join(outside, 'secret.pmtiles'), 'secret');
  symlinkSync(join(outside, 'secret.pmtiles'), join(dir, 'escape.pmtiles'));
  writeFileSync(join(th.dataDir, 'outside.pmtiles'), 'outside');
  token = await th.login('admin', th.adminPassword);
});
after(async () => {
  await th?.stop();
});

const get = (path: string, headers: Record<string, string> = {}, auth = true) =>
  fetch(`${th.httpUrl}${path}`, { headers: auth ? { authorization: `Bearer ${token}`, ...headers } : headers });

test('GET /api/map lists the .pmtiles files with their kind, zooms and bounds, and the nearby radius', async () => {
  const r = await th.api(token, '/api/map');
  assert.equal(r.status, 200);
  assert.equal(r.body.nearbyRadiusM, 75);
  const byName = Object.fromEntries(r.body.files.map((f: { name: string }) => [f.name, f]));
  assert.deepEqual(Object.keys(byName).sort(), ['big.pmtiles', 'hcm.pmtiles'], 'the symlink out of the folder and other files are not listed');
  assert.equal(byName['hcm.pmtiles'].kind, 'raster');
  assert.equal(byName['hcm.pmtiles'].tileType, 'png');
  assert.equal(byName['hcm.pmtiles'].bytes, archive.bytes.length);
  assert.deepEqual([byName['hcm.pmtiles'].minZoom, byName['hcm.pmtiles'].maxZoom], [0, 14]);
  assert.deepEqual(byName['hcm.pmtiles'].bounds, [106.68, 10.76, 106.7, 10.78]);
  assert.equal(byName['big.pmtiles'].kind, 'unknown');
});

test('Range requests: 206 with the right bytes, suffix and open ranges, capped at 1 MiB; 416 otherwise', async () => {
  const r = await get('/api/map/hcm.pmtiles', { range: 'bytes=0-126' });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 0-126/${archive.bytes.length}`);
  assert.equal(r.headers.get('content-type'), 'application/vnd.pmtiles');
  assert.equal(r.headers.get('accept-ranges'), 'bytes');
  assert.equal(r.headers.get('content-encoding'), null);
  const etag = r.headers.get('etag');
  assert.match(String(etag), /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), archive.bytes.subarray(0, 127));

  // The reader's first request asks 16 KiB of a smaller file: it gets what there is.
  const first = await get('/api/map/hcm.pmtiles', { range: 'bytes=0-16383' });
  assert.equal(first.status, 206);
  assert.deepEqual(Buffer.from(await first.arrayBuffer()), archive.bytes);

  const mid = await get('/api/map/hcm.pmtiles', { range: 'bytes=500-999' });
  assert.deepEqual(Buffer.from(await mid.arrayBuffer()), archive.bytes.subarray(500, 1000));
  const suffix = await get('/api/map/hcm.pmtiles', { range: 'bytes=-10' });
  assert.equal(suffix.headers.get('content-range'), `bytes ${archive.bytes.length - 10}-${archive.bytes.length - 1}/${archive.bytes.length}`);
  assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), archive.bytes.subarray(-10));

  const capped = await get('/api/map/big.pmtiles', { range: 'bytes=4096-' });
  assert.equal(capped.status, 206);
  assert.equal(capped.headers.get('content-range'), `bytes 4096-${4096 + 1024 * 1024 - 1}/${big.length}`);
  assert.deepEqual(Buffer.from(await capped.arrayBuffer()), big.subarray(4096, 4096 + 1024 * 1024));

  for (const bad of [`bytes=${archive.bytes.length}-`, 'bytes=10-5', 'bytes=abc', 'lines=0-3', 'bytes=0-1,5-6', 'bytes=-0']) {
    const x = await get('/api/map/hcm.pmtiles', { range: bad });
    assert.equal(x.status, 416, bad);
    assert.equal(x.headers.get('content-range'), `bytes */${archive.bytes.length}`, bad);
    assert.equal(((await x.json()) as { error: string }).error, 'bad_request');
  }

  // Without Range: the whole file; a matching ETag: 304; If-Range with another ETag: the whole file.
  const whole = await get('/api/map/hcm.pmtiles');
  assert.equal(whole.status, 200);
  assert.deepEqual(Buffer.from(await whole.arrayBuffer()), archive.bytes);
  assert.equal((await get('/api/map/hcm.pmtiles', { 'if-none-match': String(etag) })).status, 304);
  const stale = await get('/api/map/hcm.pmtiles', { range: 'bytes=0-9', 'if-range': '"old"' });
  assert.equal(stale.status, 200);
  await stale.arrayBuffer();
  const head = await fetch(`${th.httpUrl}/api/map/hcm.pmtiles`, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, range: 'bytes=0-9' } });
  assert.equal(head.status, 206);
});

test('names cannot leave DATA/map; a login is required', async () => {
  for (const name of [
    '..%2Foutside.pmtiles',
    '%2E%2E%2Foutside.pmtiles',
    'escape.pmtiles',
    'notes.txt',
    '.hidden.pmtiles',
    'missing.pmtiles',
    '..%5Coutside.pmtiles',
  ]) {
    const r = await get(`/api/map/${name}`, { range: 'bytes=0-3' });
    assert.equal(r.status, 404, name);
    assert.equal(((await r.json()) as { error: string }).error, 'not_found', name);
  }
  const traversal = await get('/api/map/../outside.pmtiles', { range: 'bytes=0-3' });
  assert.notEqual(traversal.status, 206);
  await traversal.arrayBuffer();
  const anon = await get('/api/map/hcm.pmtiles', { range: 'bytes=0-3' }, false);
  assert.equal(anon.status, 401);
  await anon.arrayBuffer();
  assert.equal((await get('/api/map', {}, false)).status, 401);
});
