/**
 * The area plan over an offline street map (issue 14.2): the test writes a tiny raster PMTiles v3
 * file (solid-colour PNG tiles, test/helpers/pmtiles-writer.ts) into the hub's DATA/map, and the
 * map page in headless Chromium (no GPU) reads it from the hub by Range requests (206) and draws it
 * under the households: a pixel away from every house has the tiles' colour. Without a file: the
 * plain plan with a scale bar and team outlines. An alarm: its team outlined, the nearby radius and
 * a geo: link with the coordinates to copy; a click on a house opens it. Then 16,000 households
 * over tiles: frame times during a drag and wheel zoom, measured with requestAnimationFrame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool } from '../../helpers/mqtt-clients.ts';
import { blockPng, mvtSquareTile, rasterPmtiles } from '../../helpers/pmtiles-writer.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';

const TILE_RGB: [number, number, number] = [142, 196, 120];
const ROAD_RGB: [number, number, number] = [255, 255, 255];
const TEAMS = 4;
const PER_TEAM = 6;

/** Four teams a few hundred metres apart in Hạ Long, six houses each. */
function smallCsv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let t = 0; t < TEAMS; t++) {
    for (let h = 0; h < PER_TEAM; h++) {
      const id = `t${t}-h${h}`;
      const lat = (20.951 + Math.floor(t / 2) * 0.004 + (h % 3) * 0.0004).toFixed(6);
      const lon = (107.081 + (t % 2) * 0.004 + Math.floor(h / 3) * 0.0005).toFixed(6);
      rows.push(`T${t},${id},Nhà ${id},${h + 1} Trần Phú,0900${String(t * 10 + h).padStart(6, '0')},${lat},${lon},${id}-s,smoke,`);
    }
  }
  return rows.join('\n') + '\n';
}

/** 16,000 households in 1,600 teams (as in scale.test.ts). */
function provinceCsv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let t = 0; t < 1600; t++) {
    const lat0 = 20.9 + Math.floor(t / 40) * 0.009;
    const lon0 = 107.0 + (t % 40) * 0.0095;
    for (let h = 0; h < 10; h++) {
      const id = `p${t}-${h}`;
      const lat = (lat0 + (h % 4) * 0.0004).toFixed(6);
      const lon = (lon0 + Math.floor(h / 4) * 0.0004).toFixed(6);
      rows.push(`T${t},${id},Nhà ${id},${h + 1} Trần Phú,0900${String(t * 10 + h).padStart(6, '0')},${lat},${lon},${id}-s,smoke,secret-${id}-0123456789abcdef`);
    }
  }
  return rows.join('\n') + '\n';
}

function dropMap(hub: TestHub, name: string, bounds: [number, number, number, number], maxZoom: number): { bytes: number; tiles: number } {
  const a = rasterPmtiles({ bounds, minZoom: 0, maxZoom, png: () => blockPng(TILE_RGB, ROAD_RGB) });
  mkdirSync(join(hub.dataDir, 'map'), { recursive: true });
  writeFileSync(join(hub.dataDir, 'map', name), a.bytes);
  return { bytes: a.bytes.length, tiles: a.tiles };
}

/** The colour on screen at a point of the page, from a screenshot decoded by the page itself. */
/** Reads `read()` until `ok` holds or 10 s pass, and returns the last reading (the caller asserts on it). */
async function paintedWithin<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

async function pixelAt(page: Page, x: number, y: number): Promise<[number, number, number]> {
  const png = await page.screenshot({ clip: { x, y, width: 1, height: 1 } });
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = c.height = 1;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!] as [number, number, number];
  }, png.toString('base64'));
}

const close = (a: number[], b: number[], tol = 8) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);
/** A tile pixel: ground, road, or a blend of both (a road's edge, smoothed when the tile is scaled). */
const tilePixel = (p: number[]) => {
  const f = (p[0]! - TILE_RGB[0]) / (ROAD_RGB[0] - TILE_RGB[0]);
  return (
    f >= -0.05 &&
    f <= 1.05 &&
    close(
      p,
      TILE_RGB.map((g, i) => g + f * (ROAD_RGB[i]! - g)),
      10,
    )
  );
};

