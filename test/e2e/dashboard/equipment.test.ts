/**
 * Fire equipment on the household page and the teams' readiness (issue 14, point 3), in Debian's
 * headless Chromium against a real hub with supervision and equipment imported as
 * `smokehub equipment import` does: expiry dates dd/mm/yyyy, an expired item a red badge and one
 * expiring within the reminder's horizon an amber one, each with its words; the readiness view per
 * team and per household (detectors working, equipment expired / expiring / in date), scoped for a
 * team leader. Screenshots: household-equipment-vi.png, readiness-vi.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { neighbourhoodCsv, startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, sleep } from '../../helpers/mqtt-clients.ts';
import { loadConfig } from '../../../hub/config/config.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';
import { telemetryExtension } from '../../../hub/telemetry/telemetry-extension.ts';
import { importEquipment } from '../../../hub/supervision/equipment-import.ts';
import { addDays, localDate } from '../../../hub/protocol/local-time.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';

const LEADER = { username: 'lan-t1', password: 'leader-password-1' };
/** YYYY-MM-DD → dd/mm/yyyy. */
const dmy = (iso: string) => iso.split('-').reverse().join('/');

test('equipment on the household page and in the teams’ readiness', { timeout: 70_000 }, async (t) => {
  await ensureDashboardBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-eq-'));
  const base = loadConfig({ flags: { data: dataDir }, env: {} });
  const supervision = supervisionExtension({ sweepIntervalMs: 300 });
  const hub: TestHub = await startTestHub({
    dataDir,
    csv: neighbourhoodCsv(2, 3),
    config: { verifyWindowS: 0 },
    extensions: [telemetryExtension({ ...base, dataDir }), supervision],
  });
  const pool = new ClientPool();
  let browser: Browser | null = null;
  t.after(async () => {
    await pool.closeAll();
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: LEADER.username, role: 'team-leader', team: 't1', password: LEADER.password });
  const today = localDate(Date.now(), hub.config.timezone);
  const expired = addDays(today, -5);
  const soon = addDays(today, 12);
  const rows = [
    `t1-h1,extinguisher,EX-1,${expired}`,
    `t1-h1,extinguisher,EX-2,${soon}`,
    't1-h1,crowbar,,',
    `t1-h2,extinguisher,EX-3,${addDays(today, 200)}`,
    `t2-h1,Chăn chữa cháy,,${addDays(today, 3)}`,
  ];
  const imported = importEquipment(
    supervision.handle!.equipment,
    `household,item,serial,expires\n${rows.join('\n')}\n`,
    (h) => hub.hub.registry.teamOf(h),
    Date.now(),
  );
  assert.equal(imported.added, 5);
  // t1-h3's detector reports a fault: its household's detectors are not all working.
  const c = hub.device('t1-h3-smoke');
  await (await pool.device(hub.mqttUrl, c)).publishAsync(`smokehub/h/t1-h3/d/t1-h3-smoke/event`, JSON.stringify({ id: 'eq-fault-1', type: 'fault' }), {
    qos: 1,
  });
  const admin = await hub.login('admin', hub.adminPassword);
  for (let i = 0; ; i++) {
    const r = await hub.api(admin, '/api/devices/health?household=t1-h3');
    if (r.body.devices.find((d: { device: string; fault: boolean }) => d.device === 't1-h3-smoke')?.fault) break;
    assert.ok(i < 100, 'the fault is recorded');
    await sleep(50);
  }

  browser = await launchBrowser();
  const errors: string[] = [];
  const page: Page = await (await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'vi-VN' })).newPage();
  watchPage(page, errors);
  await login(page, hub.httpUrl, 'admin', hub.adminPassword);

  await t.test('household page, Vietnamese: items by urgency, dates dd/mm/yyyy, red expired, amber expiring, with words', async () => {
    await page.goto(`${hub.httpUrl}/#/household/t1-h1`);
    const table = page.locator('.household-equipment table.equipment');
    await table.waitFor({ timeout: 10_000 });
    const cells = await table
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [(tr as HTMLElement).dataset.expiry, ...[...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())]),
      );
    assert.deepEqual(cells, [
      ['expired', 'Bình chữa cháy', 'EX-1', dmy(expired), '✕ Đã hết hạn 5 ngày'],
      ['expiring', 'Bình chữa cháy', 'EX-2', dmy(soon), '⚠ Còn 12 ngày'],
      ['none', 'Xà beng', '—', 'không có hạn', '∞ Không có hạn'],
    ]);
    const colours = await table.locator('.badge').evaluateAll((bs) => bs.map((b) => getComputedStyle(b).backgroundColor));
    assert.equal(colours[0], 'rgb(196, 22, 28)', 'expired: red');
    assert.equal(colours[1], 'rgb(255, 241, 220)', 'expiring: amber');
    assert.match(((await page.locator('.household-equipment .eq-legend').textContent()) ?? '').trim(), /trong vòng 30 ngày/);
    await page.locator('.household-equipment').evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await screenshot(page, 'household-equipment-vi');
  });

  await t.test('readiness, Vietnamese: per team and, by default, the households needing action first', async () => {
    await page.goto(`${hub.httpUrl}/#/health`);
    await page.locator('.view-tabs a', { hasText: 'Sẵn sàng theo hộ' }).click();
    await page.waitForFunction(() => location.hash === '#/readiness');
    await page.waitForFunction(() => document.querySelector('#readiness-count')?.textContent === '3 / 6 hộ');
    assert.equal(((await page.locator('header.topbar nav a.active').textContent()) ?? '').trim(), 'Tình trạng thiết bị');
    const t1 = await page.locator('table.readiness-teams tr[data-team="t1"] td').evaluateAll((tds) => tds.map((td) => (td.textContent ?? '').trim()));
    assert.deepEqual(t1, ['t1', '3', '2/3', '1/2 hộ có trang bị', '⚠ 1', '✕ 1']);
    const households = await page.locator('table.readiness tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.household));
    assert.deepEqual(households, ['t1-h1', 't1-h3', 't2-h1'], 'expired equipment, then a detector in trouble, then equipment expiring');
    const h1 = page.locator('table.readiness tr[data-household="t1-h1"]');
    assert.equal(((await h1.locator('.col-detectors').textContent()) ?? '').trim(), '✓ 1/1 hoạt động tốt');
    assert.deepEqual(await h1.locator('.col-equipment .badge').allInnerTexts(), ['✕ 1 đã hết hạn', '⚠ 1 sắp hết hạn', '✓ 1 còn hạn']);
    assert.equal(((await h1.locator('.col-next').textContent()) ?? '').trim(), dmy(expired));
    assert.equal(await h1.locator('.col-next').getAttribute('data-expiry'), 'expired');
    assert.match(((await page.locator('table.readiness tr[data-household="t1-h3"] .col-detectors').textContent()) ?? '').trim(), /^⚠ 0\/1 hoạt động tốt/);
    assert.equal(((await page.locator('table.readiness tr[data-household="t2-h1"] .col-equipment').textContent()) ?? '').trim(), '⚠ 1 sắp hết hạn');
    await screenshot(page, 'readiness-vi');
    await page.locator('select[name=show]').selectOption('all');
    await page.waitForFunction(() => document.querySelector('#readiness-count')?.textContent === '6 / 6 hộ');
    await page.locator('select[name=team]').selectOption('t2');
    await page.waitForFunction(() => document.querySelector('#readiness-count')?.textContent === '3 / 3 hộ');
    assert.deepEqual(await page.locator('table.readiness-teams tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.team)), ['t2']);
  });

  await t.test('English: the same states in words', async () => {
    await page.locator('#lang-switch').click();
    await page.goto(`${hub.httpUrl}/#/household/t1-h1`);
    const badges = page.locator('.household-equipment .badge');
    await badges.first().waitFor({ timeout: 10_000 });
    assert.deepEqual(await badges.allInnerTexts(), ['✕ Expired 5 days ago', '⚠ Expires in 12 days', '∞ No expiry']);
    assert.equal(((await page.locator('.household-equipment tbody tr').first().locator('td').first().textContent()) ?? '').trim(), 'Fire extinguisher');
    await page.locator('#lang-switch').click();
  });

  await t.test('a team leader sees the readiness of its own team only', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN' });
    const p = await ctx.newPage();
    watchPage(p, errors);
    await login(p, hub.httpUrl, LEADER.username, LEADER.password);
    await p.goto(`${hub.httpUrl}/#/readiness`);
    await p.waitForFunction(() => document.querySelector('#readiness-count')?.textContent === '2 / 3 hộ');
    assert.deepEqual(await p.locator('table.readiness-teams tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.team)), ['t1']);
    await ctx.close();
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
  });
});
