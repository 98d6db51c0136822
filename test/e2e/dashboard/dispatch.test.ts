/**
 * The fire station's side in the browser, against a real hub with a GSM modem simulator on a real
 * socat PTY pair: the board shows the dispatch card and who was texted and called; the station
 * acknowledges, then dispatches a truck (ETA and note) from the board, and the neighbour's phone says
 * "Xe chữa cháy đang đến · ~7 phút"; an SMS reply shows in the timeline as the phone number; a
 * household of another team 10 m away sees the alarm marked "Gần nhà bạn" and its answer (sent over
 * MQTT: the HTTP route refuses another team) reaches the board; the household page shows the
 * household's numbers and dispatch card. Vietnamese throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { hasSocat, killAllSocat, startPtyModem, type PtyModem } from '../../helpers/modem-pty.ts';
import { ensureDashboardBuilt, launchBrowser, login, recordTones, screenshot, tonesOf, watchPage } from './browser.ts';
import { mosquittoPub } from './mosquitto.ts';

const skip = hasSocat() ? false : 'socat is not installed (apt-get install -y socat)';

// Team t1: four households, t1-h1 with a dispatch card. t2-near (team t2) lives 10 m from t1-h1.
const CSV =
  [
    'team,household,name,address,phone,lat,lon,device,kind,secret,access,hazards,vulnerable,water',
    't1,t1-h1,Nhà bà Lan,"12 ngõ 5 Lê Lợi, Hồng Gai",0901000001,20.950000,107.080000,t1-h1-smoke,smoke,,ngõ 2 m: xe đỗ đầu ngõ,2 bình gas,bà cụ 80 tuổi tầng 2,trụ nước đầu ngõ',
    't1,t1-h2,Nhà ông Hùng,"14 ngõ 5 Lê Lợi",0901000002,20.950300,107.080000,t1-h2-smoke,smoke,,,,,',
    't1,t1-h3,Nhà chị Mai,"16 ngõ 5 Lê Lợi",0901000003,20.950600,107.080000,t1-h3-smoke,smoke,,,,,',
    't1,t1-h4,Nhà anh Bình,"18 ngõ 5 Lê Lợi",0901000004,20.950900,107.080000,t1-h4-smoke,smoke,,,,,',
    't2,t2-near,Nhà anh Tú,"1A Lê Lợi",0901000009,20.950090,107.080000,t2-near-smoke,smoke,,,,,',
    't2,t2-far,Nhà chú Sơn,"90 Trần Phú",0901000010,20.960000,107.090000,t2-far-smoke,smoke,,,,,',
  ].join('\n') + '\n';

const CHIEF = { username: 'chief', password: 'chief-password-1' };
const NEIGHBOUR = { username: 'hung-t1h2', password: 'neighbour-password-1', household: 't1-h2' };
const NEAR = { username: 'tu-t2near', password: 'nearby-password-1', household: 't2-near' };

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the station acknowledges and dispatches from the board; phones say the truck is coming; nearby homes are marked', {
  skip,
  timeout: 120_000,
}, async (t) => {
  await ensureDashboardBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-dash-dispatch-'));
  let pty: PtyModem | null = null;
  let hub: TestHub | null = null;
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub?.stop();
    await pty?.stop();
    killAllSocat();
    rmSync(dir, { recursive: true, force: true });
  });
  pty = await startPtyModem(dir, { smsLatencyMs: 30, dialMs: 50 });
  const sim = pty.sim;
  // Calls end quickly: busy, except t1-h4 who answers.
  for (const n of ['+84901000002', '+84901000003', '+84901000009']) sim.scriptCall(n, { busyAfterMs: 150 });
  sim.scriptCall('+84901000004', { answerAfterMs: 100 });
  hub = await startTestHub({ csv: CSV, config: { verifyWindowS: 0, escalateAfterS: 600, callAfterS: 2, callRingS: 5, modem: pty.hubPath } });
  const h = hub;
  await h.hub.registry.addUser({ username: CHIEF.username, role: 'station', password: CHIEF.password });
  await h.hub.registry.addUser({ username: NEIGHBOUR.username, role: 'household', household: NEIGHBOUR.household, password: NEIGHBOUR.password });
  await h.hub.registry.addUser({ username: NEAR.username, role: 'household', household: NEAR.household, password: NEAR.password });

  browser = await launchBrowser();
  const errors: string[] = [];
  const open = async (who: { username: string; password: string }, phone: boolean): Promise<Page> => {
    const ctx = await browser!.newContext(
      phone
        ? { viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true }
        : { viewport: { width: 1366, height: 1000 }, locale: 'vi-VN' },
    );
    await recordTones(ctx);
    const page = await ctx.newPage();
    watchPage(page, errors);
    await login(page, h.httpUrl, who.username, who.password);
    await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });
    return page;
  };
  const board = await open(CHIEF, false);
  const neighbour = await open(NEIGHBOUR, true);
  const near = await open(NEAR, true);
  // The login's taps and key presses unlocked the sound.
  await neighbour.locator('button[aria-pressed="true"]', { hasText: 'Âm thanh: bật' }).waitFor({ timeout: 3000 });

  const origin = h.device('t1-h1-smoke');
  await mosquittoPub({
    port: h.hub.mqttPort,
    device: origin.device,
    secret: origin.secret,
    topic: `smokehub/h/t1-h1/d/t1-h1-smoke/event`,
    message: JSON.stringify({ id: 'dispatch-e2e-1', type: 'smoke' }),
  });
  const card = board.locator('.alarm-card').first();
  await card.waitFor({ timeout: 3000 });
  const alarm = (await card.getAttribute('data-alarm'))!;
  await card.locator('.badge[data-state="active"]').waitFor({ timeout: 3000 });

  // The dispatch card of the origin household is on the board.
  const vulnerable = card.locator('.dispatch-card [data-field="vulnerable"] dd');
  await vulnerable.waitFor({ timeout: 3000 });
  assert.equal(await vulnerable.innerText(), 'bà cụ 80 tuổi tầng 2');
  assert.equal(await card.locator('.dispatch-card [data-field="hazards"] dd').innerText(), '2 bình gas');
  assert.match(await card.locator('.nearby-list').innerText(), /^t2-near$/, 'the nearby household of another team is listed');

  // The nearby household's phone: marked "near you", with the distance; the team's neighbour is not marked.
  const nearAlert = near.locator(`.phone-alert[data-alarm="${alarm}"]`);
  await nearAlert.waitFor({ timeout: 3000 });
  assert.equal(await nearAlert.getAttribute('data-nearby'), 'true');
  assert.match(await nearAlert.locator('.phone-nearby-badge').innerText(), /Gần nhà bạn/);
  assert.match(await nearAlert.locator('.phone-where').innerText(), /12 ngõ 5 Lê Lợi, Hồng Gai — 10 m/);
  assert.match(await nearAlert.locator('.phone-nearby-hint').innerText(), /không bắt buộc phải đến/);
  const nAlert = neighbour.locator(`.phone-alert[data-alarm="${alarm}"]`);
  await nAlert.waitFor({ timeout: 3000 });
  assert.equal(await nAlert.locator('.phone-nearby-badge').count(), 0);
  // A real fire sounds the temporal-three fire pattern (the drill test checks that a drill does not).
  await neighbour.waitForFunction(() => (window as unknown as { __tones: unknown[] }).__tones.length > 0, undefined, { timeout: 3000 });
  assert.deepEqual(await tonesOf(neighbour), [{ wave: 'square', freqs: [950] }]);
  await screenshot(near, 'phone-nearby');
  // Its answer reaches the board (a nearby household may answer another team's alarm over HTTP).
  await nearAlert.locator('button[data-response="coming"]').tap();
  await nearAlert.locator('.phone-answer').waitFor({ timeout: 3000 });
  await waitUntil(
    'the nearby answer on the board',
    async () =>
      /t2-near: đang đến/.test(
        await card
          .locator('.responder-list')
          .innerText()
          .catch(() => ''),
      ),
    5000,
  );
  assert.deepEqual(
    h.hub.alarms
      .viewOf(alarm)!
      .responders.filter((r) => r.household === 't2-near')
      .map((r) => [r.response, r.via]),
    [['coming', 'http']],
  );

  // A neighbour answers by SMS: the timeline names the phone number.
  await waitUntil('the texts to the team', () => sim.sent.some((s) => s.to.endsWith('901000003')), 15_000);
  sim.injectSms('+84901000003', '1');
  const smsResponse = card.locator('.timeline li[data-transition="response"]').filter({ hasText: '+84901000003' });
  await smsResponse.waitFor({ timeout: 10_000 });
  assert.match(await smsResponse.innerText(), /Trả lời.*hộ t1-h3 · đang đến.*tin nhắn từ \+84901000003, qua tin nhắn/);

  // The station acknowledges: the card and the neighbour's phone say so.
  await card.locator('[data-action="acknowledge"]').click();
  await card.locator('.dispatch-status[data-dispatch="acknowledged"]').waitFor({ timeout: 3000 });
  assert.match(await card.locator('.dispatch-status').innerText(), /Đội chữa cháy đã tiếp nhận — chief lúc/);
  await nAlert.locator('.phone-acknowledged').waitFor({ timeout: 3000 });
  assert.match(await nAlert.locator('.phone-acknowledged').innerText(), /Đội chữa cháy đã tiếp nhận tin báo/);
  assert.equal(await card.locator('[data-action="acknowledge"]').count(), 0, 'acknowledged once');

  // Then dispatches a truck with an ETA and a note.
  await card.locator('[data-action="dispatch"]').click();
  await card.locator('input[name="etaMin"]').fill('7');
  await card.locator('input[name="note"]').fill('2 xe, đi đường Lê Lợi');
  await card.locator('[data-action="confirm-dispatch"]').click();
  const status = card.locator('.dispatch-status[data-dispatch="dispatched"]');
  await status.waitFor({ timeout: 3000 });
  assert.match(await status.innerText(), /Xe chữa cháy đang đến · ~7 phút — chief lúc \d{1,2}:\d{2}:\d{2} · “2 xe, đi đường Lê Lợi”/);
  for (const phone of [neighbour, near]) {
    const truck = phone.locator(`.phone-alert[data-alarm="${alarm}"] .phone-truck`);
    await truck.waitFor({ timeout: 3000 });
    assert.match(await truck.innerText(), /Xe chữa cháy đang đến · ~7 phút/);
  }
  assert.equal(await nAlert.locator('.phone-acknowledged').count(), 0, 'dispatched replaces acknowledged');
  assert.match(await nAlert.locator('.phone-dispatch-note').innerText(), /2 xe, đi đường Lê Lợi/);
  assert.match(await card.locator('.timeline li[data-transition="acknowledged"]').innerText(), /Đội chữa cháy đã tiếp nhận.*chief \(trạm\), qua web/);
  assert.match(
    await card.locator('.timeline li[data-transition="dispatched"]').innerText(),
    /Đã điều xe chữa cháy — ~7 phút · “2 xe, đi đường Lê Lợi” · chief \(trạm\), qua web/,
  );
  assert.deepEqual({ ...h.hub.alarms.viewOf(alarm)!.dispatch, at: 0 }, { state: 'dispatched', at: 0, by: 'chief', etaMin: 7, note: '2 xe, đi đường Lê Lợi' });
  await screenshot(neighbour, 'phone-truck-coming');

  // Who was texted and called: SMS sent to each number, and t1-h4's call answered (after --call-after).
  // A long list starts folded; unfold it (the page remembers the choice).
  const box = card.locator('details.contacts-box');
  await box.evaluate((d) => void ((d as HTMLDetailsElement).open = true));
  await card.locator('details.contacts-box[open]').waitFor({ timeout: 3000 });
  const row = (to: string, kind: string, more = '') => card.locator(`.contact-table tr[data-kind="${kind}"][data-to="${to}"]${more}`);
  await row('+84901000004', 'call', '[data-outcome="answered"]').waitFor({ timeout: 20_000 });
  assert.match(await row('+84901000004', 'call').innerText(), /Cuộc gọi\s+\+84901000004\s+t1-h4\s+✓ đã gọi\s+\d{1,2}:\d{2}:\d{2}\s+đã nghe máy/);
  await row('+84901000002', 'sms', '[data-state="sent"]').first().waitFor({ timeout: 10_000 });
  assert.match(await row('+84901000002', 'sms', '[data-state="sent"]').first().innerText(), /Tin nhắn\s+\+84901000002\s+t1-h2\s+✓ đã gửi/);
  assert.ok((await row('+84901000009', 'sms').count()) >= 1, 'the nearby household was texted');
  // t1-h3 answered by SMS before --call-after: its call was cancelled, and the board says why.
  await row('+84901000003', 'call', '[data-state="cancelled"]').waitFor({ timeout: 5000 });
  assert.match(await row('+84901000003', 'call').innerText(), /đã hủy.*đã trả lời trước, không cần gọi/s);
  const called = card.locator('.timeline li[data-transition="called"]').filter({ hasText: '+84901000004' });
  await called.waitFor({ timeout: 10_000 });
  assert.match(await called.innerText(), /Đã gọi điện — hộ t1-h4 · đến \+84901000004 · đã nghe máy · hệ thống: tin nhắn và cuộc gọi, qua tin nhắn/);
  await board.setViewportSize({ width: 1366, height: 1250 });
  await board.evaluate(() => window.scrollTo(0, 0));
  await screenshot(board, 'board-dispatch');

  // The household page: its numbers (E.164, the ones texted and called) and its dispatch card.
  await board.goto(`${h.httpUrl}/#/household/t1-h1`);
  await board.locator('.phone-list a[data-phone="+84901000001"]').waitFor({ timeout: 3000 });
  assert.equal(await board.locator('.phone-list a[data-phone="+84901000001"]').getAttribute('href'), 'tel:+84901000001');
  assert.equal(await board.locator('.household-page .dispatch-card [data-field="access"] dd').innerText(), 'ngõ 2 m: xe đỗ đầu ngõ');
  await board.goto(`${h.httpUrl}/#/household/t1-h2`);
  await board.locator('.household-page .card-empty').waitFor({ timeout: 3000 });
  assert.match(await board.locator('.household-page .card-empty').innerText(), /chưa có thông tin thẻ chữa cháy/);

  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
    'no page errors',
  );
});
