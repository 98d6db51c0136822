/**
 * A province-sized registry (16,000 households in 1,600 teams) in the browser: the area plan draws
 * every household, the health list stays virtualised, and the station page's first load is
 * measured compressed against the hub (must stay under 300 KB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot } from './browser.ts';

const TEAMS = 1600;
const PER_TEAM = 10;

function provinceCsv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let t = 0; t < TEAMS; t++) {
    // Teams on a 40×40 grid of ~1 km cells around Hạ Long; households within ~100 m of their team's centre.
    const lat0 = 20.9 + Math.floor(t / 40) * 0.009;
    const lon0 = 107.0 + (t % 40) * 0.0095;
    for (let h = 0; h < PER_TEAM; h++) {
      const id = `p${t}-${h}`;
      const lat = (lat0 + (h % 4) * 0.0004).toFixed(6);
      const lon = (lon0 + Math.floor(h / 4) * 0.0004).toFixed(6);
      rows.push(`T${t},${id},Nhà ${id},${h + 1} Trần Phú,0900${String(t * 10 + h).padStart(6, '0')},${lat},${lon},${id}-s,smoke,secret-${id}-0123456789abcdef`);
    }
  }
  return rows.join('\n') + '\n';
}

/** Bytes on the wire for a URL fetched as a browser would (gzip accepted). */
async function wireBytes(url: string): Promise<{ bytes: number; body: Buffer }> {
  const res = await fetch(url, { headers: { 'Accept-Encoding': 'gzip' }, decompress: false } as RequestInit);
  const raw = Buffer.from(await res.arrayBuffer());
  // Node's fetch decompresses transparently; measure the compressed size ourselves when it did.
  const enc = res.headers.get('content-encoding');
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (enc === 'gzip' && Number.isFinite(len)) return { bytes: len, body: raw.length === len ? gunzipSync(raw) : raw };
  return { bytes: raw.length, body: raw };
}

test('16,000 households: area plan, virtualised health list, first-load size', { timeout: 55_000 }, async (t) => {
  await ensureDashboardBuilt();
  const started = Date.now();
  const hub = await startTestHub({ csv: provinceCsv() });
  const importMs = Date.now() - started;
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });

  await t.test('station first load stays under 300 KB compressed', async () => {
    const index = await wireBytes(`${hub.httpUrl}/`);
    const html = index.body.toString('utf8');
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), `assets in index.html: ${assets.join(', ')}`);
    let total = index.bytes;
    for (const a of assets) total += (await wireBytes(`${hub.httpUrl}${a}`)).bytes;
    t.diagnostic(`station first load: ${(total / 1024).toFixed(1)} KB compressed (${assets.length + 1} files)`);
    assert.ok(total < 300 * 1024, `first load ${total} bytes`);
  });

  browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-GB' })).newPage();
  await login(page, hub.httpUrl, 'admin', hub.adminPassword);

  await t.test('the area plan draws all 16,000 households', async () => {
    const t0 = Date.now();
    await page.goto(`${hub.httpUrl}/#/map`);
    const base = page.locator('canvas.map-base[data-drawn="16000"]');
    await base.waitFor({ timeout: 15_000 });
    const loadMs = Date.now() - t0;
    // Ten zoom steps, each a full redraw of 16,000 dots; time per redraw measured in the page.
    const perRedraw = await page.evaluate(async () => {
      const btn = [...document.querySelectorAll('button')].find((b) => b.textContent === '+')!;
      const t1 = performance.now();
      for (let i = 0; i < 10; i++) {
        btn.click();
        await new Promise((r) => requestAnimationFrame(() => r(null)));
      }
      return (performance.now() - t1) / 10;
    });
    t.diagnostic(`import ${importMs} ms; area plan shown in ${loadMs} ms; ${perRedraw.toFixed(1)} ms per zoom step (redraw + frame)`);
    assert.ok(perRedraw < 200, `redraw ${perRedraw} ms`);
    await page.locator('button', { hasText: 'Fit all' }).click();
    await screenshot(page, 'area-plan-16000');
  });

  await t.test('the health list holds 16,000 devices but renders only what is visible', async () => {
    await page.goto(`${hub.httpUrl}/#/health`);
    await page.locator('select').first().selectOption('all');
    await page.waitForFunction(() => /of 16000 devices/.test(document.querySelector('#health-count')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const rendered = await page.locator('.vrow').count();
    assert.ok(rendered > 5 && rendered < 120, `${rendered} rows in the DOM`);
    // Sort by device, descending, and scroll to the end: the last row is rendered.
    await page.getByRole('button', { name: 'Sort by Device' }).click();
    await page.getByRole('button', { name: 'Sort by Device' }).click();
    await page.locator('.vlist').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.waitForFunction(() => [...document.querySelectorAll('.vrow .col-device')].some((c) => c.textContent === 'p0-0-s'), undefined, { timeout: 5000 });
    await page.locator('input[type=search]').fill('p1599-9');
    await page.waitForFunction(() => /^1 of 16000/.test(document.querySelector('#health-count')?.textContent ?? ''), undefined, { timeout: 5000 });
    await screenshot(page, 'health-search');
  });
});
