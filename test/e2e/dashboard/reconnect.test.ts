/**
 * The hub goes away (every connection cut, new ones refused) and comes back: the page shows that
 * it is reconnecting, then reconnects by itself and catches up with an alarm raised meanwhile.
 * A TCP relay between the browser and the hub plays the outage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Browser } from 'playwright-core';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, screenshot } from './browser.ts';
import { mosquittoPub } from './mosquitto.ts';

class Relay {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: number) {}
  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}

test('the page shows the outage, reconnects and catches up by itself', { timeout: 40_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub = await startTestHub({ config: { verifyWindowS: 0 } });
  const relay = new Relay(hub.hub.httpPort);
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await relay.down();
    await hub.stop();
  });
  await relay.up();
  const base = `http://127.0.0.1:${relay.port}`;
  browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' })).newPage();
  await login(page, base, 'admin', hub.adminPassword);
  await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });
  await page.locator('.all-clear').waitFor();

  await relay.down();
  const banner = page.locator('#reconnecting-banner');
  await banner.waitFor({ timeout: 5000 });
  assert.match(await banner.innerText(), /reconnecting/i);
  await screenshot(page, 'reconnecting');

  // An alarm is raised while the page cannot hear the hub.
  const c = hub.device('t2-h3-smoke');
  await mosquittoPub({
    port: hub.hub.mqttPort,
    device: c.device,
    secret: c.secret,
    topic: `smokehub/h/${c.household}/d/${c.device}/event`,
    message: JSON.stringify({ id: 'during-outage', type: 'smoke' }),
  });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.locator('.alarm-card').count(), 0);

  await relay.up();
  await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 10_000 });
  await page.locator('.alarm-card').first().waitFor({ timeout: 5000 });
  assert.match(await page.locator('.alarm-card').first().innerText(), /Nhà Nguyễn 2\.3/);
  assert.equal(await banner.count(), 0, 'banner gone once reconnected');
});

test('an alarm closed while the page was disconnected disappears after the reconnect, from the retained state', { timeout: 40_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub = await startTestHub({ config: { verifyWindowS: 0 } });
  const relay = new Relay(hub.hub.httpPort);
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await relay.down();
    await hub.stop();
  });
  await relay.up();
  const base = `http://127.0.0.1:${relay.port}`;
  browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' })).newPage();
  await login(page, base, 'admin', hub.adminPassword);
  await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });

  const c = hub.device('t1-h2-smoke');
  await mosquittoPub({
    port: hub.hub.mqttPort,
    device: c.device,
    secret: c.secret,
    topic: `smokehub/h/${c.household}/d/${c.device}/event`,
    message: JSON.stringify({ id: 'closed-while-away', type: 'smoke' }),
  });
  const card = page.locator('.alarm-card').first();
  await card.waitFor({ timeout: 5000 });
  const alarm = (await card.getAttribute('data-alarm'))!;
  assert.match(await page.title(), /^\(1\) FIRE ALARM/);

  // From now on the page cannot catch up over HTTP: only the retained MQTT state can tell it.
  let listRequests = 0;
  await page.route(
    (url) => url.pathname === '/api/alarms' && url.searchParams.get('state') === 'open',
    (route) => {
      listRequests++;
      return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'unavailable', message: 'blocked by the test' }) });
    },
  );
  await relay.down();
  await page.locator('#reconnecting-banner').waitFor({ timeout: 5000 });

  // The station resolves it while the page is away (the closed view on station/alarm is missed).
  const token = await hub.login('admin', hub.adminPassword);
  const resolved = await hub.api(token, `/api/alarms/${alarm}/resolve`, { method: 'POST', body: '{}' });
  assert.equal(resolved.status, 200);
  assert.equal(await page.locator(`.alarm-card[data-alarm="${alarm}"]`).count(), 1, 'still shown while disconnected');

  await relay.up();
  await page.locator('.live-pill[data-live="online"]').waitFor({ timeout: 10_000 });
  await page.locator('.all-clear').waitFor({ timeout: 5000 });
  assert.equal(await page.locator('.alarm-card').count(), 0, 'the closed alarm is gone');
  await page.waitForFunction(() => document.title === 'smokehub', undefined, { timeout: 3000 });
  assert.ok(listRequests >= 1, 'the HTTP catch-up was tried and refused');
});
