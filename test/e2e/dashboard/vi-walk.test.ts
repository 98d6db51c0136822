/**
 * Issue 14, point 1: "Vietnamese throughout". Every page of the dashboard, in Vietnamese, in
 * Debian's headless Chromium against a real hub holding data (an open alarm with a response, a
 * resolved one, telemetry, supervision and reminder notices): the visible text (innerText, the
 * document title, title/aria-label/placeholder/alt attributes), with ids, names and numbers
 * stripped, holds no word of the English UI word list kept with this test (english-words.ts).
 * Elements marked lang="en" (the "English" language switch) are English on purpose and skipped.
 * Dates are dd/mm/yyyy and times 24-hour in the hub's zone. The household page and the team
 * readiness show equipment (imported as `smokehub equipment import` does). A screenshot per page: docs/screenshots/walk-*-vi.png (with SMOKEHUB_UPDATE_SCREENSHOTS=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, sleep } from '../../helpers/mqtt-clients.ts';
import { loadConfig } from '../../../hub/config/config.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';
import { telemetryExtension } from '../../../hub/telemetry/telemetry-extension.ts';
import { importEquipment } from '../../../hub/supervision/equipment-import.ts';
import { addDays, localDate } from '../../../hub/protocol/local-time.ts';
import { ROOT, ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';
import { ENGLISH_UI_WORDS } from './english-words.ts';

const NEIGHBOUR = { username: 'nguyen-t1h2', password: 'neighbour-password-1', household: 't1-h2' };
const LEADER = { username: 'lan-t1', password: 'leader-password-1' };
const WORDS = new Set(ENGLISH_UI_WORDS);
/** The text each page was checked on, for a reader of a failure. */
const TEXT_DIR = join(ROOT, 'test-artifacts', 'vi-walk');

/** What a person sees or hears read out on the page, without what is English on purpose (lang="en"). */
async function visibleText(page: Page): Promise<string> {
  return page.evaluate(() => {
    let text = document.body.innerText;
    for (const el of document.querySelectorAll<HTMLElement>('body [lang="en"], body [lang^="en-"]')) text = text.replace(el.innerText, ' ');
    const parts = [document.title, text];
    for (const el of document.querySelectorAll('[title], [aria-label], [placeholder], [alt]')) {
      if (el.closest('[lang="en"], [lang^="en-"]') && el.closest('[lang]') !== document.documentElement) continue;
      for (const a of ['title', 'aria-label', 'placeholder', 'alt']) {
        const v = el.getAttribute(a);
        if (v) parts.push(v);
      }
    }
    return parts.join('\n');
  });
}

/** English UI words in a text, with some context; ids, numbers and anything with a digit are not words. */
export function englishWords(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}'’_-]+/gu)) {
    const token = m[0];
    if (/\d/.test(token)) continue; // ids (t1-h1-smoke), numbers, times, dates
    for (const w of new Set([token, ...token.split(/[-_]/)])) {
      if (!WORDS.has(w.toLowerCase())) continue;
      const at = m.index ?? 0;
      found.push(`"${w}" in …${text.slice(Math.max(0, at - 40), at + token.length + 40).replace(/\s+/g, ' ')}…`);
    }
  }
  return found;
}

async function walk(page: Page, name: string, englishFound: Map<string, string[]>): Promise<string> {
  const text = await visibleText(page);
  mkdirSync(TEXT_DIR, { recursive: true });
  writeFileSync(join(TEXT_DIR, `${name}-vi.txt`), text);
  const found = englishWords(text);
  if (found.length) englishFound.set(name, found);
  // No 12-hour clock and no month-first date anywhere.
  assert.doesNotMatch(text, /\b\d{1,2}(:\d{2})?\s?(am|pm|AM|PM|SA|CH)\b/, `${name}: a 12-hour time`);
  assert.doesNotMatch(text, /\b(1[3-9]|2\d|3[01])\/(0?[1-9]|1[0-2])\/\d{2}(?!\d)/, `${name}: a two-digit year`);
  await screenshot(page, `walk-${name}-vi`);
  return text;
}

