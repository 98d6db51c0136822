/**
 * Drills in the browser against a real hub: a team leader starts one from the drills page; a
 * household's phone shows it marked "DIỄN TẬP" in its own style, with the title saying DRILL and
 * the drill chime (not the fire pattern) played through WebAudio; the station's board marks it and
 * offers no dispatch; the household answers and the leader's report shows its first response and
 * after how many seconds; the station ends it from the drills page. Vietnamese throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, recordTones, screenshot, tonesOf, watchPage } from './browser.ts';

const LEADER = { username: 'lan', password: 'leader-password-1' };
const HOUSEHOLD = { username: 'mai-t1h2', password: 'household-password-1', household: 't1-h2' };
const CHIEF = { username: 'chief', password: 'chief-password-1' };

test('a leader starts a drill; the phone marks it and chimes; the report shows the first response', { timeout: 90_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub: TestHub = await startTestHub({ config: { verifyWindowS: 0 } });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: LEADER.username, role: 'team-leader', team: 't1', password: LEADER.password });
  await hub.hub.registry.addUser({ username: HOUSEHOLD.username, role: 'household', household: HOUSEHOLD.household, password: HOUSEHOLD.password });
  await hub.hub.registry.addUser({ username: CHIEF.username, role: 'station', password: CHIEF.password });
  browser = await launchBrowser();
  const errors: string[] = [];
  const open = async (who: { username: string; password: string }, phone: boolean): Promise<Page> => {
    const ctx = await browser!.newContext(
      phone
        ? { viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true }
        : { viewport: { width: 1280, height: 800 }, locale: 'vi-VN' },
    );
    await recordTones(ctx);
    const page = await ctx.newPage();
    watchPage(page, errors);
    await login(page, hub.httpUrl, who.username, who.password);
    await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });
    return page;
  };
  const leader = await open(LEADER, false);
  const phone = await open(HOUSEHOLD, true);
  const board = await open(CHIEF, false);
  // The login's taps and key presses unlocked the sound.
  await phone.locator('button[aria-pressed="true"]', { hasText: 'Âm thanh: bật' }).waitFor({ timeout: 3000 });

  // The leader opens the drills page from the navigation: none yet; the team is its own.
  await leader.locator('nav a', { hasText: 'Diễn tập' }).click();
  await leader.locator('.drills-page').waitFor({ timeout: 3000 });
  await leader.locator('.drills-page .muted', { hasText: 'Chưa có cuộc diễn tập nào.' }).waitFor({ timeout: 3000 });
  assert.match(await leader.locator('.drill-team').innerText(), /Tổ: t1/);
  await leader.locator('[data-action="start-drill"]').click();
  assert.match(await leader.locator('#drill-confirm-text').innerText(), /Bắt đầu diễn tập cho tổ t1\? Mọi hộ trong tổ sẽ được báo/);
  await leader.locator('[data-action="confirm-drill"]').click();
  await leader.locator('.banner-ok', { hasText: 'Đã bắt đầu diễn tập' }).waitFor({ timeout: 3000 });
  const report = leader.locator('.drill-report');
  await report.waitFor({ timeout: 3000 });
  const drill = (await report.getAttribute('data-drill'))!;
  assert.match(await report.locator('.drill-answered').innerText(), /0\/3 hộ đã trả lời/);
  assert.equal(
    await report.locator('tr[data-household="t1-h1"] td').first().innerText(),
    't1-h1 (Nơi giả định cháy)',
    "by default the team's first household is the pretend fire",
  );

  // The household's phone: marked DRILL, its own style, the title says DRILL, and the drill chime played.
  const alert = phone.locator(`.phone-alert[data-alarm="${drill}"]`);
  await alert.waitFor({ timeout: 3000 });
  assert.equal(await alert.getAttribute('data-kind'), 'drill');
  assert.equal((await alert.locator('.phone-drill-banner').innerText()).trim(), '◎ DIỄN TẬP');
  assert.match(await alert.locator('.phone-headline').innerText(), /Diễn tập cháy tại nhà Nhà Nguyễn 1\.1/);
  assert.match(await alert.locator('.phone-drill-hint').innerText(), /Đây là diễn tập, không phải cháy thật/);
  assert.match(await alert.evaluate((el) => getComputedStyle(el).backgroundImage), /repeating-linear-gradient/, 'striped, not the red of a fire');
  await phone.waitForFunction(() => /^(▲ )?\(1\) DIỄN TẬP — smokehub$/.test(document.title), undefined, { timeout: 3000 });
  await phone.waitForFunction(() => (window as unknown as { __tones: unknown[] }).__tones.length > 0, undefined, { timeout: 3000 });
  assert.deepEqual(await tonesOf(phone), [{ wave: 'sine', freqs: [660, 880] }], 'the drill chime, never the fire pattern');

  // The station's board marks it as a drill and offers no acknowledge or dispatch.
  const card = board.locator(`.alarm-card[data-alarm="${drill}"]`);
  await card.waitFor({ timeout: 3000 });
  assert.equal((await card.locator('[data-flag="drill"]').innerText()).trim(), '◎ DIỄN TẬP');
  assert.equal(await card.locator('[data-action="acknowledge"], [data-action="dispatch"]').count(), 0);
  assert.match(await card.locator('.drill-text').innerText(), /không phải cháy thật/);
  assert.match(await card.locator('.timeline li[data-transition="drill-started"]').innerText(), /Bắt đầu diễn tập.*lan \(tổ trưởng\), qua web/);
  assert.match(await board.title(), /\(1\) DIỄN TẬP/);

  // The household answers; the leader's report shows its first response and after how many seconds.
  await alert.locator('button[data-response="coming"]').tap();
  const row = report.locator('tr[data-household="t1-h2"][data-response="coming"]');
  await row.waitFor({ timeout: 5000 });
  assert.match(await report.locator('.drill-answered').innerText(), /1\/3 hộ đã trả lời/);
  const afterS = Number(await row.getAttribute('data-after'));
  const api = await hub.api(await hub.login(CHIEF.username, CHIEF.password), `/api/drills/${drill}`);
  const fromHub = api.body.households.find((x: { household: string }) => x.household === 't1-h2');
  assert.equal(fromHub.response, 'coming');
  assert.equal(afterS, fromHub.afterS, 'the report shows the hub’s seconds');
  assert.match(await row.innerText(), /t1-h2\s+Nhà Nguyễn 1\.2\s+đang đến\s+\d+ giây/);
  assert.equal(await report.locator('tr[data-household="t1-h3"]').getAttribute('data-response'), 'none');
  assert.match(await report.locator('tr[data-household="t1-h3"]').innerText(), /chưa trả lời/);
  await screenshot(leader, 'drill-report');
  await screenshot(phone, 'phone-drill');
  await screenshot(board, 'board-drill');

  // The station ends it from its drills page; the phone is all clear again.
  await board.locator('nav a', { hasText: 'Diễn tập' }).click();
  const stationRow = board.locator(`tr[data-drill="${drill}"]`);
  await stationRow.locator('[data-action="end-drill"]').click();
  await stationRow.locator('td', { hasText: 'Kết thúc lúc' }).waitFor({ timeout: 3000 });
  await phone.locator('.phone-clear').waitFor({ timeout: 3000 });
  const ended = await hub.api(await hub.login(CHIEF.username, CHIEF.password), `/api/drills/${drill}`);
  assert.equal(ended.body.state, 'resolved');

  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
    'no page errors',
  );
});
