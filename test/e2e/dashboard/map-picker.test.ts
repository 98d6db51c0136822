/**
 * The area plan's map file picker (issue 14.2): with several DATA/map/*.pmtiles files the plan draws
 * the default one (the first raster file by name) and the station may pick another from a list of
 * the drawable files; the choice is remembered in the browser (localStorage) over a reload, and a
 * remembered file that is gone falls back to the default. Each file has tiles of its own solid
 * colour, so the pixel under the plan tells which file is drawn; the Range requests tell which is read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { rasterPmtiles, solidPng } from '../../helpers/pmtiles-writer.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';

const GREEN: [number, number, number] = [142, 196, 120];
const BLUE: [number, number, number] = [90, 140, 220];
const BOUNDS: [number, number, number, number] = [107.06, 20.93, 107.11, 20.98];

function csv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let h = 0; h < 6; h++) {
    const id = `t0-h${h}`;
    rows.push(
      `T0,${id},Nhà ${id},${h + 1} Trần Phú,09000000${String(h).padStart(2, '0')},${(20.951 + (h % 3) * 0.0004).toFixed(6)},${(107.081 + Math.floor(h / 3) * 0.0005).toFixed(6)},${id}-s,smoke,`,
    );
  }
  return rows.join('\n') + '\n';
}

function dropMap(hub: TestHub, name: string, rgb: [number, number, number]): void {
  const a = rasterPmtiles({ bounds: BOUNDS, minZoom: 0, maxZoom: 16, png: () => solidPng(rgb) });
  mkdirSync(join(hub.dataDir, 'map'), { recursive: true });
  writeFileSync(join(hub.dataDir, 'map', name), a.bytes);
}

/** The colour on screen at a point of the page, from a screenshot decoded by the page itself. */
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

/** Waits until the plan shows `name` with its tiles loaded and the corner pixel has the file's colour. */
async function drawn(page: Page, name: string, rgb: [number, number, number]): Promise<void> {
  await page.locator(`.map-file[data-file="${name}"]`).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('.map-tiles img.leaflet-tile-loaded').length >= 4, undefined, { timeout: 15_000 });
  const box = (await page.locator('.map-host').boundingBox())!;
  const deadline = Date.now() + 10_000;
  let px = await pixelAt(page, box.x + box.width - 10, box.y + 10);
  while (!close(px, rgb)) {
    assert.ok(Date.now() < deadline, `the plan draws ${name}: pixel ${px}, expected ${rgb}`);
    await page.waitForFunction(() => new Promise((r) => requestAnimationFrame(() => r(true))));
    px = await pixelAt(page, box.x + box.width - 10, box.y + 10);
  }
}

test('several map files: the station picks the one drawn, remembered over a reload', { timeout: 60_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub = await startTestHub({ csv: csv() });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  dropMap(hub, 'a-thanh-pho.pmtiles', GREEN);
  dropMap(hub, 'b-ve-tinh.pmtiles', BLUE);
  // Not a PMTiles file: listed by the hub, never offered.
  writeFileSync(join(hub.dataDir, 'map', 'c-hong.pmtiles'), Buffer.alloc(200, 7));

  browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-GB' })).newPage();
  const errors: string[] = [];
  const read = new Set<string>();
  page.on('response', (r) => {
    const m = /\/api\/map\/([^/?]+)$/.exec(r.url());
    if (m) read.add(decodeURIComponent(m[1]!));
  });
  await login(page, hub.httpUrl, 'admin', hub.adminPassword);
  watchPage(page, errors);

  await t.test('the default is the first raster file by name; the picker lists the drawable files only', async () => {
    await page.goto(`${hub.httpUrl}/#/map`);
    await drawn(page, 'a-thanh-pho.pmtiles', GREEN);
    const picker = page.locator('#map-file-picker');
    assert.equal(await picker.inputValue(), 'a-thanh-pho.pmtiles');
    assert.deepEqual(await picker.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), [
      'a-thanh-pho.pmtiles',
      'b-ve-tinh.pmtiles',
    ]);
    assert.match((await picker.locator('option').first().textContent()) ?? '', /^a-thanh-pho\.pmtiles \(raster\)$/);
    assert.deepEqual([...read], ['a-thanh-pho.pmtiles']);
  });

  await t.test('picking another file draws it, read from the hub', async () => {
    read.clear();
    await page.locator('#map-file-picker').selectOption('b-ve-tinh.pmtiles');
    await drawn(page, 'b-ve-tinh.pmtiles', BLUE);
    assert.ok(read.has('b-ve-tinh.pmtiles'), [...read].join(', '));
    assert.equal(await page.evaluate(() => localStorage.getItem('smokehub.mapFile')), 'b-ve-tinh.pmtiles');
    await screenshot(page, 'map-picker');
  });

  await t.test('the choice is remembered over a reload', async () => {
    read.clear();
    await page.reload();
    await drawn(page, 'b-ve-tinh.pmtiles', BLUE);
    assert.equal(await page.locator('#map-file-picker').inputValue(), 'b-ve-tinh.pmtiles');
    assert.ok(!read.has('a-thanh-pho.pmtiles'), 'the default file is not read');
  });

  await t.test('a remembered file that is gone falls back to the default; one file left: no picker', async () => {
    rmSync(join(hub.dataDir, 'map', 'b-ve-tinh.pmtiles'));
    await page.reload();
    await drawn(page, 'a-thanh-pho.pmtiles', GREEN);
    assert.equal(await page.locator('#map-file-picker').count(), 0);
    assert.deepEqual(errors, []);
  });
});