test('the area plan draws an offline PMTiles street map served by Range requests', { timeout: 90_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub = await startTestHub({ csv: smallCsv(), config: { verifyWindowS: 0, nearbyRadiusM: 450 } });
  const pool = new ClientPool();
  let browser: Browser | null = null;
  t.after(async () => {
    await pool.closeAll();
    await browser?.close();
    await hub.stop();
  });
  browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-GB' });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.httpUrl });
  const page = await ctx.newPage();
  const errors: string[] = [];
  watchPage(page, errors);
  const ranges: { status: number; range: string }[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/map/')) ranges.push({ status: r.status(), range: r.request().headers().range ?? '' });
  });
  await login(page, hub.httpUrl, 'admin', hub.adminPassword);
  errors.length = 0; // the login page's "am I logged in?" probe (401)

  await t.test('without a file: the plain plan, a scale bar and team outlines', async () => {
    await page.goto(`${hub.httpUrl}/#/map`);
    await page.locator(`canvas.map-base[data-drawn="${TEAMS * PER_TEAM}"]`).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('canvas.map-base').getAttribute('data-outlines'), String(TEAMS));
    await page.locator('.leaflet-control-scale-line').waitFor();
    assert.match(await page.locator('.leaflet-control-scale-line').innerText(), /^\d+ (m|km)$/);
    assert.match(await page.locator('.map-file').innerText(), /No street map file/);
    assert.equal(await page.locator('.map-tiles').count(), 0);
    assert.deepEqual(ranges, []);
    await screenshot(page, 'map-plain');
  });

  const file = dropMap(hub, 'ha-long.pmtiles', [107.06, 20.93, 107.11, 20.98], 17);
  t.diagnostic(`map file: ${file.bytes} bytes, ${file.tiles} tiles (z0–17)`);

  await t.test('with a file: tiles are read by Range requests (206) and drawn under the households', async () => {
    await page.reload();
    await page.locator('.map-file[data-file="ha-long.pmtiles"]').waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('.map-tiles img.leaflet-tile-loaded').length >= 4, undefined, { timeout: 15_000 });
    assert.ok(ranges.length > 0, 'the PMTiles file was read from the hub');
    assert.ok(
      ranges.every((r) => r.status === 206 && /^bytes=\d+-\d+$/.test(r.range)),
      JSON.stringify(ranges.slice(0, 5)),
    );
    // Near a corner of the map, far from every house (the fit leaves a margin): the tiles' ground
    // (or a road of theirs: a tile is a block with a road cross), never the plain background.
    const box = (await page.locator('.map-host').boundingBox())!;
    const corner = async () => {
      const out: [number, number, number][] = [];
      for (const [dx, dy] of [
        [8, 8],
        [14, 8],
        [8, 14],
        [20, 20],
        [26, 10],
      ] as const)
        out.push(await pixelAt(page, box.x + box.width - dx, box.y + dy));
      return out;
    };
    // Polled until the tiles are painted there (a loaded tile is composited a frame or two later).
    const px = await paintedWithin(corner, (p) => p.every(tilePixel) && p.filter((x) => close(x, TILE_RGB)).length >= 3);
    assert.ok(px.every(tilePixel), `pixels ${JSON.stringify(px)} are the tiles' colours`);
    assert.ok(px.filter((p) => close(p, TILE_RGB)).length >= 3, `pixels ${JSON.stringify(px)}: mostly the tiles' ground`);
    await page.locator(`canvas.map-base[data-drawn="${TEAMS * PER_TEAM}"]`).waitFor();
    t.diagnostic(`${ranges.length} range requests, all 206`);
  });

  await t.test('an alarm: its team, the nearby radius, a geo: link and the coordinates in one tap', async () => {
    const c = hub.device('t0-h0-s');
    const smoke = await pool.device(hub.mqttUrl, c);
    await smoke.publishAsync(`smokehub/h/${c.household}/d/t0-h0-s/event`, JSON.stringify({ id: 'map-1', type: 'smoke' }), { qos: 1 });
    await page.locator('canvas.map-over[data-alarms="1"]').waitFor({ timeout: 10_000 });
    const geo = page.locator('a.map-geo');
    await geo.waitFor();
    assert.match(String(await geo.getAttribute('href')), /^geo:20\.951000,107\.081000\?q=20\.951000,107\.081000\(/);
    await page.locator('button.map-copy').click();
    await page.locator('button.map-copy', { hasText: 'Copied' }).waitFor({ timeout: 3000 });
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), '20.951000, 107.081000');
    // The radius reaches the other teams' houses within 400 m: they are alerted and marked.
    // The radius (450 m) reaches the nearest houses of teams T1 and T2: they are alerted, and marked.
    await page.waitForFunction(() => Number(document.querySelector('canvas.map-base')?.getAttribute('data-nearby')) >= 2, undefined, { timeout: 5000 });
    assert.equal(await page.locator('canvas.map-base').getAttribute('data-hot-teams'), '1');
    await page.locator('.map-alarms button.btn.small').first().click();
    await page.waitForTimeout(600);
    await screenshot(page, 'map-tiles');
  });

  await t.test('a click on a house opens it', async () => {
    // Focused on the alarm's house (zoom ≥ 17): it is at the centre of the map.
    const box = (await page.locator('.map-host').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForFunction(() => location.hash === '#/household/t0-h0', undefined, { timeout: 5000 });
    assert.deepEqual(
      errors.filter((e) => !/favicon/.test(e)),
      [],
    );
  });
});

