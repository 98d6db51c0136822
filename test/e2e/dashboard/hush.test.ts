/**
 * The alarm semantics of a hush, in the browser against a real hub: the origin household's "False
 * alarm" (after a confirmation that says it hushes) makes the alarm `hushed` — the station sees it
 * watched, a neighbour is told to stand down, nothing calls for attention; a neighbour's "Need
 * help" raises it again; a detector's hush during the escalated alarm only silences; the origin's
 * false alarm on the escalated alarm is shown to the station; the timeline says who did each
 * step (a device, a user, the hub's timer) and through which channel. Vietnamese throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';
import { mosquittoPub } from './mosquitto.ts';

const ORIGIN = { username: 'nguyen-t1h1', password: 'origin-password-1', household: 't1-h1' };
const NEIGHBOUR = { username: 'nguyen-t1h2', password: 'neighbour-password-1', household: 't1-h2' };
const CHIEF = { username: 'chief', password: 'chief-password-1' };

async function publishEvent(hub: TestHub, device: string, body: Record<string, unknown>): Promise<void> {
  const c = hub.device(device);
  await mosquittoPub({ port: hub.hub.mqttPort, device, secret: c.secret, topic: `smokehub/h/${c.household}/d/${device}/event`, message: JSON.stringify(body) });
}

const timelineOf = (page: Page, alarm: string) => page.locator(`.alarm-card[data-alarm="${alarm}"] .timeline`);
/** Waits until the card's timeline has an entry for `transition` and returns its text. */
async function entry(page: Page, alarm: string, transition: string): Promise<string> {
  const li = page.locator(`.alarm-card[data-alarm="${alarm}"] .timeline li[data-transition="${transition}"]`).last();
  await li.waitFor({ timeout: 5000 });
  return li.innerText();
}

