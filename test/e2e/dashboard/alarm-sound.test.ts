/**
 * The alarm sound is really produced: in headless Chromium against a real hub, an AnalyserNode is
 * tapped on every connection to the AudioContext's output (installed before the dashboard's
 * scripts), and the test checks that the page's own WebAudio graph puts out a signal (RMS above
 * the silence floor) whose strongest frequency is the tone's: 950 Hz for the fire pattern (a
 * smoke detector's alarm, raised over MQTT by `mosquitto_pub`), 660 Hz and 880 Hz for the drill
 * chime (a drill started through the API). Chromium runs with `--autoplay-policy=no-user-gesture-required`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ensureDashboardBuilt, launchBrowser, login, watchPage } from './browser.ts';
import { mosquittoPub } from './mosquitto.ts';

const HOUSEHOLD = { username: 'nguyen-t1h1', password: 'origin-password-1', household: 't1-h1' };
const CHIEF = { username: 'chief', password: 'chief-password-1' };

/** Taps the output: every node connected to a context's destination also feeds that context's analyser. */
async function tapAudioOutput(ctx: BrowserContext): Promise<void> {
  await ctx.addInitScript(() => {
    const w = window as unknown as { __analysers: AnalyserNode[] };
    w.__analysers = [];
    const taps = new WeakMap<BaseAudioContext, AnalyserNode>();
    const connect = AudioNode.prototype.connect as (this: AudioNode, ...args: unknown[]) => unknown;
    AudioNode.prototype.connect = function (this: AudioNode, ...args: unknown[]) {
      const out = connect.apply(this, args);
      const target = args[0];
      if (target instanceof AudioDestinationNode) {
        let a = taps.get(this.context);
        if (!a) {
          a = this.context.createAnalyser();
          a.fftSize = 8192;
          a.smoothingTimeConstant = 0;
          taps.set(this.context, a);
          w.__analysers.push(a);
        }
        connect.call(this, a);
      }
      return out;
    } as typeof AudioNode.prototype.connect;
  });
}

interface Sample {
  state: string;
  rms: number;
  peakHz: number;
}
/** One look at the output: the context's state, the RMS of the last 8192 samples, the strongest frequency. */
async function sample(page: Page): Promise<Sample | null> {
  return page.evaluate(() => {
    const a = (window as unknown as { __analysers: AnalyserNode[] }).__analysers[0];
    if (!a) return null;
    const time = new Float32Array(a.fftSize);
    a.getFloatTimeDomainData(time);
    let sum = 0;
    for (const v of time) sum += v * v;
    const freq = new Float32Array(a.frequencyBinCount);
    a.getFloatFrequencyData(freq);
    let peak = 0;
    for (let i = 1; i < freq.length; i++) if (freq[i]! > freq[peak]!) peak = i;
    return { state: (a.context as AudioContext).state, rms: Math.sqrt(sum / time.length), peakHz: (peak * a.context.sampleRate) / a.fftSize };
  });
}

/** Samples every 100 ms for `ms`; returns the samples with a signal. */
async function listen(page: Page, ms: number): Promise<Sample[]> {
  const heard: Sample[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const s = await sample(page);
    if (s && s.rms > 0.01) heard.push(s);
    await new Promise((r) => setTimeout(r, 100));
  }
  return heard;
}
const near = (hz: number, target: number) => Math.abs(hz - target) <= 25;