test('a vector map file (Protomaps basemap schema) is drawn by protomaps-leaflet, on canvas', { timeout: 60_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub = await startTestHub({ csv: smallCsv() });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  // One `earth` polygon over every tile: the light flavour paints it #e2dfda.
  const a = rasterPmtiles({ bounds: [107.06, 20.93, 107.11, 20.98], minZoom: 0, maxZoom: 15, tileType: 1, png: () => mvtSquareTile('earth') });
  mkdirSync(join(hub.dataDir, 'map'), { recursive: true });
  writeFileSync(join(hub.dataDir, 'map', 'ha-long-vector.pmtiles'), a.bytes);
  browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-GB' })).newPage();
  const errors: string[] = [];
  const statuses: number[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/map/')) statuses.push(r.status());
  });
  await login(page, hub.httpUrl, 'admin', hub.adminPassword);
  watchPage(page, errors);
  await page.goto(`${hub.httpUrl}/#/map`);
  await page.locator('.map-file[data-file="ha-long-vector.pmtiles"]').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('.map-file').innerText(), /\(vector, /);
  await page.locator(`canvas.map-base[data-drawn="${TEAMS * PER_TEAM}"]`).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-tile-container canvas.leaflet-tile-loaded').length >= 2, undefined, { timeout: 15_000 });
  const box = (await page.locator('.map-host').boundingBox())!;
  const px = await paintedWithin(
    () => pixelAt(page, box.x + box.width - 8, box.y + 8),
    (p) => close(p, [0xe2, 0xdf, 0xda], 6),
  );
  assert.ok(close(px, [0xe2, 0xdf, 0xda], 6), `pixel ${px} is the vector tiles' earth colour #e2dfda`);
  assert.ok(statuses.length > 0 && statuses.every((s) => s === 206), JSON.stringify(statuses));
  assert.deepEqual(errors, []);
  await screenshot(page, 'map-vector');
});

test('16,000 households over street tiles stay smooth (frame time while panning and zooming)', { timeout: 120_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub = await startTestHub({ csv: provinceCsv() });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  const file = dropMap(hub, 'quang-ninh.pmtiles', [106.99, 20.89, 107.39, 21.26], 14);
  t.diagnostic(`map file: ${file.bytes} bytes, ${file.tiles} tiles (z0–14)`);
  browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-GB' })).newPage();
  await login(page, hub.httpUrl, 'admin', hub.adminPassword);
  await page.goto(`${hub.httpUrl}/#/map`);
  await page.locator('canvas.map-base[data-drawn="16000"]').waitFor({ timeout: 20_000 });
  await page.waitForFunction(() => document.querySelectorAll('.map-tiles img.leaflet-tile-loaded').length >= 4, undefined, { timeout: 15_000 });
  const box = (await page.locator('.map-host').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;

  // A string, not a function: tsx would wrap a named inner function in a helper the page lacks.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__stop = false;
    let last = performance.now();
    const tick = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (!window.__stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  // A drag across the map, wheel zooms in and out (each ending in a full redraw of 16,000 houses), another drag.
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 1; i <= 30; i++) await page.mouse.move(cx - i * 12, cy - i * 6);
  await page.mouse.up();
  for (let i = 0; i < 4; i++) {
    await page.mouse.wheel(0, -300);
    await page.waitForTimeout(350);
  }
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 1; i <= 30; i++) await page.mouse.move(cx + i * 10, cy + i * 5);
  await page.mouse.up();
  for (let i = 0; i < 4; i++) {
    await page.mouse.wheel(0, 300);
    await page.waitForTimeout(350);
  }
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __stop: boolean };
    w.__stop = true;
    return w.__frames.slice(1);
  });
  const redrawMs = Number(await page.locator('canvas.map-base').getAttribute('data-redraw-ms'));
  const sorted = [...frames].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  t.diagnostic(
    `${frames.length} frames: median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; last full redraw of 16,000 households ${redrawMs.toFixed(1)} ms`,
  );
  assert.ok(frames.length > 30, `${frames.length} frames`);
  assert.ok(q(0.5) < 50, `median frame ${q(0.5)} ms`);
  assert.ok(q(0.95) < 200, `p95 frame ${q(0.95)} ms`);
  assert.ok(redrawMs < 250, `redraw ${redrawMs} ms`);
  await page.locator('button', { hasText: 'Fit all' }).click();
  await page.waitForTimeout(800);
  await screenshot(page, 'map-tiles-16000');
});