test('hushed, stood down, raised again, silenced, reported false: board, phones and timeline', { timeout: 90_000 }, async (t) => {
  await ensureDashboardBuilt();
  // A 1 s verify window: the hub's own timer alerts the neighbours (a `by: hub` timeline entry).
  const hub = await startTestHub({ config: { verifyWindowS: 1 } });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: ORIGIN.username, role: 'household', household: ORIGIN.household, password: ORIGIN.password });
  await hub.hub.registry.addUser({ username: NEIGHBOUR.username, role: 'household', household: NEIGHBOUR.household, password: NEIGHBOUR.password });
  await hub.hub.registry.addUser({ username: CHIEF.username, role: 'station', password: CHIEF.password });
  browser = await launchBrowser();
  const errors: string[] = [];
  const open = async (who: { username: string; password: string }, phone: boolean) => {
    const ctx = await browser!.newContext(
      phone
        ? { viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true }
        : { viewport: { width: 1366, height: 900 }, locale: 'vi-VN' },
    );
    const page = await ctx.newPage();
    watchPage(page, errors);
    await login(page, hub.httpUrl, who.username, who.password);
    await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });
    return page;
  };
  const board = await open(CHIEF, false);
  const origin = await open(ORIGIN, true);
  const neighbour = await open(NEIGHBOUR, true);

  // Smoke at t1-h1: pre-alarm, then active when the hub's verify window ends.
  await publishEvent(hub, 't1-h1-smoke', { id: 'hush-e2e-1', type: 'smoke' });
  const card = board.locator('.alarm-card').first();
  await card.waitFor({ timeout: 3000 });
  const alarm = (await card.getAttribute('data-alarm'))!;
  await board.locator(`.alarm-card[data-alarm="${alarm}"] .badge[data-state="active"]`).waitFor({ timeout: 5000 });
  assert.match(await entry(board, alarm, 'raised'), /Phát báo cháy.*thiết bị t1-h1-smoke, qua MQTT/);
  assert.match(await entry(board, alarm, 'activated'), /Đã báo hàng xóm.*hệ thống: hết thời gian xác minh, theo hẹn giờ/);
  const nAlert = neighbour.locator(`.phone-alert[data-alarm="${alarm}"]`);
  await nAlert.locator('button[data-response="coming"]').waitFor({ timeout: 3000 });
  assert.match(await board.title(), /\(1\) BÁO CHÁY/);

  // The origin household says false alarm: the confirmation says it hushes, then it is hushed.
  const oAlert = origin.locator(`.phone-alert[data-alarm="${alarm}"]`);
  await oAlert.locator('button[data-response="false-alarm"]').tap();
  const confirm = oAlert.locator('.confirm-text');
  await confirm.waitFor({ timeout: 2000 });
  assert.match(await confirm.innerText(), /tắt chuông báo trong nhà bạn và báo cho hàng xóm rút lui/);
  assert.match(await confirm.innerText(), /báo động lại/);
  await screenshot(origin, 'phone-false-alarm-confirm');
  await oAlert.locator('[data-action="confirm-false-alarm"]').tap();
  const hushedBadge = board.locator(`.alarm-card[data-alarm="${alarm}"] .badge[data-state="hushed"]`);
  await hushedBadge.waitFor({ timeout: 3000 });
  assert.equal((await hushedBadge.innerText()).trim(), '⊘ Chủ nhà đã tắt báo (đang theo dõi)');
  const hushedInfo = await board.locator(`.alarm-card[data-alarm="${alarm}"] .hushed-info`).innerText();
  assert.match(hushedInfo, /theo dõi đến \d{1,2}:\d{2}:\d{2} \(còn (\d+ phút|\d+ giây)\)/);
  assert.match(await entry(board, alarm, 'hushed'), /Chủ nhà tắt báo.*chủ nhà báo báo động giả.*nguyen-t1h1 \(hộ gia đình\), qua web/);
  // Hushed calls for nobody's attention: the station's title is quiet, the alarm still listed.
  await board.waitForFunction(() => document.title === 'smokehub', undefined, { timeout: 3000 });
  assert.equal(await board.locator('.alarm-card').count(), 1);
  // The neighbour is told to stand down; the origin sees that the hub watches it.
  await nAlert.locator('.phone-standdown').waitFor({ timeout: 3000 });
  assert.match(await nAlert.innerText(), /Rút lui: chủ nhà báo đã kiểm soát được/);
  assert.equal(await nAlert.locator('button[data-response="coming"]').count(), 0);
  await oAlert.locator('.phone-hushed').waitFor({ timeout: 3000 });
  assert.match(await oAlert.locator('.phone-hushed').innerText(), /Trung tâm theo dõi đến/);
  await neighbour.waitForFunction(() => document.title === 'smokehub', undefined, { timeout: 3000 });
  await screenshot(neighbour, 'phone-stand-down');
  await screenshot(board, 'board-hushed');

  // The neighbour sees fire anyway and asks for help: raised again, and escalated.
  await nAlert.locator('button[data-response="need-help"]').tap();
  await board.locator(`.alarm-card[data-alarm="${alarm}"] .badge[data-state="escalated"]`).waitFor({ timeout: 3000 });
  assert.match(await entry(board, alarm, 're-raised'), /Báo động lại.*hàng xóm cần giúp.*nguyen-t1h2 \(hộ gia đình\), qua web/);
  assert.match(await board.title(), /\(1\) BÁO CHÁY/);
  await nAlert.locator('.phone-standdown').waitFor({ state: 'detached', timeout: 3000 });
  assert.match(
    await board.locator(`.alarm-card[data-alarm="${alarm}"] .responder-list`).innerText(),
    /t1-h2: cần giúp .*\(nguyen-t1h2 \(hộ gia đình\), qua web\)/,
  );

  // A detector's hush during the escalated alarm only silences the household's sounders.
  await publishEvent(hub, 't1-h1-smoke', { id: 'hush-e2e-2', type: 'hush' });
  await board.locator(`.alarm-card[data-alarm="${alarm}"] .silenced-info`).waitFor({ timeout: 3000 });
  assert.match(await board.locator(`.alarm-card[data-alarm="${alarm}"] .silenced-info`).innerText(), /Chủ nhà đã tắt chuông lúc/);
  assert.match(await entry(board, alarm, 'silenced'), /Chủ nhà tắt chuông.*thiết bị t1-h1-smoke, qua MQTT/);
  assert.equal(await board.locator(`.alarm-card[data-alarm="${alarm}"] .badge[data-state="escalated"]`).count(), 1, 'still escalated');

  // The origin says false alarm again: escalated, so it is only shown to the station.
  await oAlert.locator('button[data-response="false-alarm"]').tap();
  assert.match(await oAlert.locator('.confirm-text').innerText(), /chỉ đội chữa cháy mới kết thúc được/);
  await oAlert.locator('[data-action="confirm-false-alarm"]').tap();
  const flag = board.locator(`.alarm-card[data-alarm="${alarm}"] [data-flag="origin-says-false-alarm"]`);
  await flag.waitFor({ timeout: 3000 });
  assert.match(await flag.innerText(), /Chủ nhà báo báo động giả/);
  assert.match(await entry(board, alarm, 'false-alarm-reported'), /Chủ nhà báo báo động giả.*nguyen-t1h1 \(hộ gia đình\), qua web/);
  assert.equal(await board.locator(`.alarm-card[data-alarm="${alarm}"] .badge[data-state="escalated"]`).count(), 1, 'still escalated');
  await screenshot(board, 'board-origin-says-false');

  // Only the station closes it; the timeline says it was chief.
  await card.locator('.actions button').first().click();
  await card.locator('[data-action="confirm-resolve"]').click();
  await board.locator('.all-clear').waitFor({ timeout: 3000 });
  await origin.locator('.phone-clear').waitFor({ timeout: 3000 });
  await neighbour.locator('.phone-clear').waitFor({ timeout: 3000 });
  const token = await hub.login(CHIEF.username, CHIEF.password);
  const detail = await hub.api(token, `/api/alarms/${alarm}`);
  const last = detail.body.timeline.at(-1);
  assert.deepEqual([last.transition, last.by, last.via], ['resolved-by-station', { kind: 'user', id: 'chief', role: 'station' }, 'http']);
  await board.goto(`${hub.httpUrl}/#/history`);
  const row = board.locator(`tr[data-alarm="${alarm}"]`);
  await row.waitFor({ timeout: 3000 });
  await row.locator('button').first().click();
  await board.locator('.timeline-row .timeline li[data-transition="resolved-by-station"]').waitFor({ timeout: 3000 });
  assert.match(await board.locator('.timeline-row .timeline li[data-transition="resolved-by-station"]').innerText(), /chief \(trạm\), qua web/);
  assert.ok((await timelineOf(board, alarm).count()) === 0, 'the board card is gone');

  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
    'no page errors',
  );
});