test('the alarm tones are really played: the AudioContext puts out 950 Hz for a fire, 660/880 Hz for a drill', { timeout: 90_000 }, async (t) => {
  await ensureDashboardBuilt();
  const hub: TestHub = await startTestHub({ config: { verifyWindowS: 0 } });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close();
    await hub.stop();
  });
  await hub.hub.registry.addUser({ username: HOUSEHOLD.username, role: 'household', household: HOUSEHOLD.household, password: HOUSEHOLD.password });
  await hub.hub.registry.addUser({ username: CHIEF.username, role: 'station', password: CHIEF.password });
  browser = await launchBrowser(['--autoplay-policy=no-user-gesture-required']);
  const errors: string[] = [];
  const phoneCtx = await browser.newContext({ viewport: { width: 375, height: 667 }, locale: 'vi-VN', hasTouch: true, isMobile: true });
  await tapAudioOutput(phoneCtx);
  const phone = await phoneCtx.newPage();
  watchPage(phone, errors);
  await login(phone, hub.httpUrl, HOUSEHOLD.username, HOUSEHOLD.password);
  await phone.locator('.live-pill[data-live="online"]').waitFor({ timeout: 5000 });
  await phone.locator('button[aria-pressed="true"]', { hasText: 'Âm thanh: bật' }).waitFor({ timeout: 3000 });
  // Silence before any alarm (the analyser may not exist yet: nothing was connected).
  assert.deepEqual(await listen(phone, 500), [], 'no sound before an alarm');

  // A drill of team t1 (started by the station through the API): the two-note chime.
  const stationCtx = await browser.newContext({ locale: 'vi-VN' });
  const station = await stationCtx.newPage();
  watchPage(station, errors);
  await login(station, hub.httpUrl, CHIEF.username, CHIEF.password);
  const started = await station.evaluate(async () => {
    const r = await fetch('/api/drills', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ team: 't1' }) });
    return { status: r.status, body: (await r.json()) as { alarm?: string } };
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const drill = started.body.alarm!;
  await phone.locator(`.phone-alert[data-alarm="${drill}"]`).waitFor({ timeout: 5000 });
  const chime = await listen(phone, 3500);
  assert.ok(chime.length >= 5, `the drill chime is heard (${chime.length} samples with a signal)`);
  assert.equal(chime[0]!.state, 'running');
  assert.ok(
    chime.some((s) => near(s.peakHz, 660)),
    `660 Hz heard: ${chime.map((s) => s.peakHz.toFixed(0)).join(' ')}`,
  );
  assert.ok(
    chime.some((s) => near(s.peakHz, 880)),
    `880 Hz heard: ${chime.map((s) => s.peakHz.toFixed(0)).join(' ')}`,
  );
  assert.ok(!chime.some((s) => near(s.peakHz, 950)), 'never the fire pitch during a drill');

  // The station ends the drill: the chime stops.
  const ended = await station.evaluate(async (id) => {
    const r = await fetch(`/api/drills/${encodeURIComponent(id)}/end`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    return r.status;
  }, drill);
  assert.ok(ended >= 200 && ended < 300, `drill ended (${ended})`);
  await phone.locator(`.phone-alert[data-alarm="${drill}"]`).waitFor({ state: 'detached', timeout: 5000 });
  // Wait for the tone to stop (a condition, not a fixed time), then check it stays stopped.
  const quietBy = Date.now() + 5000;
  while (((await sample(phone))?.rms ?? 0) > 0.01 && Date.now() < quietBy) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await listen(phone, 600), [], 'silent once the drill ended');

  // The household's own smoke detector: the temporal-three fire pattern at 950 Hz.
  const c = hub.device('t1-h1-smoke');
  await mosquittoPub({
    port: hub.hub.mqttPort,
    device: 't1-h1-smoke',
    secret: c.secret,
    topic: `smokehub/h/${c.household}/d/t1-h1-smoke/event`,
    message: JSON.stringify({ id: 'sound-e2e-1', type: 'smoke' }),
  });
  await phone.locator('.phone-alert.own').waitFor({ timeout: 5000 });
  const fire = await listen(phone, 3000);
  t.diagnostic(`drill: ${chime.map((s) => s.peakHz.toFixed(0)).join(' ')}; fire: ${fire.map((s) => `${s.peakHz.toFixed(0)}@${s.rms.toFixed(2)}`).join(' ')}`);
  assert.ok(fire.length >= 5, `the fire tone is heard (${fire.length} samples with a signal)`);
  const at950 = fire.filter((s) => near(s.peakHz, 950));
  assert.ok(at950.length >= fire.length * 0.8, `the fire tone is 950 Hz: ${fire.map((s) => s.peakHz.toFixed(0)).join(' ')}`);
  assert.ok(Math.max(...fire.map((s) => s.rms)) > 0.05, 'loud enough to be heard (RMS)');
  // The login page's session probe answers 401 before logging in (a logged resource error, not a page error).
  assert.deepEqual(
    errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
    'no page errors',
  );
});