test('every page in Vietnamese shows no English UI word', { timeout: 110_000 }, async (t) => {
  await ensureDashboardBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-vi-'));
  const base = loadConfig({ flags: { data: dataDir }, env: {} });
  const supervision = supervisionExtension({ sweepIntervalMs: 300 });
  const hub: TestHub = await startTestHub({
    dataDir,
    config: { verifyWindowS: 0, supervisionWindowS: 3 },
    extensions: [telemetryExtension({ ...base, dataDir }), supervision],
  });
  const pool = new ClientPool();
  let browser: Browser | null = null;
  t.after(async () => {
    await pool.closeAll();
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: NEIGHBOUR.username, role: 'household', household: NEIGHBOUR.household, password: NEIGHBOUR.password });
  await hub.hub.registry.addUser({ username: LEADER.username, role: 'team-leader', team: 't1', password: LEADER.password });
  const admin = await hub.login('admin', hub.adminPassword);

  // Data: telemetry of t1-h1 over the last hours (a low battery), one alarm there answered and
  // resolved (history), one open alarm in t1-h3 (board, phone), a detector that drops off (offline
  // notice), the daily check (battery-low and team digest) and the daily report notices.
  const h1 = await pool.device(hub.mqttUrl, hub.device('t1-h1-smoke'));
  const now = Date.now();
  for (let i = 12; i >= 0; i--) {
    const reading = { ts: now - i * 15 * 60_000, smoke: 10 + i, temperature: 28 + (i % 3), battery: 15 };
    await h1.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify(reading), { qos: 1 });
  }
  await h1.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'vi-smoke-1', type: 'smoke' }), { qos: 1 });
  let first = '';
  for (let i = 0; i < 100 && !first; i++) {
    const open = await hub.api(admin, '/api/alarms?state=open&household=t1-h1');
    first = open.body?.alarms?.[0]?.alarm ?? '';
    if (!first) await sleep(50);
  }
  assert.ok(first, 'the first alarm is open');
  const neighbour = await hub.login(NEIGHBOUR.username, NEIGHBOUR.password);
  const answered = await hub.api(neighbour, `/api/alarms/${first}/respond`, {
    method: 'POST',
    body: JSON.stringify({ household: 't1-h2', response: 'coming' }),
  });
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  // QoS 1: the PUBACK comes once the hub has journalled the clear, so nothing to wait for.
  await h1.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'vi-clear-1', type: 'clear' }), { qos: 1 });
  const resolved = await hub.api(admin, `/api/alarms/${first}/resolve`, { method: 'POST', body: '{}' });
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));

  const h3 = await pool.device(hub.mqttUrl, hub.device('t1-h3-smoke'));
  await h3.publishAsync('smokehub/h/t1-h3/d/t1-h3-smoke/event', JSON.stringify({ id: 'vi-smoke-2', type: 'smoke' }), { qos: 1 });

  const dropper = await pool.device(hub.mqttUrl, hub.device('t2-h1-smoke'));
  await dropper.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/telemetry', JSON.stringify({ battery: 80 }), { qos: 1 });
  (dropper as unknown as { stream: { destroy(): void } }).stream.destroy();
  for (let i = 0; i < 100 && supervision.handle!.notices.list({ notice: 'offline' }).length === 0; i++) await sleep(100);
  assert.ok(supervision.handle!.notices.list({ notice: 'offline' }).length > 0, 'an offline notice');
  assert.equal((await supervision.handle!.jobs.runNow('daily-check')).outcome, 'ok');
  assert.equal((await supervision.handle!.jobs.runNow('daily-report')).outcome, 'ok');
  const kinds = new Set(supervision.handle!.notices.list().map((n) => n.notice));
  for (const k of ['offline', 'battery-low', 'team-digest', 'daily-report']) assert.ok(kinds.has(k), `a ${k} notice (${[...kinds]})`);
  for (const n of supervision.handle!.notices.list()) assert.ok(n.params, `${n.notice} carries params`);
  // Equipment of t1-h1 (household page, readiness): one expired, one expiring, one without expiry.
  const today = localDate(Date.now(), hub.config.timezone);
  const eqRows = [`t1-h1,extinguisher,EX-1,${addDays(today, -5)}`, `t1-h1,fire blanket,,${addDays(today, 12)}`, 't1-h1,crowbar,,'];
  importEquipment(supervision.handle!.equipment, `household,item,serial,expires\n${eqRows.join('\n')}\n`, (h) => hub.hub.registry.teamOf(h), Date.now());

  browser = await launchBrowser();
  const errors: string[] = [];
  const english = new Map<string, string[]>();
  const station: BrowserContext = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'vi-VN', timezoneId: 'Europe/London' });
  const page = await station.newPage();
  watchPage(page, errors);

  await t.test('login page', async () => {
    await page.goto(`${hub.httpUrl}/#/login`);
    await page.locator('input[name=username]').waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
    await walk(page, 'login', english);
  });

  await login(page, hub.httpUrl, 'admin', hub.adminPassword);

  await t.test('board: the open alarm, its timeline and the notices', async () => {
    await page.goto(`${hub.httpUrl}/#/board`);
    await page.locator('.alarm-card .timeline li').first().waitFor({ timeout: 5000 });
    const dropped = page.locator('.notice-list li', { hasText: 't2-h1-smoke' }).locator('.notice-text[data-notice="offline"]').first();
    await dropped.waitFor({ timeout: 5000 });
    const offline = await dropped.innerText();
    assert.match(offline, /^Thiết bị báo khói t2-h1-smoke mất kết nối: kết nối bị ngắt\./);
    await walk(page, 'board', english);
  });

  await t.test('map', async () => {
    await page.goto(`${hub.httpUrl}/#/map`);
    await page.locator('h1').first().waitFor();
    // The plan has drawn its households (the canvas says how many), not just its heading.
    await page.waitForFunction(() => Number(document.querySelector('canvas.map-base')?.getAttribute('data-drawn') ?? 0) > 0, undefined, { timeout: 10_000 });
    await walk(page, 'map', english);
  });

  await t.test('device health with its notices', async () => {
    await page.goto(`${hub.httpUrl}/#/health`);
    await page.locator('#health-count').waitFor();
    await page.locator('select').first().selectOption('all');
    await page.locator('.vrow').first().waitFor();
    await page.locator('.notice-list li').first().waitFor({ timeout: 5000 });
    const kinds = await page.locator('.vrow .col-kind').allInnerTexts();
    assert.ok(kinds.length > 0 && kinds.every((k) => !/smoke|panic/.test(k)), `device kinds in Vietnamese: ${kinds.slice(0, 4)}`);
    // The Vietnamese kinds are longer than the ids: none is cut ("Nút khẩn cấp").
    const cut = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('.vrow .col-kind, .vhead .col-kind')]
        .filter((el) => el.scrollWidth > el.clientWidth + 1)
        .map((el) => el.innerText),
    );
    assert.deepEqual(cut, [], 'no device kind is cut');
    await walk(page, 'health', english);
  });

  await t.test('team readiness: equipment expired and expiring, detectors', async () => {
    await page.goto(`${hub.httpUrl}/#/readiness`);
    await page.locator('table.readiness tr[data-household="t1-h1"] .badge.eq-expired').waitFor({ timeout: 10_000 });
    await walk(page, 'readiness', english);
  });

  await t.test('history with a timeline open; dates typed dd/mm/yyyy', async () => {
    await page.goto(`${hub.httpUrl}/#/history`);
    const row = page.locator(`tr[data-alarm="${first}"]`);
    await row.waitFor({ timeout: 5000 });
    await row.locator('button').click();
    await page.locator('.timeline-row .timeline li').first().waitFor({ timeout: 5000 });
    const from = page.locator('input[name=from]');
    assert.equal(await from.getAttribute('placeholder'), 'ngày/tháng/năm');
    // Times are the hub's (Asia/Ho_Chi_Minh), not the browser's (Europe/London here).
    const raised = await row.locator('td').first().innerText();
    const want = new Intl.DateTimeFormat('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    const raisedAt = (await hub.api(admin, `/api/alarms/${first}`)).body.raisedAt as number;
    assert.ok(raised.includes(want.format(new Date(raisedAt))), `${raised} shows the hub zone's ${want.format(new Date(raisedAt))}`);
    assert.match(raised, /\d{2}\/\d{2}\/\d{4}/);
    assert.match(await page.locator('[data-timezone]').innerText(), /Asia\/Ho_Chi_Minh \(GMT\+7\)/);
    const today = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date());
    await from.fill(today);
    await page.locator('input[name=to]').fill(today);
    await page.locator('form.filters button[type=submit]').click();
    await row.waitFor({ timeout: 5000 });
    await walk(page, 'history', english);
  });

  await t.test('household: devices, charts (axes, legend), events', async () => {
    await page.goto(`${hub.httpUrl}/#/household/t1-h1`);
    await page.locator('.chart-box[data-drawn="true"]').first().waitFor({ timeout: 8000 });
    await page.locator('ul.marks li').first().waitFor({ timeout: 5000 });
    assert.deepEqual(await page.locator('.household-equipment tbody td:first-child').allInnerTexts(), ['Bình chữa cháy', 'Chăn chữa cháy', 'Xà beng']);
    const marks = await page.locator('ul.marks').innerText();
    assert.match(marks, /Phát báo cháy|Đã báo hàng xóm|Trả lời/);
    // The legend's time column and, hovering the plot, an instant in the hub's zone, 24-hour.
    const over = page.locator('.chart-box .u-over').first();
    const box = await over.boundingBox();
    if (box) await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    const legend = await page.locator('.chart-box .u-legend').first().innerText();
    assert.match(legend, /Thời điểm/);
    assert.doesNotMatch(legend, /Time/);
    await page.locator('input[name=range][value=custom]').check();
    assert.match((await page.locator('input[name=from]').inputValue()) ?? '', /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}$/);
    await walk(page, 'household', english);
  });

  await t.test('drills', async () => {
    await page.goto(`${hub.httpUrl}/#/drills`);
    await page.locator('h1').first().waitFor();
    await page.locator('table.drills, .drills-empty').first().waitFor({ timeout: 10_000 });
    await walk(page, 'drills', english);
  });

  await t.test('team leader board', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'vi-VN' });
    const p = await ctx.newPage();
    watchPage(p, errors);
    await login(p, hub.httpUrl, LEADER.username, LEADER.password);
    await p.locator('.alarm-card').first().waitFor({ timeout: 5000 });
    await walk(p, 'leader-board', english);
    await ctx.close();
  });

  await t.test('phone view of a neighbour', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true });
    const phone = await ctx.newPage();
    watchPage(phone, errors);
    await login(phone, hub.httpUrl, NEIGHBOUR.username, NEIGHBOUR.password);
    await phone.locator('.phone-alert').first().waitFor({ timeout: 5000 });
    await walk(phone, 'phone', english);
    await ctx.close();
  });

  assert.deepEqual(Object.fromEntries(english), {}, 'English UI words in Vietnamese mode');
  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
    'no page errors',
  );
});
