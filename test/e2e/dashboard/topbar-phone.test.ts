/**
 * The top bar on a phone (375×667), issue 14: one tidy row, in Vietnamese and in English, for a
 * household (its three links all in sight) and for the station (five links: they scroll sideways
 * within the bar, the page does not). Checked with element boxes: every item of the bar shares one
 * row, the bar is no taller than one item and a half, nothing of it passes the screen's edge, and the
 * controls shown as icons keep their names (buttons found by role and name) and their titles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { neighbourhoodCsv, startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot, watchPage } from './browser.ts';

const NEIGHBOUR = { username: 'nguyen-t1h2', password: 'neighbour-password-1', household: 't1-h2' };

interface Bar {
  tops: number[];
  row: { top: number; bottom: number };
  height: number;
  tallest: number;
  right: number;
  docWidth: number;
  nav: { scroll: number; client: number; links: { text: string; left: number; right: number }[] };
  texts: (string | null)[];
}

async function barOf(page: Page): Promise<Bar> {
  return page.evaluate(() => {
    const header = document.querySelector<HTMLElement>('header.topbar')!;
    const items = [...header.children].filter((el) => el.getClientRects().length > 0 && (el as HTMLElement).offsetWidth > 0) as HTMLElement[];
    const rects = items.map((el) => el.getBoundingClientRect());
    const nav = header.querySelector<HTMLElement>('nav')!;
    const navBox = nav.getBoundingClientRect();
    return {
      tops: rects.map((r) => Math.round(r.top)),
      row: { top: Math.max(...rects.map((r) => r.top)), bottom: Math.min(...rects.map((r) => r.bottom)) },
      height: header.getBoundingClientRect().height,
      tallest: Math.max(...rects.map((r) => r.height)),
      right: Math.max(...rects.map((r) => r.right)),
      docWidth: document.documentElement.scrollWidth,
      nav: {
        scroll: nav.scrollWidth,
        client: nav.clientWidth,
        links: [...nav.querySelectorAll<HTMLElement>('a')].map((a) => {
          const r = a.getBoundingClientRect();
          return { text: (a.textContent ?? '').trim(), left: r.left - navBox.left, right: r.right - navBox.left };
        }),
      },
      texts: items.map((el) => `${el.getAttribute('class') ?? el.tagName} ${Math.round(el.getBoundingClientRect().width)}`),
    };
  });
}

function assertOneRow(bar: Bar, what: string): void {
  assert.ok(bar.row.top < bar.row.bottom, `${what}: every item of the bar shares one row (tops ${bar.tops.join(', ')}; ${JSON.stringify(bar.texts)})`);
  assert.ok(bar.height < bar.tallest * 1.8, `${what}: bar ${bar.height} px high for items ${bar.tallest} px high`);
  assert.ok(bar.right <= 375, `${what}: the bar's last item ends at ${bar.right} px`);
  assert.ok(bar.docWidth <= 375, `${what}: the page is ${bar.docWidth} px wide`);
}

test('the top bar is one row on a 375 px phone, for a household and for the station, vi and en', { timeout: 60_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub: TestHub = await startTestHub({ csv: neighbourhoodCsv(2, 3), config: { verifyWindowS: 0 } });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: NEIGHBOUR.username, role: 'household', household: NEIGHBOUR.household, password: NEIGHBOUR.password });
  browser = await launchBrowser();
  const errors: string[] = [];

  await t.test('a household, Vietnamese then English: three links in sight, icons named', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true });
    const phone = await ctx.newPage();
    await login(phone, hub.httpUrl, NEIGHBOUR.username, NEIGHBOUR.password);
    watchPage(phone, errors);
    await phone.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });
    const vi = await barOf(phone);
    t.diagnostic(`vi: bar ${vi.height} px, nav ${vi.nav.scroll}/${vi.nav.client} px; ${vi.texts.join(', ')}`);
    assertOneRow(vi, 'vi');
    assert.deepEqual(
      vi.nav.links.map((l) => l.text),
      ['Cảnh báo', 'Nhà tôi', 'Lịch sử'],
    );
    assert.ok(vi.nav.scroll <= vi.nav.client + 1, `the household's links fit without scrolling (${vi.nav.scroll} > ${vi.nav.client})`);
    // Shown as icons, still named: found by role and name; the language switch shows its code.
    assert.equal(await phone.getByRole('button', { name: 'Đăng xuất' }).count(), 1);
    assert.equal(await phone.getByRole('status', { name: /Trực tuyến/ }).count(), 1);
    assert.equal(await phone.locator('#lang-switch .bar-short').textContent(), 'EN');
    const labelBox = await phone.locator('#lang-switch .bar-label').boundingBox();
    assert.ok(labelBox && labelBox.width <= 1, `the word "English" is for screen readers only: ${JSON.stringify(labelBox)}`);
    assert.match((await phone.locator('#logout').getAttribute('title')) ?? '', /nguyen-t1h2/);
    await screenshot(phone, 'topbar-phone-vi');

    await phone.locator('#lang-switch').click();
    await phone.locator('nav a', { hasText: 'My household' }).waitFor();
    const en = await barOf(phone);
    t.diagnostic(`en: bar ${en.height} px, nav ${en.nav.scroll}/${en.nav.client} px`);
    assertOneRow(en, 'en');
    assert.ok(en.nav.scroll <= en.nav.client + 1, `the household's links fit without scrolling (${en.nav.scroll} > ${en.nav.client})`);
    assert.equal(await phone.getByRole('button', { name: 'Log out' }).count(), 1);
    await phone.locator('#lang-switch').click();
    await phone.locator('nav a', { hasText: 'Nhà tôi' }).waitFor();
    await ctx.close();
  });

  await t.test('the station on a phone: one row, its links scroll within the bar', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true });
    const phone = await ctx.newPage();
    await login(phone, hub.httpUrl, 'admin', hub.adminPassword);
    watchPage(phone, errors);
    await phone.goto(`${hub.httpUrl}/#/health`);
    await phone.locator('#health-count').waitFor();
    const bar = await barOf(phone);
    t.diagnostic(`station: bar ${bar.height} px, nav ${bar.nav.scroll}/${bar.nav.client} px`);
    assertOneRow(bar, 'station');
    assert.equal(bar.nav.links.length, 5);
    // The links are one row (the same top), scrolled inside the nav, not wrapped.
    const tops = await phone.locator('header.topbar nav a').evaluateAll((as) => [...new Set(as.map((a) => (a as HTMLElement).offsetTop))]);
    assert.equal(tops.length, 1, `links on one row: ${tops}`);
    // The last link can be scrolled to and tapped.
    const drills = phone.locator('header.topbar nav a', { hasText: 'Diễn tập' });
    await drills.scrollIntoViewIfNeeded();
    await drills.click();
    await phone.waitForFunction(() => location.hash === '#/drills');
    assert.deepEqual(errors, []);
    await ctx.close();
  });
});
