/**
 * The dashboard end to end, in Debian's headless Chromium against a real hub (real broker, real
 * SQLite, real MQTT over WebSocket), with a detector played by `mosquitto_pub`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';
import { mosquittoPub } from './mosquitto.ts';
import { ClientPool } from '../../helpers/mqtt-clients.ts';

const NEIGHBOUR = { username: 'nguyen-t1h2', password: 'neighbour-password-1', household: 't1-h2' };
const ORIGIN = { username: 'nguyen-t1h1', password: 'origin-password-1', household: 't1-h1' };

async function apiToken(hub: TestHub, username: string, password: string): Promise<string> {
  const res = await fetch(`${hub.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { token: string }).token;
}

async function publishEvent(hub: TestHub, device: string, body: Record<string, unknown>): Promise<void> {
  const c = hub.device(device);
  await mosquittoPub({ port: hub.hub.mqttPort, device, secret: c.secret, topic: `smokehub/h/${c.household}/d/${device}/event`, message: JSON.stringify(body) });
}

test('dashboard in a real browser against a real hub', { timeout: 50_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub = await startTestHub({ config: { verifyWindowS: 0 } });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: NEIGHBOUR.username, role: 'household', household: NEIGHBOUR.household, password: NEIGHBOUR.password });
  await hub.hub.registry.addUser({ username: ORIGIN.username, role: 'household', household: ORIGIN.household, password: ORIGIN.password });
  browser = await launchBrowser();
  const errors: string[] = [];

  const station: BrowserContext = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-GB' });
  const board: Page = await station.newPage();
  watchPage(board, errors);

  await t.test('wrong password: a clear message, and the login page follows the browser language', async () => {
    const viCtx = await browser!.newContext({ locale: 'vi-VN' });
    const p = await viCtx.newPage();
    await p.goto(`${hub.httpUrl}/`);
    await p.locator('input[name=username]').fill('admin');
    await p.locator('input[name=password]').fill('not-the-password');
    await p.locator('button[type=submit]').click();
    const alert = p.locator('#login-error');
    await alert.waitFor({ timeout: 3000 });
    assert.match(await alert.innerText(), /Sai tên đăng nhập hoặc mật khẩu/);
    assert.equal(await p.locator('html').getAttribute('lang'), 'vi');
    await viCtx.close();
  });

  await t.test('station logs in and sees an empty live board', async () => {
    await login(board, hub.httpUrl, 'admin', hub.adminPassword);
    await board.locator('h1#board-title').waitFor();
    assert.equal(await board.locator('h1#board-title').innerText(), 'Live alarm board');
    await board.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });
    await board.locator('.all-clear').waitFor();
    assert.equal(await board.title(), 'smokehub');
  });

  let alarmId = '';
  await t.test('a mosquitto_pub smoke event appears on the station board within 2 s', async () => {
    const started = Date.now();
    await publishEvent(hub, 't1-h1-smoke', { id: 'e2e-smoke-1', type: 'smoke' });
    const card = board.locator('.alarm-card').first();
    await card.waitFor({ timeout: 2000 });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `alarm shown after ${elapsed} ms`);
    alarmId = (await card.getAttribute('data-alarm')) ?? '';
    assert.ok(alarmId.length > 0);
    const text = await card.innerText();
    assert.match(text, /Nhà Nguyễn 1\.1/);
    assert.match(text, /1 Lê Lợi, tổ 1/);
    assert.match(text, /Active|Escalated/);
    assert.match(await board.title(), /^\(1\) FIRE ALARM/);
    const icon = await board.locator('#favicon').getAttribute('href');
    assert.match(icon ?? '', /c4161c/i, 'favicon turned red');
    await card.locator('.timeline li').first().waitFor({ timeout: 3000 });
    assert.match(await card.locator('.timeline').innerText(), /Alarm raised/);
    await screenshot(board, 'board-alarm');
  });

  let phone: Page;
  await t.test("a neighbour taps I'm coming on the phone view (375×667) and the board shows it", async () => {
    const ctx = await browser!.newContext({ viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true });
    phone = await ctx.newPage();
    watchPage(phone, errors);
    await login(phone, hub.httpUrl, NEIGHBOUR.username, NEIGHBOUR.password);
    const alert = phone.locator(`.phone-alert[data-alarm="${alarmId}"]`);
    await alert.waitFor({ timeout: 3000 });
    const headline = await alert.locator('.phone-headline').innerText();
    assert.match(headline, /Cháy tại nhà Nhà Nguyễn 1\.1|Cháy tại nhà/);
    // t1-h1 and t1-h2 are 0.0003° apart in latitude and longitude: about 40 m. The distance is shown once the
    // phone knows its own household's position ("chưa rõ khoảng cách" until then: seen once in a loaded run).
    await alert.locator('.phone-where').filter({ hasText: /\d+ m/ }).waitFor({ timeout: 5000 });
    const where = await alert.locator('.phone-where').innerText();
    const m = /(\d+) m/.exec(where);
    assert.ok(m, `distance shown: ${where}`);
    assert.ok(Number(m[1]) >= 30 && Number(m[1]) <= 55, `distance ${m[1]} m`);
    const coming = alert.locator('button[data-response="coming"]');
    const box = await coming.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375 && box.y + box.height <= 667 * 2, 'button fits the small screen');
    assert.ok(box!.height >= 44, 'a thumb-sized button');
    assert.match(await coming.innerText(), /Tôi đang đến$/);
    await screenshot(phone, 'phone-alert');
    await coming.tap();
    await alert.locator('.phone-answer').waitFor({ timeout: 3000 });
    assert.equal(await coming.getAttribute('aria-pressed'), 'true');
    const responders = board.locator(`.alarm-card[data-alarm="${alarmId}"] .responders`);
    await board.waitForFunction((id) => document.querySelector(`.alarm-card[data-alarm="${id}"] .responders`)?.textContent?.includes('1 coming'), alarmId, {
      timeout: 2000,
    });
    assert.match(await responders.innerText(), /1 coming/);
    await screenshot(phone, 'phone-answered');
  });

  await t.test('a household user cannot open another household (403 shown)', async () => {
    await phone.goto(`${hub.httpUrl}/#/household/t2-h1`);
    const err = phone.locator('[data-status="403"]');
    await err.waitFor({ timeout: 3000 });
    assert.match(await err.innerText(), /403/);
    // Its own household opens.
    await phone.goto(`${hub.httpUrl}/#/household/${NEIGHBOUR.household}`);
    await phone.locator('table.devices').waitFor({ timeout: 3000 });
  });

  await t.test('the chart draws the points the API returned', async () => {
    const c = hub.device('t1-h1-smoke');
    const now = Date.now();
    for (let i = 0; i < 6; i++) {
      const ts = now - (50 - i * 8) * 60_000;
      await mosquittoPub({
        port: hub.hub.mqttPort,
        device: c.device,
        secret: c.secret,
        topic: `smokehub/h/${c.household}/d/${c.device}/telemetry`,
        message: JSON.stringify({ ts, smoke: 10 + i * 7, temperature: 28 + i, battery: 90 - i }),
      });
    }
    // Wait until the telemetry store has all six (it writes in batches).
    const token = await apiToken(hub, 'admin', hub.adminPassword);
    const deadline = Date.now() + 8000;
    for (;;) {
      const r = await fetch(`${hub.httpUrl}/api/telemetry?household=t1-h1&field=smoke&from=${now - 3600_000}&to=${now + 60_000}&every=1m`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      const body = (await r.json()) as { series: { points: unknown[] }[] };
      if (body.series?.reduce((n, s) => n + s.points.length, 0) >= 6) break;
      assert.ok(Date.now() < deadline, 'telemetry stored in time');
      await new Promise((r) => setTimeout(r, 200));
    }
    const answered = board.waitForResponse((r) => r.url().includes('/api/telemetry?') && r.url().includes('field=smoke'));
    await board.goto(`${hub.httpUrl}/#/household/t1-h1`);
    const apiBody = (await (await answered).json()) as { series: { device: string; points: { t: number; mean: number }[] }[] };
    const apiPoints = apiBody.series.flatMap((s) => s.points);
    assert.ok(apiPoints.length >= 1, 'the API returned points');
    const box = board.locator('.chart-box[data-field="smoke"][data-drawn="true"]');
    await box.waitFor({ timeout: 5000 });
    assert.equal(Number(await box.getAttribute('data-points')), apiPoints.length);
    // The canvas really has the line on it: count pixels in the series colour (#c4161c).
    const red = await box.evaluate((el) => {
      const canvas = el.querySelector('canvas');
      if (!canvas) return -1;
      const g = canvas.getContext('2d')!;
      const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! > 170 && d[i + 1]! < 60 && d[i + 2]! < 60 && d[i + 3]! > 200) n++;
      return n;
    });
    assert.ok(red > 30, `series drawn on the canvas (${red} red pixels)`);
    // The household's devices say their self-test as the health page does: a detector enrolled
    // within the last period is not due yet (neutral), never a warning on a fresh hub.
    const selfTests = await board.locator('td[data-selftest]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-selftest'), e.textContent]));
    assert.ok(
      selfTests.some(([s]) => s === 'none'),
      `the panic button has no self-test: ${JSON.stringify(selfTests)}`,
    );
    assert.ok(
      selfTests.every(([s, text]) => s !== 'overdue' && !String(text).startsWith('⚠')),
      JSON.stringify(selfTests),
    );
    // The accessible table holds exactly the API's values.
    const cells = await board.locator('table.data-table[data-field="smoke"] tbody tr td:nth-child(2)').allTextContents();
    const expected = apiBody.series[0]!.points.map((p) => String(p.mean));
    assert.deepEqual(cells, expected);
    // The alarm is marked on the time axis.
    assert.ok((await board.locator('ul.marks li').count()) >= 1, 'alarm marked');
    await screenshot(board, 'household');
  });

  await t.test('the language switch changes the strings (and is remembered)', async () => {
    await board.goto(`${hub.httpUrl}/#/board`);
    const nav = board.locator('header nav a').first();
    assert.equal(await nav.innerText(), 'Alarm board');
    await board.locator('#lang-switch').click();
    await board.waitForFunction(() => document.querySelector('header nav a')?.textContent === 'Bảng báo cháy');
    assert.equal(await board.locator('h1#board-title').innerText(), 'Bảng báo cháy trực tiếp');
    assert.equal(await board.locator('html').getAttribute('lang'), 'vi');
    await board.reload();
    await board.locator('h1#board-title').waitFor();
    assert.equal(await board.locator('h1#board-title').innerText(), 'Bảng báo cháy trực tiếp');
    await screenshot(board, 'board-vi');
    await board.locator('#lang-switch').click();
    await board.waitForFunction(() => document.querySelector('header nav a')?.textContent === 'Alarm board');
  });

  await t.test('area plan and health pages render every household', async () => {
    await board.goto(`${hub.httpUrl}/#/map`);
    const base = board.locator('canvas.map-base[data-drawn]');
    await base.waitFor({ timeout: 3000 });
    assert.equal(await base.getAttribute('data-drawn'), '6');
    assert.equal(await board.locator('canvas.map-over').getAttribute('data-alarms'), '1');
    await screenshot(board, 'area-plan');
    // Two detectors stay connected (MQTT.js) and report their battery, one of them low.
    const pool = new ClientPool();
    t.after(() => pool.closeAll());
    for (const [device, battery] of [
      ['t1-h3-smoke', 12],
      ['t2-h1-smoke', 96],
    ] as const) {
      const c = hub.device(device);
      const client = await pool.device(hub.mqttUrl, c);
      await client.publishAsync(`smokehub/h/${c.household}/d/${device}/telemetry`, JSON.stringify({ battery }), { qos: 1 });
    }
    // The detector that sent battery telemetry above has its test button pressed; a neighbour's reports a fault.
    await publishEvent(hub, 't1-h1-smoke', { id: 'e2e-test-button-1', type: 'test' });
    await publishEvent(hub, 't1-h2-smoke', { id: 'e2e-fault-1', type: 'fault' });
    const token = await apiToken(hub, 'admin', hub.adminPassword);
    const deadline = Date.now() + 10_000;
    for (;;) {
      // The manual test is stored by the next supervision sweep (every 5 s by default).
      const r = await fetch(`${hub.httpUrl}/api/devices/health?household=t1-h1`, { headers: { Authorization: `Bearer ${token}` } });
      const body = (await r.json()) as { devices: { device: string; lastTest: unknown }[] };
      if (body.devices.find((d) => d.device === 't1-h1-smoke')?.lastTest) break;
      assert.ok(Date.now() < deadline, 'the self-test was recorded in time');
      await new Promise((r) => setTimeout(r, 200));
    }
    const answered = board.waitForResponse((r) => r.url().endsWith('/api/devices/health'));
    await board.goto(`${hub.httpUrl}/#/health`);
    type Dev = { device: string; battery: number | null; lastTest: { at: number; outcome: string } | null; fault: boolean };
    const fromApi = ((await (await answered).json()) as { devices: Dev[] }).devices;
    assert.equal(fromApi.length, 12);
    const smoke = fromApi.find((d) => d.device === 't1-h1-smoke')!;
    assert.equal(smoke.battery, 85, 'the newest battery reading sent above');
    assert.equal(smoke.lastTest?.outcome, 'pass');
    assert.equal(fromApi.find((d) => d.device === 't1-h2-smoke')!.fault, true);
    await board.locator('#health-count').waitFor();
    await board.locator('select').first().selectOption('all');
    await board.waitForFunction(() => /of 12 devices/.test(document.querySelector('#health-count')?.textContent ?? ''));
    const row = board.locator('.vrow', { has: board.locator('.col-device', { hasText: /^t1-h1-smoke$/ }) });
    assert.equal(await row.locator('.col-battery').innerText(), `${smoke.battery} %`);
    const selfTest = row.locator('.col-selfTest');
    assert.equal(await selfTest.getAttribute('data-outcome'), 'pass');
    assert.match(await selfTest.innerText(), /^✓ Passed · \d+ (s|min) ago$/);
    assert.match((await selfTest.getAttribute('title')) ?? '', /^Tested /);
    const faulty = board.locator('.vrow', { has: board.locator('.col-device', { hasText: /^t1-h2-smoke$/ }) });
    assert.equal(await faulty.locator('.col-status .badge').getAttribute('data-status'), 'fault');
    assert.match(await faulty.locator('.col-status').innerText(), /Fault/);
    // Connected with a low battery: online, battery flagged.
    const low = board.locator('.vrow', { has: board.locator('.col-device', { hasText: /^t1-h3-smoke$/ }) });
    assert.equal(await low.locator('.col-status .badge').getAttribute('data-status'), 'online');
    assert.equal(await low.locator('.col-battery').innerText(), '⚠ 12 %');
    // Never tested detectors are flagged; panic buttons have no self-test.
    assert.match(await low.locator('.col-selfTest').innerText(), /never/);
    const panic = board.locator('.vrow', { has: board.locator('.col-device', { hasText: /^t1-h1-panic$/ }) });
    assert.equal(await panic.locator('.col-selfTest').innerText(), '—');
    // Filter: faults only.
    await board.locator('select').first().selectOption('fault');
    await board.waitForFunction(() => /^1 of 12 devices/.test(document.querySelector('#health-count')?.textContent ?? ''));
    await board.locator('select').first().selectOption('all');
    await board.waitForFunction(() => /^12 of 12 devices/.test(document.querySelector('#health-count')?.textContent ?? ''));
    await screenshot(board, 'health');
  });

  await t.test('resolve from the board; history lists it with its timeline', async () => {
    await board.goto(`${hub.httpUrl}/#/board`);
    const card = board.locator(`.alarm-card[data-alarm="${alarmId}"]`);
    await card.waitFor();
    await card.getByRole('button', { name: 'Resolve' }).click();
    await card.locator('[data-action="confirm-resolve"]').click();
    await board.locator('.all-clear').waitFor({ timeout: 3000 });
    await board.waitForFunction(() => document.title === 'smokehub');
    await board.goto(`${hub.httpUrl}/#/history`);
    const row = board.locator(`tr[data-alarm="${alarmId}"]`);
    await row.waitFor({ timeout: 3000 });
    assert.match(await row.innerText(), /Resolved/);
    await row.getByRole('button', { name: 'Timeline' }).click();
    await board.locator('.timeline-row .timeline li').first().waitFor({ timeout: 3000 });
    assert.match(await board.locator('.timeline-row .timeline').innerText(), /Resolved by the station/);
    const download = board.waitForEvent('download');
    await board.locator('#export-csv').click();
    const file = await download;
    const path = await file.path();
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(path!, 'utf8');
    assert.match(csv, /^\uFEFF?alarm,team,household/);
    assert.ok(csv.includes(alarmId));
    await screenshot(board, 'history');
  });

  await t.test('a logged-out browser lands on the login page, not a blank page', async () => {
    await phone.locator('#logout').click();
    await phone.locator('input[name=username]').waitFor({ timeout: 3000 });
    await phone.goto(`${hub.httpUrl}/#/board`);
    await phone.locator('input[name=username]').waitFor({ timeout: 3000 });
    await screenshot(phone, 'login-phone');
  });

  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
    'no page errors',
  );
});
