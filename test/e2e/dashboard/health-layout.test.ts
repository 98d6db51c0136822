/**
 * Issue 14, points 3 and 4, in Debian's headless Chromium against a real hub holding the Hạ Long
 * demo (60 devices, Vietnamese names, ids such as `hg-to12-h09-smoke`), in Vietnamese:
 * - device health at 1366×768 and on a phone (375×667): no id, pill or header is cut; a cell whose
 *   text does not fit (a long name, a long self-test line) carries its full text in its title;
 * - a fresh install: detectors enrolled minutes ago are "not yet due" (neutral), and the default
 *   filter lists only what needs action (a fault, a low battery), most urgent first;
 * - the navigation bar is one row at 1366 px and ids never wrap at their hyphens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool } from '../../helpers/mqtt-clients.ts';
import { ROOT, ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';

const DEMO_CSV = readFileSync(join(ROOT, 'firmware-bridge', 'demo', 'ha-long-demo.csv'), 'utf8');
const DEVICES = 60;

interface Cut {
  cls: string;
  text: string;
  scroll: number;
  client: number;
  title: string | null;
}
/**
 * The rule a user accepts: a header, an id (household, team, device), the status pill, the battery
 * and the last-heard time are never cut; a name or a self-test line may end in an ellipsis only when
 * its title holds the whole text. Returns the cells breaking it, and how many cells were checked.
 */
async function cutCells(page: Page): Promise<{ checked: number; cut: Cut[] }> {
  return page.evaluate(() => {
    const cut: Cut[] = [];
    const cells = [...document.querySelectorAll<HTMLElement>('.vtable .vhead .cell, .vtable .vrow .cell')];
    for (const el of cells) {
      const fits = el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1;
      const text = el.innerText.trim();
      const title = el.getAttribute('title');
      const mayTitle = el.closest('.vrow') !== null && (el.classList.contains('col-name') || el.classList.contains('col-selfTest'));
      if (!fits && !(mayTitle && title !== null && title.includes(text))) {
        cut.push({ cls: el.className, text, scroll: el.scrollWidth, client: el.clientWidth, title });
      }
    }
    return { checked: cells.length, cut };
  });
}

/** Elements with class `id` drawn on more than one line (an id broken at a hyphen). */
async function brokenIds(page: Page): Promise<{ checked: number; broken: string[] }> {
  return page.evaluate(() => {
    const ids = [...document.querySelectorAll<HTMLElement>('.id')].filter((el) => el.getClientRects().length > 0);
    return { checked: ids.length, broken: ids.filter((el) => el.getClientRects().length !== 1).map((el) => el.textContent ?? '') };
  });
}

async function countText(page: Page): Promise<string> {
  return (await page.locator('#health-count').innerText()).trim();
}

