/**
 * The phone view while it is open in the background, in headless Chromium against a real hub: the
 * service worker registers and controls the page; notifications are asked for on a tap, after the
 * sentence that says why; an alarm raised by a real detector (`mosquitto_pub`) while the page is
 * hidden shows a notification through the worker's registration (one per alarm, staying until
 * tapped), changes the title and the favicon; visible, it vibrates; the "can't do" line (a closed
 * browser: the SMS does it) is on the page; the web app manifest and the worker are served with
 * the right types and caching, and the manifest's icons are real PNGs of their sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, recordTones, screenshot, tonesOf, watchPage } from './browser.ts';
import { mosquittoPub } from './mosquitto.ts';

const NEIGHBOUR = { username: 'nguyen-t1h2', password: 'neighbour-password-1', household: 't1-h2' };

async function publishEvent(hub: TestHub, device: string, body: Record<string, unknown>): Promise<void> {
  const c = hub.device(device);
  await mosquittoPub({ port: hub.hub.mqttPort, device, secret: c.secret, topic: `smokehub/h/${c.household}/d/${device}/event`, message: JSON.stringify(body) });
}

/** Makes the page believe it is hidden (or visible again), as when the phone shows another app. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  // A string, not a function: tsx would wrap the getters' names in a helper the page does not have.
  await page.evaluate(`(() => {
    const h = ${hidden};
    Object.defineProperty(document, 'hidden', { configurable: true, get() { return h; } });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get() { return h ? 'hidden' : 'visible'; } });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

interface Shown {
  title: string;
  body: string;
  tag: string;
  requireInteraction: boolean;
  data: { alarm?: string; url?: string } | null;
}
async function notifications(page: Page): Promise<Shown[]> {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration('/');
    const list = reg ? await reg.getNotifications() : [];
    return list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, requireInteraction: n.requireInteraction, data: n.data as Shown['data'] }));
  });
}

function pngSize(buf: Buffer): { width: number; height: number } {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'a PNG signature');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

test('phone view in the background: service worker, notification, title, vibration, install, limits', { timeout: 90_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub: TestHub = await startTestHub({ config: { verifyWindowS: 0 } });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: NEIGHBOUR.username, role: 'household', household: NEIGHBOUR.household, password: NEIGHBOUR.password });

  await t.test('the manifest and the worker are served: types, caching, fields, icons', async () => {
    const sw = await fetch(`${hub.httpUrl}/sw.js`);
    assert.equal(sw.status, 200);
    assert.match(sw.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(sw.headers.get('cache-control'), 'no-cache', 'the browser checks for a new worker on every visit');
    assert.match(sw.headers.get('content-security-policy') ?? '', /script-src 'self'/, 'the same CSP as every answer');
    assert.match(await sw.text(), /notificationclick/);

    const res = await fetch(`${hub.httpUrl}/manifest.webmanifest`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/manifest\+json/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const m = (await res.json()) as Record<string, unknown> & { icons: { src: string; sizes: string; type: string; purpose?: string }[] };
    assert.ok(typeof m.name === 'string' && m.name.length > 0);
    assert.ok(typeof m.short_name === 'string' && m.short_name.length > 0 && m.short_name.length <= 12, 'a short name that fits under an icon');
    assert.equal(m.start_url, '/#/phone', 'opens on the phone view');
    assert.equal(m.display, 'standalone');
    assert.equal(m.scope, '/');
    assert.match(String(m.theme_color), /^#[0-9a-f]{6}$/i);
    for (const size of [192, 512]) {
      const icon = m.icons.find((i) => i.sizes === `${size}x${size}` && (i.purpose ?? 'any').includes('any'));
      assert.ok(icon, `a ${size}×${size} icon`);
      assert.equal(icon.type, 'image/png');
      const r = await fetch(new URL(icon.src, hub.httpUrl));
      assert.equal(r.status, 200, icon.src);
      assert.equal(r.headers.get('content-type'), 'image/png');
      assert.deepEqual(pngSize(Buffer.from(await r.arrayBuffer())), { width: size, height: size });
    }
    const html = await (await fetch(`${hub.httpUrl}/`)).text();
    assert.match(html, /<link rel="manifest" href="\/manifest\.webmanifest"/);
  });

  browser = await launchBrowser();
  const errors: string[] = [];
  const ctx = await browser.newContext({ viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true });
  // Records navigator.vibrate calls (a string: see setHidden).
  await ctx.addInitScript(`(() => {
    window.__vibrations = [];
    Object.defineProperty(Navigator.prototype, 'vibrate', {
      configurable: true,
      value(p) {
        window.__vibrations.push(Array.isArray(p) ? p : [p]);
        return true;
      },
    });
  })()`);
  await recordTones(ctx);
  const phone = await ctx.newPage();
  watchPage(phone, errors);
  await login(phone, hub.httpUrl, NEIGHBOUR.username, NEIGHBOUR.password);
  await phone.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });

  await t.test('the service worker registers at / and controls the page', async () => {
    await phone.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 10_000 });
    const sw = await phone.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration('/');
      return { scope: reg?.scope, script: navigator.serviceWorker.controller?.scriptURL, state: navigator.serviceWorker.controller?.state };
    });
    assert.equal(sw.scope, `${hub.httpUrl}/`);
    assert.equal(sw.script, `${hub.httpUrl}/sw.js`);
    assert.equal(sw.state, 'activated');
  });

  await t.test('Chromium finds the page installable (manifest, icons, worker)', async () => {
    const cdp = await ctx.newCDPSession(phone);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    // A Playwright context is an incognito profile, where Chromium never installs: the only error left.
    assert.deepEqual(
      installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito'),
      [],
    );
    const { url, errors: manifestErrors } = (await cdp.send('Page.getAppManifest')) as { url: string; errors: { message: string }[] };
    assert.equal(url, `${hub.httpUrl}/manifest.webmanifest`);
    assert.deepEqual(manifestErrors, []);
    await cdp.detach();
  });

  await t.test('notifications are asked for on a tap, with the reason; the limits are said', async () => {
    const panel = phone.locator('.phone-notify');
    await panel.waitFor({ timeout: 3000 });
    assert.equal(await panel.getAttribute('data-permission'), 'default');
    assert.match(await panel.locator('.phone-notify-why').innerText(), /Cho phép thông báo để điện thoại báo cho bạn khi có cháy gần nhà/);
    const limits = panel.locator('.phone-limits');
    assert.ok(await limits.isVisible());
    assert.match(await limits.innerText(), /Khi trình duyệt đã đóng.*không thể báo cho bạn.*tin nhắn SMS/s);
    assert.match(await panel.locator('.phone-install-hint').innerText(), /Thêm vào màn hình chính/);
    await panel.scrollIntoViewIfNeeded();
    await screenshot(phone, 'phone-notification-ask');
    // The permission is only asked when the button is tapped (the browser's prompt says yes here).
    await ctx.grantPermissions(['notifications'], { origin: hub.httpUrl });
    await panel.locator('[data-action="enable-notifications"]').tap();
    await panel.locator('.phone-notify-state.ok').waitFor({ timeout: 3000 });
    assert.equal(await panel.getAttribute('data-permission'), 'granted');
    assert.match(await panel.locator('.phone-notify-state.ok').innerText(), /Thông báo đã bật/);
    // English too.
    await phone.locator('#lang-switch').click();
    assert.match(await limits.innerText(), /When the browser is closed.*cannot alert you.*SMS/s);
    await phone.locator('#lang-switch').click();
  });

  let alarm = '';
  await t.test('an alarm while the page is hidden: a notification, the title and the favicon', async () => {
    assert.deepEqual(await notifications(phone), []);
    await setHidden(phone, true);
    await publishEvent(hub, 't1-h1-smoke', { id: 'notify-e2e-1', type: 'smoke' });
    const card = phone.locator('.phone-alert').first();
    await card.waitFor({ timeout: 5000 });
    alarm = (await card.getAttribute('data-alarm'))!;
    let shown = await notifications(phone);
    for (let i = 0; i < 50 && shown.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      shown = await notifications(phone);
    }
    assert.equal(shown.length, 1);
    const n = shown[0]!;
    assert.equal(n.tag, `alarm-${alarm}`, 'one notification per alarm');
    assert.equal(n.requireInteraction, true, 'it stays until tapped');
    assert.equal(n.title, '🔥 Cháy tại nhà Nhà Nguyễn 1.1');
    assert.match(n.body, /1 Lê Lợi, tổ 1 — chạm để mở/);
    assert.equal(n.data?.alarm, alarm);
    assert.equal(n.data?.url, `/#/phone?alarm=${encodeURIComponent(alarm)}`);
    assert.match(await phone.title(), /\(1\) BÁO CHÁY/);
    const favicon = await phone.locator('link#favicon').getAttribute('href');
    assert.match(decodeURIComponent(favicon ?? ''), /#c4161c/, 'the red favicon');
    assert.deepEqual(await phone.evaluate(() => (window as unknown as { __vibrations: number[][] }).__vibrations), [], 'hidden: the notification vibrates');
    assert.deepEqual(await tonesOf(phone), [{ wave: 'square', freqs: [950] }], 'the fire tone plays in the background too');
    await setHidden(phone, false);
    await phone.locator('.phone-notify').scrollIntoViewIfNeeded();
    await screenshot(phone, 'phone-notification-on');
  });

  await t.test('visible: an alarm vibrates the phone in the fire rhythm', async () => {
    await publishEvent(hub, 't1-h3-smoke', { id: 'notify-e2e-2', type: 'smoke' });
    await phone.locator('.phone-alert').nth(1).waitFor({ timeout: 5000 });
    await phone.waitForFunction(() => (window as unknown as { __vibrations: number[][] }).__vibrations.length > 0, undefined, { timeout: 3000 });
    const v = await phone.evaluate(() => (window as unknown as { __vibrations: number[][] }).__vibrations);
    assert.deepEqual(v[0]!.slice(0, 6), [500, 500, 500, 500, 500, 1500]);
    assert.equal((await notifications(phone)).length, 1, 'no notification while the page is on the screen');
  });

  await t.test('a tapped notification takes the page to its alarm: the worker sends it there, the card is focused', async () => {
    await phone.evaluate(() => {
      location.hash = '#/history';
    });
    await phone.locator('.phone-page').waitFor({ state: 'detached', timeout: 3000 });
    // The worker's own click handler, run on the notification it shows (a headless browser has no
    // notification to tap: the event is dispatched inside the worker).
    const [worker] = ctx.serviceWorkers();
    assert.ok(worker, 'the service worker runs');
    await worker.evaluate(`(async () => {
      const [n] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
    })()`);
    await phone.locator('.phone-page').waitFor({ timeout: 3000 });
    await phone.waitForFunction((id) => document.activeElement?.getAttribute('data-alarm') === id, alarm, { timeout: 3000 });
    assert.equal(await phone.evaluate(() => location.hash), `#/phone?alarm=${encodeURIComponent(alarm)}`);
    assert.equal((await notifications(phone)).length, 0, 'the tapped notification is closed');
  });

  await t.test('when nothing calls for attention any more, the notifications go away', async () => {
    await setHidden(phone, true);
    // The household's own detector, while the page is hidden: a notification for that alarm.
    await publishEvent(hub, 't1-h2-smoke', { id: 'notify-e2e-3', type: 'smoke' });
    await phone.locator('.phone-alert.own').waitFor({ timeout: 5000 });
    // Shown by the service worker: on a loaded machine (two test files and a browser on 2 cores) it
    // has taken over 5 s once; wait for it (bounded) rather than for a fixed time.
    let shown = await notifications(phone);
    for (let i = 0; i < 150 && shown.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      shown = await notifications(phone);
    }
    assert.equal(shown.length, 1);
    assert.equal(shown[0]!.title, '🔥 Cháy tại NHÀ BẠN');
    // The station resolves every open alarm: the page is quiet, the notifications are closed.
    const station = await fetch(`${hub.httpUrl}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: hub.adminPassword }),
    });
    assert.equal(station.status, 200);
    const { token } = (await station.json()) as { token: string };
    const open = (await (await fetch(`${hub.httpUrl}/api/alarms?state=open`, { headers: { Authorization: `Bearer ${token}` } })).json()) as {
      alarms: { alarm: string }[];
    };
    assert.equal(open.alarms.length, 3);
    for (const a of open.alarms) {
      const r = await fetch(`${hub.httpUrl}/api/alarms/${encodeURIComponent(a.alarm)}/resolve`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: '{}',
      });
      assert.equal(r.status, 200, await r.text());
    }
    await phone.locator('.phone-clear').waitFor({ timeout: 5000 });
    shown = await notifications(phone);
    for (let i = 0; i < 30 && shown.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      shown = await notifications(phone);
    }
    assert.deepEqual(shown, []);
    await setHidden(phone, false);
  });

  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
    'no page errors',
  );
});