test('device health and navigation: nothing cut at 1366 px or on a phone, a fresh install is not a fault', { timeout: 55_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub: TestHub = await startTestHub({ csv: DEMO_CSV });
  let browser: Browser | null = null;
  const pool = new ClientPool();
  t.after(async () => {
    await pool.closeAll();
    await browser?.close();
    await hub.stop();
  });
  // Every demo device connects, as on an install day; one detector reports a fault, one a low battery.
  const devices = hub.hub.registry.listDevices();
  assert.equal(devices.length, DEVICES);
  for (const d of devices) await pool.device(hub.mqttUrl, hub.device(d.id));
  browser = await launchBrowser();
  const errors: string[] = [];
  const station = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'vi-VN' });
  const page = await station.newPage();
  watchPage(page, errors);
  await login(page, hub.httpUrl, 'admin', hub.adminPassword);
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi');

  await t.test('a fresh install: every healthy device is off the default list, detectors are "not yet due"', async () => {
    await page.goto(`${hub.httpUrl}/#/health`);
    await page.waitForFunction((n) => new RegExp(`/ ${n} thiết bị`).test(document.querySelector('#health-count')?.textContent ?? ''), DEVICES);
    assert.equal(await countText(page), `0 / ${DEVICES} thiết bị`, 'the default filter ("Có sự cố") lists no healthy device');
    await page.locator('select').first().selectOption('all');
    await page.waitForFunction((n) => document.querySelector('#health-count')?.textContent === `${n} / ${n} thiết bị`, DEVICES);
    const smoke = page.locator('.vrow .col-selfTest[data-state="notYet"]').first();
    assert.equal(await smoke.innerText(), '○ chưa đến kỳ kiểm tra');
    assert.match((await smoke.getAttribute('title')) ?? '', /^○ chưa đến kỳ kiểm tra — lắp đặt \d+ (giây|phút) trước \(/);
    assert.ok(!(await smoke.getAttribute('class'))!.includes('bad'), 'neutral, not red');
    assert.equal(await page.locator('.vrow .col-selfTest.bad').count(), 0, 'no detector is red');
  });

  await t.test('the default view shows what needs action, most urgent first', async () => {
    const fault = devices.find((d) => d.kind === 'smoke')!;
    const low = devices.filter((d) => d.kind === 'smoke')[1]!;
    const fc = hub.device(fault.id);
    const lc = hub.device(low.id);
    await (await pool.device(hub.mqttUrl, fc)).publishAsync(
      `smokehub/h/${fc.household}/d/${fc.device}/event`,
      JSON.stringify({ id: 'layout-fault-1', type: 'fault' }),
      {
        qos: 1,
      },
    );
    await (await pool.device(hub.mqttUrl, lc)).publishAsync(`smokehub/h/${lc.household}/d/${lc.device}/telemetry`, JSON.stringify({ battery: 11 }), { qos: 1 });
    const token = (
      (await (
        await fetch(`${hub.httpUrl}/api/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: hub.adminPassword }),
        })
      ).json()) as { token: string }
    ).token;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await fetch(`${hub.httpUrl}/api/devices/health`, { headers: { Authorization: `Bearer ${token}` } });
      const body = (await r.json()) as { devices: { device: string; fault: boolean; battery: number | null }[] };
      if (body.devices.find((d) => d.device === fault.id)?.fault && body.devices.find((d) => d.device === low.id)?.battery === 11) break;
      assert.ok(Date.now() < deadline, 'fault and battery recorded in time');
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.reload();
    await page.waitForFunction((n) => document.querySelector('#health-count')?.textContent === `2 / ${n} thiết bị`, DEVICES);
    assert.equal(await page.locator('#sort-urgency').getAttribute('aria-pressed'), 'true');
    const shown = await page.locator('.vrow .col-device').allInnerTexts();
    assert.deepEqual(shown, [fault.id, low.id], 'the fault first, then the low battery');
  });

  await t.test('1366×768, Vietnamese: no header, id or pill is cut; long texts have their full text in a title', async () => {
    await page.locator('select').first().selectOption('all');
    await page.waitForFunction((n) => document.querySelector('#health-count')?.textContent === `${n} / ${n} thiết bị`, DEVICES);
    const { checked, cut } = await cutCells(page);
    t.diagnostic(`1366 px: ${checked} cells checked, ${cut.length} cut`);
    assert.ok(checked > 9 * 10, `${checked} cells`);
    assert.deepEqual(cut, []);
    // The table fits the screen: no sideways scrolling at 1366 px.
    const table = await page.locator('.vtable').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    t.diagnostic(`table ${table.scroll} px of ${table.client} px`);
    assert.ok(table.scroll <= table.client, `table ${table.scroll} > ${table.client}`);
    const ids = await brokenIds(page);
    assert.ok(ids.checked > 20, `${ids.checked} ids`);
    assert.deepEqual(ids.broken, []);
    await screenshot(page, 'health-vi');
  });

  await t.test('1366×768, Vietnamese: the navigation bar is one row', async () => {
    const bar = await page.evaluate(() => {
      const nav = [...document.querySelectorAll<HTMLElement>('header.topbar nav a')].map((a) => a.offsetTop);
      const items = [...document.querySelectorAll<HTMLElement>('header.topbar > *')].filter((el) => el.getClientRects().length > 0 && el.textContent !== '');
      const rects = items.map((el) => el.getBoundingClientRect());
      const row = { top: Math.max(...rects.map((r) => r.top)), bottom: Math.min(...rects.map((r) => r.bottom)) };
      const header = document.querySelector<HTMLElement>('header.topbar')!;
      const tallest = Math.max(...rects.map((r) => r.height));
      const right = Math.max(...rects.map((r) => r.right));
      return {
        nav,
        row,
        height: header.getBoundingClientRect().height,
        tallest,
        right,
        overflow: header.scrollWidth - header.clientWidth,
        texts: items.map((el) => el.textContent),
      };
    });
    t.diagnostic(`top bar ${bar.height} px high, tallest item ${bar.tallest} px; nav tops ${bar.nav.join(', ')}`);
    assert.equal(bar.nav.length, 5);
    assert.equal(new Set(bar.nav).size, 1, `nav items on one row: ${bar.nav.join(', ')}`);
    assert.ok(bar.row.top < bar.row.bottom, `every item of the bar shares one row (${JSON.stringify(bar.texts)})`);
    assert.ok(bar.height < bar.tallest * 1.8, `bar ${bar.height} px for items ${bar.tallest} px high`);
    // …and nothing of it is pushed off the screen (the log-out button included).
    assert.ok(bar.overflow <= 0 && bar.right <= 1366, `bar overflows by ${bar.overflow} px, last item ends at ${bar.right} px`);
  });

  await t.test('375×667 phone, Vietnamese: rows are cards, nothing cut, no sideways scrolling', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true });
    const phone = await ctx.newPage();
    watchPage(phone, errors);
    await login(phone, hub.httpUrl, 'admin', hub.adminPassword);
    await phone.goto(`${hub.httpUrl}/#/health`);
    await phone.waitForFunction((n) => document.querySelector('#health-count')?.textContent === `2 / ${n} thiết bị`, DEVICES);
    await phone.locator('select').first().selectOption('all');
    await phone.waitForFunction((n) => document.querySelector('#health-count')?.textContent === `${n} / ${n} thiết bị`, DEVICES);
    assert.ok(await phone.locator('.vtable.cards').isVisible());
    const { checked, cut } = await cutCells(phone);
    t.diagnostic(`375 px: ${checked} cells checked, ${cut.length} cut`);
    assert.ok(checked > 9 * 3, `${checked} cells`);
    assert.deepEqual(cut, []);
    const widths = await phone.evaluate(() => ({
      doc: document.documentElement.scrollWidth,
      table: document.querySelector('.vtable')!.scrollWidth,
      tableClient: document.querySelector('.vtable')!.clientWidth,
    }));
    t.diagnostic(`phone: page ${widths.doc} px wide, table ${widths.table}/${widths.tableClient} px`);
    assert.ok(widths.doc <= 375, `page ${widths.doc} px`);
    assert.ok(widths.table <= widths.tableClient, `table ${widths.table} > ${widths.tableClient}`);
    assert.deepEqual((await brokenIds(phone)).broken, []);
    // A card is still a row of nine cells with its column headers (sortable).
    assert.equal(await phone.locator('.vrow').first().locator('[role=cell]').count(), 9);
    assert.equal(await phone.getByRole('button', { name: 'Sắp xếp theo Thiết bị' }).count(), 1);
    await phone.locator('.vtable').evaluate((el) => el.scrollIntoView());
    await screenshot(phone, 'health-phone');
    await ctx.close();
  });

  await t.test('ids on the board and in the notices never wrap at a hyphen', async () => {
    const d = hub.device(devices.find((x) => x.kind === 'smoke')!.id);
    await (await pool.device(hub.mqttUrl, d)).publishAsync(
      `smokehub/h/${d.household}/d/${d.device}/event`,
      JSON.stringify({ id: 'layout-smoke-1', type: 'smoke' }),
      {
        qos: 1,
      },
    );
    await page.goto(`${hub.httpUrl}/#/board`);
    await page.locator('.alarm-card').first().waitFor({ timeout: 3000 });
    const ids = await brokenIds(page);
    assert.ok(ids.checked >= 1, `${ids.checked} ids on the board`);
    assert.deepEqual(ids.broken, []);
    // (The login page's first /api/me answers 401: not an error of the pages tested.)
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
  });
});
